//! The L1 in front of Redis (`CACHE_PERSISTENT_L1_*`): hot reads answered in-process,
//! and Redis' client tracking keeping every copy coherent with what anyone writes.
//!
//! Each `Caches` built here is one instance of the service: its own Redis connection and
//! its own L1. The tests run on a multi-threaded runtime, as the service does, so the
//! connection's reader handles Redis' invalidations while a test waits, as it would while
//! a request is being served. A change made by another client reaches an L1 a moment
//! later (one push over the network), so tests poll for it with a generous bound; a
//! change this instance made itself is seen by its very next read.

use std::time::{Duration, Instant};

use redis::Commands;
use reqwest::StatusCode;

use {{crate_name}}::services::cache::{Cache, CacheError, Caches};

use crate::redis_server::{RedisCluster, RedisSentinel, RedisServer, client_on};
use crate::test_app::{PREFIX, spawn_app_with, test_settings};

/// How long a change made elsewhere may take to reach an L1 in these tests: far beyond
/// the loopback round trip it takes, so a loaded machine does not fail them.
const PATIENCE: Duration = Duration::from_secs(10);

/// One instance's caches on the Redis `redis_vars` name, with `extra` settings.
fn instance(redis_vars: &[(&str, String)], extra: &[(&str, &str)]) -> Caches {
    let mut vars: Vec<(&str, &str)> = redis_vars
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    vars.push(("CACHE_REDIS_TIMEOUT_MS", "2000"));
    vars.extend_from_slice(extra);
    Caches::from_settings(&test_settings(&vars).cache)
}

fn on(server: &RedisServer) -> Vec<(&'static str, String)> {
    vec![("CACHE_REDIS_URL", server.url())]
}

/// The key `key` of the persistent alias as Redis stores it.
fn stored(key: &str) -> String {
    format!("{PREFIX}:{key}")
}

/// `GET` commands Redis has run since it started (`INFO commandstats`).
fn get_calls(redis: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(redis).unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

/// Reads `key` until it is `wanted`; every read before must be one of `allowed`.
async fn eventually(cache: &Cache, key: &str, wanted: Option<i64>, allowed: &[Option<i64>]) {
    let start = Instant::now();
    loop {
        match cache.get::<i64>(key).await {
            Ok(read) if read == wanted => return,
            Ok(read) => assert!(
                allowed.contains(&read),
                "{key} read {read:?}, which must never be served now"
            ),
            Err(error) => panic!("reading {key} failed: {error}"),
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{key} never read {wanted:?} within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads `key` twice and checks that the second read was answered by the L1.
async fn warm(cache: &Cache, key: &str, value: Option<i64>) {
    assert_eq!(cache.get::<i64>(key).await.unwrap(), value, "{key}");
    let before = cache.stats().l1_hits;
    assert_eq!(cache.get::<i64>(key).await.unwrap(), value, "{key}");
    assert_eq!(cache.stats().l1_hits, before + 1, "{key} is in the L1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reads_are_answered_in_process_and_counted_apart() {
    let server = RedisServer::start();
    let caches = instance(&on(&server), &[]);
    let cache = caches.persistent();
    cache.set("hot", &1, None).await.unwrap();
    let mut redis = server.client();
    let before = get_calls(&mut redis);
    for _ in 0..5 {
        assert_eq!(cache.get::<i64>("hot").await.unwrap(), Some(1));
    }
    assert_eq!(get_calls(&mut redis) - before, 1, "one GET reached Redis");
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.l1_hits), (5, 0, 4));

    // An absent key is remembered as absent, until someone writes it.
    assert_eq!(cache.get::<i64>("cold").await.unwrap(), None);
    assert_eq!(cache.get::<i64>("cold").await.unwrap(), None);
    assert_eq!(get_calls(&mut redis) - before, 2);
    assert_eq!(cache.stats().l1_hits, 5);

    // The connection speaks RESP3 with tracking on; the memory alias has no L1.
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut redis).unwrap();
    let service = service_client(&clients, &mut redis);
    assert!(service.contains(" resp=3"), "{service}");
    assert!(flags(&service).contains('t'), "{service}");
    caches.memory().set("hot", &1, None).await.unwrap();
    caches.memory().get::<i64>("hot").await.unwrap();
    assert_eq!(caches.memory().stats().l1_hits, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_zero_is_redis_as_before() {
    let server = RedisServer::start();
    let caches = instance(&on(&server), &[("CACHE_PERSISTENT_L1_CAPACITY", "0")]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    let mut redis = server.client();
    let before = get_calls(&mut redis);
    for _ in 0..3 {
        assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(1));
    }
    assert_eq!(get_calls(&mut redis) - before, 3, "every read asks Redis");
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.l1_hits), (3, 0));

    // Today's connection: RESP2, no tracking, and only the commands of before.
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut redis).unwrap();
    let service = service_client(&clients, &mut redis);
    assert!(service.contains(" resp=2"), "{service}");
    assert!(!flags(&service).contains('t'), "{service}");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut redis)
        .unwrap();
    assert!(
        !info.contains("cmdstat_pttl"),
        "no PTTL without an L1: {info}"
    );

    // A change elsewhere is seen by the very next read, as before.
    let _: () = redis.set(stored("k"), "2").unwrap();
    assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(2));
}

/// The `CLIENT LIST` line of the one client that is not `redis` itself.
fn service_client(clients: &str, redis: &mut redis::Connection) -> String {
    let own: i64 = redis::cmd("CLIENT").arg("ID").query(redis).unwrap();
    let others: Vec<&str> = clients
        .lines()
        .filter(|line| !line.starts_with(&format!("id={own} ")))
        .collect();
    assert_eq!(others.len(), 1, "{clients}");
    others[0].to_owned()
}

fn flags(client: &str) -> String {
    client
        .split(' ')
        .find_map(|field| field.strip_prefix("flags="))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_another_program_reaches_the_l1() {
    let server = RedisServer::start();
    let caches = instance(&on(&server), &[]);
    let cache = caches.persistent();
    let mut redis = server.client();
    let _: () = redis.set(stored("k"), "1").unwrap();
    warm(cache, "k", Some(1)).await;

    let _: () = redis.set(stored("k"), "2").unwrap();
    eventually(cache, "k", Some(2), &[Some(1)]).await;
    warm(cache, "k", Some(2)).await;
    let _: () = redis.del(stored("k")).unwrap();
    eventually(cache, "k", None, &[Some(2)]).await;
    warm(cache, "k", None).await;
    let _: () = redis.set(stored("k"), "3").unwrap();
    eventually(cache, "k", Some(3), &[None]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_instances_own_changes_are_seen_by_its_next_read() {
    let server = RedisServer::start();
    let caches = instance(&on(&server), &[]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    warm(cache, "k", Some(1)).await;
    cache.set("k", &2, None).await.unwrap();
    assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(2));

    warm(cache, "k", Some(2)).await;
    assert!(cache.delete("k").await.unwrap());
    assert_eq!(cache.get::<i64>("k").await.unwrap(), None);

    for key in ["p:1", "p:2", "q"] {
        cache.set(key, &1, None).await.unwrap();
        warm(cache, key, Some(1)).await;
    }
    assert_eq!(cache.delete_matching("p:*").await.unwrap(), 2);
    assert_eq!(cache.get::<i64>("p:1").await.unwrap(), None);
    assert_eq!(cache.get::<i64>("p:2").await.unwrap(), None);
    assert_eq!(cache.get::<i64>("q").await.unwrap(), Some(1));

    warm(cache, "q", Some(1)).await;
    cache.clear().await.unwrap();
    assert_eq!(cache.get::<i64>("q").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_changes_reach_this_l1() {
    let server = RedisServer::start();
    let (writer, reader) = (instance(&on(&server), &[]), instance(&on(&server), &[]));
    let (writer, reader) = (writer.persistent(), reader.persistent());

    writer.set("k", &1, None).await.unwrap();
    warm(reader, "k", Some(1)).await;
    writer.set("k", &2, None).await.unwrap();
    eventually(reader, "k", Some(2), &[Some(1)]).await;

    warm(reader, "k", Some(2)).await;
    writer.delete("k").await.unwrap();
    eventually(reader, "k", None, &[Some(2)]).await;

    writer.set("p:1", &1, None).await.unwrap();
    warm(reader, "p:1", Some(1)).await;
    writer.delete_matching("p:*").await.unwrap();
    eventually(reader, "p:1", None, &[Some(1)]).await;

    writer.set("q", &1, None).await.unwrap();
    warm(reader, "q", Some(1)).await;
    writer.clear().await.unwrap();
    eventually(reader, "q", None, &[Some(1)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_l1_copy_never_outlives_its_redis_ttl() {
    let server = RedisServer::start();
    // An L1 TTL of 60 s (the default), an entry of 300 ms.
    let caches = instance(&on(&server), &[]);
    let cache = caches.persistent();
    cache
        .set("short", &1, Some(Duration::from_millis(300)))
        .await
        .unwrap();
    warm(cache, "short", Some(1)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.get::<i64>("short").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_l1_copy_lives_at_most_the_l1_ttl() {
    let server = RedisServer::start();
    let caches = instance(&on(&server), &[("CACHE_PERSISTENT_L1_TTL", "1")]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    let mut redis = server.client();
    let before = get_calls(&mut redis);
    warm(cache, "k", Some(1)).await;
    assert_eq!(get_calls(&mut redis) - before, 1);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(1));
    assert_eq!(get_calls(&mut redis) - before, 2, "the copy had expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_l1_holds_at_most_its_capacity_least_recently_used_out_first() {
    let server = RedisServer::start();
    let caches = instance(&on(&server), &[("CACHE_PERSISTENT_L1_CAPACITY", "2")]);
    let cache = caches.persistent();
    for key in ["a", "b", "c"] {
        cache.set(key, &1, None).await.unwrap();
    }
    let mut redis = server.client();
    let before = get_calls(&mut redis);
    for key in ["a", "b", "c"] {
        cache.get::<i64>(key).await.unwrap();
    }
    assert_eq!(get_calls(&mut redis) - before, 3);
    // "c" and "b" are held; "a" was pushed out.
    cache.get::<i64>("c").await.unwrap();
    cache.get::<i64>("b").await.unwrap();
    assert_eq!(
        (get_calls(&mut redis) - before, cache.stats().l1_hits),
        (3, 2)
    );
    cache.get::<i64>("a").await.unwrap();
    assert_eq!(
        (get_calls(&mut redis) - before, cache.stats().l1_hits),
        (4, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_read_before_a_redis_restart_is_served_after_it() {
    let mut server = RedisServer::start();
    let caches = instance(&on(&server), &[("CACHE_REDIS_TIMEOUT_MS", "300")]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    warm(cache, "k", Some(1)).await;

    server.stop();
    // The client notices the closed connection a moment later (its reader sees the end
    // of the stream); until then the copy read before is still what Redis held last.
    // From then on, while Redis is down, the L1 is bypassed: errors, never the old copy.
    let start = Instant::now();
    while let Ok(read) = cache.get::<i64>("k").await {
        assert_eq!(read, Some(1));
        assert!(
            start.elapsed() < PATIENCE,
            "the closed connection went unnoticed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..3 {
        match cache.get::<i64>("k").await {
            Err(CacheError::Refused(_) | CacheError::Backoff(_) | CacheError::Timeout(_)) => {}
            other => panic!("with Redis down a read gave {other:?}"),
        }
    }
    server.restart();
    let mut redis = server.client();
    let _: () = redis.set(stored("k"), "2").unwrap();
    let start = Instant::now();
    loop {
        match cache.get::<i64>("k").await {
            Ok(Some(2)) => break,
            Ok(read) => panic!("after the restart k read {read:?}"),
            Err(_) => {}
        }
        assert!(start.elapsed() < PATIENCE, "Redis never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    warm(cache, "k", Some(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_empties_the_l1() {
    let server = RedisServer::start();
    let caches = instance(&on(&server), &[]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    warm(cache, "k", Some(1)).await;
    // Redis forgets what the connection tracked; a change after that sends nothing.
    let mut redis = server.client();
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query(&mut redis)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(stored("k"))
        .arg("2")
        .query(&mut redis)
        .unwrap();
    // The client notices the closed connection and starts a new L1 generation; a read
    // in the moment before that is the only one that may still see the old copy.
    eventually(cache, "k", Some(2), &[Some(1)]).await;
    for _ in 0..3 {
        assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(2));
    }
}

/// Two instances of the web service on one Redis. (`scale_out.rs` checks, in every
/// Redis mode and with the L1 on by default, that a write through one instance is seen
/// by the next read through the other.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_shows_the_l1s_share_of_the_hits() {
    let server = RedisServer::start();
    let url = server.url();
    let vars = [("CACHE_REDIS_URL", url.as_str())];
    let (first, second) = (spawn_app_with(&vars).await, spawn_app_with(&vars).await);
    let key = "l1-test";
    let (writer, reader) = (
        first.context.caches.persistent(),
        second.context.caches.persistent(),
    );
    writer.set(key, &1, None).await.unwrap();
    warm(reader, key, Some(1)).await;
    writer.set(key, &2, None).await.unwrap();
    eventually(reader, key, Some(2), &[Some(1)]).await;

    let response = second.get("/ready").await;
    assert_eq!(response.status(), StatusCode::OK);
    let ready: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        ready["checks"]["persistent"]["stats"]["l1_hits"], 1,
        "{ready}"
    );
    assert_eq!(ready["checks"]["memory"]["stats"]["l1_hits"], 0, "{ready}");
    first.stop().await.unwrap();
    second.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_l1_works_and_stays_coherent_on_a_cluster() {
    let cluster = RedisCluster::start();
    let redis = vec![("CACHE_REDIS_CLUSTER_NODES", cluster.nodes_var())];
    let (writer, reader) = (instance(&redis, &[]), instance(&redis, &[]));
    let (writer, reader) = (writer.persistent(), reader.persistent());
    for key in ["a", "b", "c", "d"] {
        writer.set(key, &1, None).await.unwrap();
        warm(reader, key, Some(1)).await;
        writer.set(key, &2, None).await.unwrap();
        eventually(reader, key, Some(2), &[Some(1)]).await;
        warm(reader, key, Some(2)).await;
        reader.set(key, &3, None).await.unwrap();
        assert_eq!(reader.get::<i64>(key).await.unwrap(), Some(3));
    }
    warm(reader, "a", Some(3)).await;
    writer.clear().await.unwrap();
    eventually(reader, "a", None, &[Some(3)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_l1_works_and_stays_coherent_behind_sentinel() {
    let sentinel = RedisSentinel::start();
    let redis: Vec<(&str, String)> = sentinel.vars().into_iter().collect();
    let caches = instance(&redis, &[]);
    let cache = caches.persistent();
    let primary = sentinel.named_primary().expect("a primary");
    let mut plain = client_on(primary).unwrap();
    let _: () = plain.set(stored("k"), "1").unwrap();
    warm(cache, "k", Some(1)).await;
    let _: () = plain.set(stored("k"), "2").unwrap();
    eventually(cache, "k", Some(2), &[Some(1)]).await;
    cache.set("k", &3, None).await.unwrap();
    assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(3));
}
