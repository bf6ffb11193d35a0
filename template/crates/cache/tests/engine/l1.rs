//! The persistent alias's L1 on real Redis: hot reads stay in the process, and Redis
//! keeps every instance's copies coherent, whoever changes a key, until the invalidation
//! stream is lost, when nothing from before the gap is served again.
//!
//! Two "instances" are two sets of caches built from the same settings in this process,
//! each with its own connections, as two replicas have.

use std::time::{Duration, Instant};

use redis::Commands;

use service_cache::CacheSettings;
use service_cache::{Cache, Caches, Policy};

use service_cache::test_support::{RedisCluster, RedisSentinel, RedisServer};

/// How long an invalidation or a lost connection may take to reach the L1 on a loaded
/// machine: generous, since it usually takes well under a millisecond.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// The caches of one instance of a service whose `CACHE_PREFIX` is `svc`.
pub(crate) fn instance(vars: &[(&str, &str)]) -> Caches {
    let mut env = vec![("CACHE_PREFIX".to_owned(), "svc".to_owned())];
    env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings = CacheSettings::from_vars(env).expect("test settings are valid");
    Caches::from_settings(&settings)
}

/// Reads `key` until the L1 answers it (tracking has started and the copy is in), and
/// returns what it holds.
pub(crate) async fn until_the_l1_serves(cache: &Cache, key: &str) -> Option<i64> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let before = cache.stats().l1_hits;
        let value = cache.get::<i64>(key).await.expect("Redis answers");
        if cache.stats().l1_hits > before {
            return value;
        }
        assert!(Instant::now() < deadline, "the L1 never served {key}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `key` until it is `expected`, and fails after [`PATIENCE`].
pub(crate) async fn until_it_reads(cache: &Cache, key: &str, expected: Option<i64>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if cache.get::<i64>(key).await.ok() == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{key} never read as {expected:?} through the L1"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `key` across a gap (Redis restarting, failing over) until it is `new`, failing
/// after `patience`, and at once if a read ever answers `old`, a value from before the
/// gap. Failed reads are expected while Redis is away.
async fn until_it_reads_never_old(
    cache: &Cache,
    key: &str,
    new: i64,
    old: i64,
    patience: Duration,
) {
    let deadline = Instant::now() + patience;
    loop {
        match cache.get::<i64>(key).await {
            Ok(Some(value)) if value == new => return,
            Ok(value) => assert_ne!(value, Some(old), "{key}: a value from before the gap"),
            Err(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "{key} never read as {new} after the gap"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET` commands the server has run.
pub(crate) fn gets_served(redis: &mut redis::Connection) -> u64 {
    let stats: String = redis::cmd("INFO").arg("commandstats").query(redis).unwrap();
    stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

/// Connections that have `CLIENT TRACKING` on.
pub(crate) fn tracking_clients(redis: &mut redis::Connection) -> usize {
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(redis).unwrap();
    clients
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .find_map(|field| field.strip_prefix("flags="))
                .is_some_and(|flags| flags.contains('t'))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn hot_reads_are_answered_in_process_without_a_redis_get() {
    let server = RedisServer::start();
    let mut redis = server.client();
    let caches = instance(&[("CACHE_REDIS_URL", &server.url())]);
    let cache = caches.persistent();
    cache.set("hot", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "hot").await, Some(1));
    assert_eq!(tracking_clients(&mut redis), 1);

    let gets = gets_served(&mut redis);
    let l1_hits = cache.stats().l1_hits;
    for _ in 0..200 {
        assert_eq!(cache.get::<i64>("hot").await.unwrap(), Some(1));
    }
    assert_eq!(gets_served(&mut redis), gets, "no read went to Redis");
    assert_eq!(cache.stats().l1_hits, l1_hits + 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_through_one_instance_reaches_the_other_and_its_own_at_once() {
    let server = RedisServer::start();
    let url = server.url();
    let first = instance(&[("CACHE_REDIS_URL", &url)]);
    let second = instance(&[("CACHE_REDIS_URL", &url)]);
    let (first, second) = (first.persistent(), second.persistent());

    // Another instance's write reaches this one as an invalidation, within the time a
    // message takes over loopback (see docs/PERFORMANCE.md), not within one statement:
    // no client-side cache can promise more without a round trip per read.
    first.set("shared", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(second, "shared").await, Some(1));
    first.set("shared", &2, None).await.unwrap();
    until_it_reads(second, "shared", Some(2)).await;
    assert_eq!(until_the_l1_serves(second, "shared").await, Some(2));
    first.delete("shared").await.unwrap();
    until_it_reads(second, "shared", None).await;

    // An instance's own writes drop its copy before they return.
    second.set("own", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(second, "own").await, Some(1));
    second.set("own", &2, None).await.unwrap();
    assert_eq!(second.get::<i64>("own").await.unwrap(), Some(2));
    assert_eq!(until_the_l1_serves(second, "own").await, Some(2));
    second.delete("own").await.unwrap();
    assert_eq!(second.get::<i64>("own").await.unwrap(), None);
    second.set("own", &3, None).await.unwrap();
    assert_eq!(until_the_l1_serves(second, "own").await, Some(3));
    second.clear().await.unwrap();
    assert_eq!(second.get::<i64>("own").await.unwrap(), None);
    second.set("own", &4, None).await.unwrap();
    assert_eq!(until_the_l1_serves(second, "own").await, Some(4));
    second.delete_matching("ow*").await.unwrap();
    assert_eq!(second.get::<i64>("own").await.unwrap(), None);

    // And another instance's clear reaches it too.
    second.set("own", &5, None).await.unwrap();
    assert_eq!(until_the_l1_serves(second, "own").await, Some(5));
    first.clear().await.unwrap();
    until_it_reads(second, "own", None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_invalidated_anywhere_drops_the_copies_of_its_entries() {
    let server = RedisServer::start();
    let url = server.url();
    let first = instance(&[("CACHE_REDIS_URL", &url)]);
    let second = instance(&[("CACHE_REDIS_URL", &url)]);
    let (first, second) = (first.persistent(), second.persistent());
    let tagged = Policy::ttl(Duration::from_secs(60)).tag("owner:7");

    for key in ["a", "b"] {
        first.set_with(key, &1, &tagged).await.unwrap();
        assert_eq!(until_the_l1_serves(first, key).await, Some(1));
        assert_eq!(until_the_l1_serves(second, key).await, Some(1));
    }
    // Its own copies go before the call returns; the other instance's as the
    // invalidations arrive.
    assert_eq!(first.invalidate_tag("owner:7").await.unwrap(), 2);
    for key in ["a", "b"] {
        assert_eq!(first.get::<i64>(key).await.unwrap(), None, "{key}");
        until_it_reads(second, key, None).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_made_by_any_client_reach_the_l1() {
    let server = RedisServer::start();
    let mut redis = server.client();
    let caches = instance(&[("CACHE_REDIS_URL", &server.url())]);
    let cache = caches.persistent();

    cache.set("k", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(1));
    let _: () = redis.set("svc:v1:k", "2").unwrap();
    until_it_reads(cache, "k", Some(2)).await;

    assert_eq!(until_the_l1_serves(cache, "k").await, Some(2));
    let _: () = redis.del("svc:v1:k").unwrap();
    until_it_reads(cache, "k", None).await;

    cache.set("k", &3, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(3));
    let _: () = redis.pexpire("svc:v1:k", 50).unwrap();
    until_it_reads(cache, "k", None).await;

    cache.set("k", &4, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(4));
    let _: () = redis::cmd("FLUSHDB").query(&mut redis).unwrap();
    until_it_reads(cache, "k", None).await;

    // Eviction by maxmemory: fill Redis past a small limit with other keys.
    cache.set("k", &5, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(5));
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-random")
        .query(&mut redis)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("2mb")
        .query(&mut redis)
        .unwrap();
    let filler = "x".repeat(10_000);
    let mut n = 0;
    while redis.exists::<_, bool>("svc:v1:k").unwrap() {
        let _: () = redis.set(format!("filler:{n}"), &filler).unwrap();
        n += 1;
        assert!(n < 100_000, "Redis never evicted svc:k");
    }
    until_it_reads(cache, "k", None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_read_before_a_redis_restart_is_served_after_it() {
    let mut server = RedisServer::start();
    let caches = instance(&[
        ("CACHE_REDIS_URL", &server.url()),
        ("CACHE_REDIS_TIMEOUT_MS", "300"),
    ]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(1));

    server.stop();
    // The lost tracking connection turns the L1 off: reads go to Redis, and fail.
    let deadline = Instant::now() + PATIENCE;
    while cache.get::<i64>("k").await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the L1 kept answering without Redis"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.restart();
    let _: () = server.client().set("svc:v1:k", "2").unwrap();

    until_it_reads_never_old(cache, "k", 2, 1, PATIENCE).await;
    assert_eq!(
        until_the_l1_serves(cache, "k").await,
        Some(2),
        "the L1 is back once tracking is"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capacity_of_zero_reads_redis_every_time_as_without_an_l1() {
    let server = RedisServer::start();
    let mut redis = server.client();
    let caches = instance(&[
        ("CACHE_REDIS_URL", &server.url()),
        ("CACHE_PERSISTENT_L1_CAPACITY", "0"),
    ]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    let gets = gets_served(&mut redis);
    for _ in 0..50 {
        assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(1));
    }
    assert_eq!(gets_served(&mut redis), gets + 50, "every read is a GET");
    let _: () = redis.set("svc:v1:k", "2").unwrap();
    assert_eq!(
        cache.get::<i64>("k").await.unwrap(),
        Some(2),
        "a change by another client is seen by the very next read"
    );
    assert_eq!(cache.stats().l1_hits, 0);
    assert_eq!(tracking_clients(&mut redis), 0, "no tracking connection");
}

/// Two instances on the Redis `vars` name: hot reads stay in the process, and a write
/// through the other instance or by a plain client reaches the L1.
async fn the_l1_is_coherent_across_instances(
    vars: &[(&str, &str)],
    mut plain_write: impl FnMut(&str, &str),
) {
    let first = instance(vars);
    let second = instance(vars);
    let (first, second) = (first.persistent(), second.persistent());
    for id in 0..20 {
        let key = format!("k{id}");
        first.set(&key, &1, None).await.unwrap();
        assert_eq!(until_the_l1_serves(second, &key).await, Some(1));
        first.set(&key, &2, None).await.unwrap();
        until_it_reads(second, &key, Some(2)).await;
        assert_eq!(until_the_l1_serves(second, &key).await, Some(2));
        plain_write(&format!("svc:v1:{key}"), "3");
        until_it_reads(second, &key, Some(3)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_l1_is_coherent_on_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let nodes = cluster.nodes_var();
    let urls: Vec<String> = nodes
        .split(',')
        .map(|node| format!("redis://{node}"))
        .collect();
    let mut plain = redis::cluster::ClusterClient::new(urls)
        .and_then(|client| client.get_connection())
        .expect("a plain cluster client");
    the_l1_is_coherent_across_instances(&[("CACHE_REDIS_CLUSTER_NODES", &nodes)], |key, value| {
        let _: () = plain.set(key, value).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_l1_is_coherent_through_sentinel_and_across_a_failover() {
    let sentinel = RedisSentinel::start();
    let [(nodes, nodes_value), (master, master_value)] = sentinel.vars();
    let vars = [
        (nodes, nodes_value.as_str()),
        (master, master_value.as_str()),
        ("CACHE_REDIS_TIMEOUT_MS", "300"),
    ];
    let primary = sentinel.named_primary().expect("a primary");
    let mut plain = service_cache::test_support::client_on(primary).unwrap();
    the_l1_is_coherent_across_instances(&vars, |key, value| {
        let _: () = plain.set(key, value).unwrap();
    })
    .await;

    let caches = instance(&vars);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(1));
    let mut sentinel = sentinel;
    let _sentinel = tokio::task::spawn_blocking(move || {
        sentinel.fail_over();
        let primary = sentinel.named_primary().expect("a new primary");
        let mut plain = service_cache::test_support::client_on(primary).unwrap();
        let _: () = plain.set("svc:v1:k", "2").unwrap();
        sentinel
    })
    .await
    .unwrap();
    until_it_reads_never_old(cache, "k", 2, 1, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_l1_is_coherent_over_tls() {
    let server = service_cache::test_support::TlsRedisServer::start(false);
    let url = server.url();
    let ca = server.certificates.path("ca.pem");
    let vars = [
        ("CACHE_REDIS_URL", url.as_str()),
        ("CACHE_REDIS_TLS_CA_FILE", ca.as_str()),
    ];
    let first = instance(&vars);
    let second = instance(&vars);
    let (first, second) = (first.persistent(), second.persistent());
    first.set("k", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(second, "k").await, Some(1));
    first.set("k", &2, None).await.unwrap();
    until_it_reads(second, "k", Some(2)).await;
}
