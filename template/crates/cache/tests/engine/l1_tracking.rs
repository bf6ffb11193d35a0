//! The L1's tracker where a deployment is less tidy than one server: sentinels that name
//! another primary while the old one still runs as a primary, and ACL users without the
//! `@dangerous` commands (or without `CLIENT TRACKING` itself).
//!
//! Helpers come from [`super::l1`].

use std::time::{Duration, Instant};

use redis::Commands;

use service_cache::test_support::{RedisSentinel, RedisServer, capture_logs, client_on};

use super::l1::{
    PATIENCE, gets_served, instance, tracking_clients, until_it_reads, until_the_l1_serves,
};

/// How long a steady state is watched for a reconnect loop: several heartbeats.
const WATCH: Duration = Duration::from_secs(5);

/// Connections the server has accepted since it started.
fn connections_received(redis: &mut redis::Connection) -> u64 {
    let stats: String = redis::cmd("INFO").arg("stats").query(redis).unwrap();
    stats
        .lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .map(|count| count.trim().parse().unwrap())
        .expect("INFO stats reports total_connections_received")
}

/// Creates the ACL user `app` (password `pw`) with `rules`, and returns a URL that logs
/// in as it.
fn acl_user(server: &RedisServer, rules: &[&str]) -> String {
    let mut admin = server.client();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("app")
        .arg(rules)
        .query(&mut admin)
        .unwrap();
    format!("redis://app:pw@127.0.0.1:{}/0", server.port())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_l1_follows_the_primary_the_sentinels_name_while_the_old_one_lives_on() {
    let sentinel = RedisSentinel::start();
    let [(nodes, nodes_value), (master, master_value)] = sentinel.vars();
    let vars = [
        (nodes, nodes_value.as_str()),
        (master, master_value.as_str()),
        ("CACHE_REDIS_TIMEOUT_MS", "300"),
    ];
    let old = sentinel.named_primary().expect("a primary");
    let new = RedisServer::start();
    let mut on_new = new.client();
    let _: () = on_new.set("svc:v1:k", "2").unwrap();

    // Two instances: one whose data connection asks the sentinels again on its own (after
    // a timeout), and one that has no reason to.
    let (poked, quiet) = (instance(&vars), instance(&vars));
    let (poked, quiet) = (poked.persistent(), quiet.persistent());
    poked.set("k", &1, None).await.unwrap();
    for cache in [poked, quiet] {
        assert_eq!(until_the_l1_serves(cache, "k").await, Some(1));
    }

    // The sentinels now name a server of their own, while the old primary runs on, a
    // primary still: nothing demotes it, and its connections stay up.
    let sentinel_port: u16 = nodes_value
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .expect("the sentinel's port");
    let mut asked = client_on(sentinel_port).unwrap();
    let _: () = redis::cmd("SENTINEL")
        .arg("REMOVE")
        .arg(RedisSentinel::MASTER)
        .query(&mut asked)
        .unwrap();
    let _: () = redis::cmd("SENTINEL")
        .arg("MONITOR")
        .arg(RedisSentinel::MASTER)
        .arg("127.0.0.1")
        .arg(new.port())
        .arg(1)
        .query(&mut asked)
        .unwrap();
    // As in production, a data connection may ask the sentinels again before the
    // tracker: after a command that timed out, here a write the old primary holds past
    // the timeout.
    let mut on_old = client_on(old).unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2000)
        .arg("WRITE")
        .query(&mut on_old)
        .unwrap();
    let _ = poked.set("poke", &0, None).await;

    // In both, the copy read from the old primary is gone, reads come from the new one,
    // and the L1 is on again, kept by the new primary's invalidations.
    for cache in [poked, quiet] {
        until_it_reads(cache, "k", Some(2)).await;
        assert_eq!(until_the_l1_serves(cache, "k").await, Some(2));
    }
    let _: () = on_new.set("svc:v1:k", "3").unwrap();
    for cache in [poked, quiet] {
        until_it_reads(cache, "k", Some(3)).await;
    }
    assert_eq!(
        tracking_clients(&mut on_new),
        2,
        "tracked on the new primary"
    );
    let deadline = Instant::now() + PATIENCE;
    while tracking_clients(&mut on_old) > 0 {
        assert!(Instant::now() < deadline, "still tracking the old primary");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acl_user_without_dangerous_commands_keeps_the_l1_on_without_reconnecting() {
    let server = RedisServer::start();
    let url = acl_user(&server, &["on", ">pw", "~*", "&*", "+@all", "-@dangerous"]);
    let mut admin = server.client();
    let (_logs_guard, logs) = capture_logs();
    let caches = instance(&[
        ("CACHE_REDIS_URL", &url),
        ("CACHE_REDIS_TIMEOUT_MS", "2000"),
    ]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(1));

    let connections = connections_received(&mut admin);
    let l1_hits = cache.stats().l1_hits;
    let mut reads = 0;
    let until = Instant::now() + WATCH;
    while Instant::now() < until {
        assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(1));
        reads += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        cache.stats().l1_hits,
        l1_hits + reads,
        "the L1 answered every read: tracking never stopped"
    );
    assert_eq!(
        connections_received(&mut admin),
        connections,
        "no connection was opened again"
    );
    assert_eq!(tracking_clients(&mut admin), 1);
    // Still coherent.
    let _: () = admin.set("svc:v1:k", "2").unwrap();
    until_it_reads(cache, "k", Some(2)).await;
    assert!(!logs.text().contains("WARN"), "{}", logs.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acl_user_who_may_not_track_gets_one_warning_and_no_reconnect_loop() {
    let server = RedisServer::start();
    let url = acl_user(
        &server,
        &[
            "on",
            ">pw",
            "~*",
            "&*",
            "+@all",
            "-@dangerous",
            "-client|tracking",
        ],
    );
    let mut admin = server.client();
    let (_logs_guard, logs) = capture_logs();
    let connections = connections_received(&mut admin);
    let caches = instance(&[("CACHE_REDIS_URL", &url)]);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();

    let gets = gets_served(&mut admin);
    let mut reads = 0;
    let until = Instant::now() + WATCH;
    while Instant::now() < until {
        assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(1));
        reads += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cache.stats().l1_hits, 0, "the L1 stays off");
    assert_eq!(gets_served(&mut admin), gets + reads, "every read is a GET");
    let opened = connections_received(&mut admin) - connections;
    assert!(
        opened <= 2,
        "{opened} connections in {WATCH:?}: the data connection and one tracking attempt expected"
    );
    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|line| line.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].contains("ACL SETUSER app +client|tracking"),
        "the warning names the permission and how to grant it: {}",
        warnings[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_answer_from_the_sentinels_the_l1_is_off_and_reads_go_to_the_primary() {
    let sentinel = RedisSentinel::start();
    let [(nodes, nodes_value), (master, master_value)] = sentinel.vars();
    let vars = [
        (nodes, nodes_value.as_str()),
        (master, master_value.as_str()),
        ("CACHE_REDIS_TIMEOUT_MS", "300"),
    ];
    let mut on_primary = client_on(sentinel.named_primary().expect("a primary")).unwrap();
    let caches = instance(&vars);
    let cache = caches.persistent();
    cache.set("k", &1, None).await.unwrap();
    assert_eq!(until_the_l1_serves(cache, "k").await, Some(1));

    // This instance can no longer tell which primary the sentinels name: it may be on
    // the losing side of a split, so its copies are not trusted.
    let sentinel_port: u16 = nodes_value
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .expect("the sentinel's port");
    let mut asked = client_on(sentinel_port).unwrap();
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut asked);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let gets = gets_served(&mut on_primary);
        assert_eq!(cache.get::<i64>("k").await.unwrap(), Some(1));
        if gets_served(&mut on_primary) > gets {
            break;
        }
        assert!(Instant::now() < deadline, "the L1 kept answering");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while tracking_clients(&mut on_primary) > 0 {
        assert!(Instant::now() < deadline, "still tracking");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
