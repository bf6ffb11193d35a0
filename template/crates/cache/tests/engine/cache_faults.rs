//! The cache when Redis misbehaves: down mid-test, down at start-up, accepting
//! connections but never answering. Every operation must come back within its timeout
//! (asserted with a generous bound, never a tight one), as an error from `Cache` and as
//! a miss or a no-op from the free functions; nothing may panic; and when Redis returns,
//! the same caches must work again without being rebuilt.

use std::future::Future;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use service_cache::test_support::capture_logs;
use service_cache::{
    Alias, Backend, CacheError, Caches, clear_cache, configure_caches, delete_cached, get_cached,
    set_cached,
};
use service_cache::{CacheSettings, RedisSettings, Secret};

use service_cache::test_support::{RedisServer, free_port};

/// The Redis timeout these tests configure.
const TIMEOUT: Duration = Duration::from_millis(200);

/// How long any single operation may take while Redis is down: ten times the timeout,
/// so only a hang, never a slow machine, fails a test.
const BOUND: Duration = Duration::from_secs(2);

fn settings(url: String) -> CacheSettings {
    CacheSettings {
        prefix: "faults".to_owned(),
        redis: RedisSettings {
            url: Some(Secret::new(url)),
            timeout: TIMEOUT,
            ..RedisSettings::default()
        },
        ..CacheSettings::default()
    }
}

/// Runs `operation`, failing the test if it does not finish within [`BOUND`].
async fn bounded<T>(what: &str, operation: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, operation)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return within {BOUND:?}"))
}

/// Retries `attempt` until it succeeds, for up to ten seconds.
async fn eventually(what: &str, mut attempt: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !attempt().await {
        assert!(
            Instant::now() < deadline,
            "{what}: still failing after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every `Cache` operation on `caches.persistent()` fails quickly and says Redis is
/// unavailable; cache-aside still answers from its loader.
async fn every_operation_fails_fast(caches: &Caches) {
    let cache = caches.persistent();
    let errors_before = cache.stats().errors;
    let failures: Vec<(&str, Result<(), CacheError>)> = vec![
        (
            "get",
            bounded("get", cache.get::<i32>("key")).await.map(drop),
        ),
        (
            "get_raw",
            bounded("get_raw", cache.get_raw("key")).await.map(drop),
        ),
        ("set", bounded("set", cache.set("key", &1, None)).await),
        (
            "set_raw",
            bounded("set_raw", cache.set_raw("key", "1", None)).await,
        ),
        (
            "delete",
            bounded("delete", cache.delete("key")).await.map(drop),
        ),
        (
            "delete_matching",
            bounded("delete_matching", cache.delete_matching("k*"))
                .await
                .map(drop),
        ),
        ("clear", bounded("clear", cache.clear()).await.map(drop)),
        ("ping", bounded("ping", cache.ping()).await),
    ];
    for (operation, result) in &failures {
        match result {
            Err(error) => assert!(error.is_unavailable(), "{operation}: {error}"),
            Ok(()) => panic!("{operation} succeeded with Redis down"),
        }
    }
    assert_eq!(cache.stats().errors - errors_before, 8);

    let loaded = bounded(
        "get_or_set_with",
        cache.get_or_set_with("key", None, || async { Ok::<_, CacheError>(41) }),
    )
    .await;
    assert_eq!(loaded.unwrap(), 41, "cache-aside fails open");

    // The memory alias does not depend on Redis.
    caches.memory().set("key", &1, None).await.unwrap();
    assert_eq!(caches.memory().get::<i32>("key").await.unwrap(), Some(1));
}

#[tokio::test]
async fn a_redis_outage_fails_fast_and_the_same_caches_recover() {
    let mut server = RedisServer::start();
    // The only test in this binary that installs the process-wide caches; nothing else
    // here uses the free functions.
    let caches = configure_caches(&settings(server.url()));
    caches.persistent().set("before", &1, None).await.unwrap();
    set_cached("free", &2, None, Alias::Persistent).await;
    assert_eq!(get_cached::<i32>("free", Alias::Persistent).await, Some(2));

    server.stop();
    every_operation_fails_fast(&caches).await;
    assert_eq!(
        bounded("get_cached", get_cached::<i32>("free", Alias::Persistent)).await,
        None
    );
    bounded(
        "set_cached",
        set_cached("free", &3, None, Alias::Persistent),
    )
    .await;
    bounded("delete_cached", delete_cached("free", Alias::Persistent)).await;
    bounded("clear_cache", clear_cache(Alias::Persistent)).await;
    // Many callers at once while failing fast: all come back.
    let mut callers = tokio::task::JoinSet::new();
    for n in 0..50 {
        let caches = caches.clone();
        callers.spawn(async move { caches.persistent().get::<i32>(&n.to_string()).await });
    }
    while let Some(result) = bounded("concurrent gets", callers.join_next()).await {
        assert!(result.unwrap().is_err());
    }

    server.restart();
    eventually("set and get after Redis came back", async || {
        caches.persistent().set("after", &4, None).await.is_ok()
            && caches.persistent().get::<i32>("after").await.ok() == Some(Some(4))
    })
    .await;
    caches.persistent().ping().await.unwrap();
    set_cached("free", &5, None, Alias::Persistent).await;
    assert_eq!(get_cached::<i32>("free", Alias::Persistent).await, Some(5));
    assert_eq!(
        caches.persistent().get::<i32>("before").await.unwrap(),
        None,
        "the restarted server is empty"
    );

    // Leave in-process caches installed for anything that runs later in this binary.
    configure_caches(&CacheSettings::default());
}

#[tokio::test]
async fn a_redis_restart_between_operations_goes_unnoticed() {
    let mut server = RedisServer::start();
    let caches = Caches::from_settings(&settings(server.url()));
    caches.persistent().set("key", &1, None).await.unwrap();
    server.restart();
    // The connection the caches hold is dead now; the next command must not fail
    // because of it (nor open the breaker) when Redis itself is fine.
    bounded(
        "set after a restart",
        caches.persistent().set("key", &2, None),
    )
    .await
    .unwrap();
    assert_eq!(
        caches.persistent().get::<i32>("key").await.unwrap(),
        Some(2)
    );
    assert_eq!(caches.persistent().stats().errors, 0);
}

#[tokio::test]
async fn redis_down_at_start_up_does_not_stop_the_caches() {
    let mut server = RedisServer::start();
    server.stop();
    let started = Instant::now();
    let caches = Caches::from_settings(&settings(server.url()));
    assert!(
        started.elapsed() < BOUND,
        "building the caches waited for Redis"
    );
    assert_eq!(caches.persistent().backend(), Backend::Redis);
    every_operation_fails_fast(&caches).await;

    server.restart();
    eventually("first contact once Redis is up", async || {
        caches.persistent().set("key", &1, None).await.is_ok()
    })
    .await;
    assert_eq!(
        caches.persistent().get::<i32>("key").await.unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn redis_never_reachable_still_configures() {
    let caches = Caches::from_settings(&settings(format!("redis://127.0.0.1:{}/0", free_port())));
    every_operation_fails_fast(&caches).await;
    let error = caches.persistent().get::<i32>("key").await.unwrap_err();
    assert!(
        matches!(error, CacheError::Backoff(_)),
        "after a failure, operations fail fast without trying: {error}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections and then says nothing, like a hung or black-holed Redis.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let caches = Caches::from_settings(&settings(format!("redis://127.0.0.1:{port}/0")));
    let error = bounded("get", caches.persistent().get::<i32>("key"))
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    every_operation_fails_fast(&caches).await;
}

#[tokio::test]
async fn passwords_stay_out_of_errors_debug_output_and_logs() {
    let (_guard, logs) = capture_logs();
    let server = RedisServer::start();
    let mut redis = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("right-pass")
        .query(&mut redis)
        .unwrap();

    // Unreachable: a listener that never answers. (A port found free a moment ago could
    // be taken by another test's server by the time it is used.)
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    for url in [
        // Refused: wrong password.
        format!("redis://:hunter2-wrong@127.0.0.1:{}/0", server.port()),
        format!(
            "redis://:hunter2-lost@127.0.0.1:{}/0",
            silent.local_addr().unwrap().port()
        ),
    ] {
        let settings = settings(url);
        let caches = Caches::from_settings(&settings);
        let mut shown = vec![format!("{settings:?}"), format!("{caches:?}")];
        for _ in 0..3 {
            if let Err(error) = caches.persistent().set("key", &1, None).await {
                shown.extend([error.to_string(), format!("{error:?}")]);
            }
            if let Err(error) = caches.persistent().ping().await {
                shown.extend([error.to_string(), format!("{error:?}")]);
            }
        }
        assert!(shown.len() > 2, "the wrong credentials were accepted");
        for text in shown {
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
    let logs = logs.text();
    assert!(logs.contains("Redis is unreachable"), "{logs}");
    assert!(!logs.contains("hunter2"), "{logs}");
}
