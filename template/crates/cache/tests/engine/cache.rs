//! The cache's semantics, as the README's cache guide states them, checked through the public API.
//!
//! Each semantic test is an `async fn(Backing)` run twice by `on_each_backend!`: with the
//! `persistent` alias on the in-process fallback and on a real `redis-server` started
//! for the test. Checks that need to look at Redis itself (the stored JSON, TTLs in
//! milliseconds, keys of other services, connections) are in `on_redis` at the end.
//! Expiry is tested by sleeping past a TTL and never by asserting that something is still
//! there "in time", so a slow machine cannot make these tests fail.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use service_cache::settings::SettingsError;
use service_cache::{Alias, Backend, CacheError, CacheSettings, CacheStats, Caches};

/// Runs each listed semantic test once per backend, as `<test>::in_process` and
/// `<test>::redis`, then all of them in turn over TLS, on one Redis Cluster and on one
/// Sentinel-watched primary (starting those per test would cost seconds each).
macro_rules! on_each_backend {
    ($($test:ident),* $(,)?) => {
        $(
        mod $test {
            #[tokio::test]
            async fn in_process() {
                super::$test(super::Backing::in_process(stringify!($test))).await;
            }

            #[cfg(feature = "redis")]
            #[tokio::test]
            async fn redis() {
                let server = service_cache::test_support::RedisServer::start();
                super::$test(super::Backing::redis(stringify!($test), &server)).await;
            }
        }
        )*

        #[cfg(feature = "redis")]
        #[tokio::test(flavor = "multi_thread")]
        async fn every_semantic_holds_on_a_redis_cluster() {
            let cluster = service_cache::test_support::RedisCluster::start();
            $(
            eprintln!("on a cluster: {}", stringify!($test));
            $test(Backing::with_redis(
                stringify!($test),
                vec![("CACHE_REDIS_CLUSTER_NODES", cluster.nodes_var())],
            ))
            .await;
            )*
        }

        #[cfg(feature = "redis")]
        #[tokio::test(flavor = "multi_thread")]
        async fn every_semantic_holds_over_tls() {
            let server = service_cache::test_support::TlsRedisServer::start(false);
            let ca = server.certificates.path("ca.pem");
            $(
            eprintln!("over TLS: {}", stringify!($test));
            $test(Backing::with_redis(
                stringify!($test),
                vec![("CACHE_REDIS_URL", server.url()), ("CACHE_REDIS_TLS_CA_FILE", ca.clone())],
            ))
            .await;
            )*
        }

        #[cfg(feature = "redis")]
        #[tokio::test(flavor = "multi_thread")]
        async fn every_semantic_holds_on_a_sentinel_named_primary() {
            let sentinel = service_cache::test_support::RedisSentinel::start();
            $(
            eprintln!("through Sentinel: {}", stringify!($test));
            $test(Backing::with_redis(stringify!($test), sentinel.vars().to_vec())).await;
            )*
        }
    };
}

// The atomic operations and compression (cache_ops.rs) run on the same backends.
pub(crate) use on_each_backend;

on_each_backend!(
    a_missing_key_is_a_miss,
    nested_values_round_trip,
    the_aliases_are_separate_stores,
    default_ttls_come_from_settings,
    a_custom_ttl_overrides_the_default_even_below_a_second,
    overwriting_a_key_resets_its_ttl,
    delete_removes_exactly_the_keys_asked_for,
    clear_removes_only_this_alias_of_this_service,
    disabled_caches_store_nothing,
    an_undecodable_value_is_a_miss_and_is_removed,
    json_text_is_read_and_loaded_as_stored,
    the_in_process_stores_are_bounded,
    concurrent_misses_run_the_loader_once,
    a_failed_load_reaches_one_caller_and_is_not_cached,
    stats_count_hits_misses_and_errors_per_alias,
    every_backend_answers_ping,
);

/// Where one test's `persistent` alias lives, and the settings its caches are built from.
pub(crate) struct Backing {
    /// `CACHE_PREFIX` of this test's service.
    prefix: String,
    #[cfg(feature = "redis")]
    /// The `CACHE_REDIS_*` variables that put `persistent` on Redis; none: in-process.
    redis_vars: Vec<(&'static str, String)>,
    /// The backend `persistent` is expected to report.
    pub(crate) persistent: Backend,
}

impl Backing {
    pub(crate) fn in_process(test: &str) -> Self {
        Self {
            prefix: format!("test-{test}"),
            #[cfg(feature = "redis")]
            redis_vars: Vec::new(),
            persistent: Backend::Memory,
        }
    }

    #[cfg(feature = "redis")]
    /// `persistent` on the Redis that `redis_vars` point to.
    pub(crate) fn with_redis(test: &str, redis_vars: Vec<(&'static str, String)>) -> Self {
        Self {
            prefix: format!("test-{test}"),
            redis_vars,
            persistent: Backend::Redis,
        }
    }

    /// Caches of this test's service, built from the environment a deployment would
    /// set, plus `vars`.
    pub(crate) fn caches(&self, vars: &[(&str, &str)]) -> Caches {
        Caches::from_settings(&self.settings(&self.prefix, vars))
    }

    /// Caches of another service sharing the backend, whose prefix starts like ours.
    fn other_service(&self) -> Caches {
        let prefix = format!("{}-other", self.prefix);
        Caches::from_settings(&self.settings(&prefix, &[]))
    }

    fn settings(&self, prefix: &str, vars: &[(&str, &str)]) -> CacheSettings {
        let mut env = vec![("CACHE_PREFIX".to_owned(), prefix.to_owned())];
        #[cfg(feature = "redis")]
        env.extend(
            self.redis_vars
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone())),
        );
        env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        CacheSettings::from_vars(env).expect("test settings are valid")
    }
}

/// A value with most of what serde can express.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: Customer,
    lines: Vec<Line>,
    tags: BTreeMap<String, Vec<String>>,
    status: Status,
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Customer {
    name: String,
    email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    unit_price: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Status {
    Open,
    Shipped { carrier: String, parcels: Vec<u32> },
}

/// Hits, misses and errors: what every backend counts alike (whether the L1 in front of
/// Redis answered a read depends on when its tracking started).
fn counts(stats: CacheStats) -> (u64, u64, u64) {
    (stats.hits, stats.misses, stats.errors)
}

fn order(id: u64) -> Order {
    Order {
        id,
        customer: Customer {
            name: "Zoë Łukasiewicz 🚲".to_owned(),
            email: Some("zoe@example.com".to_owned()),
        },
        lines: vec![
            Line {
                sku: "A-1".to_owned(),
                quantity: 2,
                unit_price: 9.99,
            },
            Line {
                sku: "B\"2\"\n".to_owned(),
                quantity: 1,
                unit_price: -0.5,
            },
        ],
        tags: BTreeMap::from([
            ("gift".to_owned(), vec![]),
            ("ship".to_owned(), vec!["fast".to_owned(), "eu".to_owned()]),
        ]),
        status: Status::Shipped {
            carrier: "post".to_owned(),
            parcels: vec![1, 2],
        },
        note: None,
    }
}

/// Long enough past any short TTL used here that expiry must have happened.
const PAST_SHORT_TTLS: Duration = Duration::from_millis(1_300);

async fn a_missing_key_is_a_miss(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        assert_eq!(cache.get::<String>("absent").await.unwrap(), None);
        assert_eq!(cache.get_raw("absent").await.unwrap(), None);
        assert_eq!(counts(cache.stats()), (0, 2, 0));
    }
}

async fn nested_values_round_trip(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        cache.set("order:7", &order(7), None).await.unwrap();
        assert_eq!(cache.get("order:7").await.unwrap(), Some(order(7)));
        assert_eq!(
            cache.get_raw("order:7").await.unwrap(),
            Some(serde_json::to_string(&order(7)).unwrap()),
            "stored as plain JSON"
        );
        cache.set("unit", &(), None).await.unwrap();
        assert_eq!(cache.get::<()>("unit").await.unwrap(), Some(()));
        cache.set("text", "plain str", None).await.unwrap();
        assert_eq!(
            cache.get::<String>("text").await.unwrap().as_deref(),
            Some("plain str")
        );
    }
}

async fn the_aliases_are_separate_stores(backing: Backing) {
    let caches = backing.caches(&[]);
    assert_eq!(caches.memory().backend(), Backend::Memory);
    assert_eq!(caches.persistent().backend(), backing.persistent);
    assert_eq!(caches.get(Alias::Memory).alias(), Alias::Memory);
    assert_eq!(caches.get(Alias::Persistent).alias(), Alias::Persistent);

    caches.memory().set("key", "in memory", None).await.unwrap();
    caches
        .persistent()
        .set("key", "persisted", None)
        .await
        .unwrap();
    assert_eq!(
        caches
            .memory()
            .get::<String>("key")
            .await
            .unwrap()
            .as_deref(),
        Some("in memory")
    );
    assert_eq!(
        caches
            .persistent()
            .get::<String>("key")
            .await
            .unwrap()
            .as_deref(),
        Some("persisted")
    );

    assert!(caches.memory().delete("key").await.unwrap());
    assert_eq!(
        caches
            .persistent()
            .get::<String>("key")
            .await
            .unwrap()
            .as_deref(),
        Some("persisted")
    );
    caches.memory().set("key", "again", None).await.unwrap();
    assert_eq!(caches.persistent().clear().await.unwrap(), 1);
    assert_eq!(
        caches
            .memory()
            .get::<String>("key")
            .await
            .unwrap()
            .as_deref(),
        Some("again")
    );
}

async fn default_ttls_come_from_settings(backing: Backing) {
    let short_memory =
        backing.caches(&[("CACHE_DEFAULT_TTL", "1"), ("CACHE_PERSISTENT_TTL", "3600")]);
    let short_persistent = backing.caches(&[
        ("CACHE_DEFAULT_TTL", "3600"),
        ("CACHE_PERSISTENT_TTL", "1"),
        // A prefix of its own, or on Redis it would share keys with the caches above.
        ("CACHE_PREFIX", &format!("{}-second", backing.prefix)),
    ]);
    assert_eq!(short_memory.memory().default_ttl(), Duration::from_secs(1));
    assert_eq!(
        short_memory.persistent().default_ttl(),
        Duration::from_secs(3600)
    );
    for caches in [&short_memory, &short_persistent] {
        for cache in caches.iter() {
            cache.set("key", &1, None).await.unwrap();
        }
    }
    tokio::time::sleep(PAST_SHORT_TTLS).await;
    assert_eq!(short_memory.memory().get::<i32>("key").await.unwrap(), None);
    assert_eq!(
        short_memory.persistent().get::<i32>("key").await.unwrap(),
        Some(1)
    );
    assert_eq!(
        short_persistent.memory().get::<i32>("key").await.unwrap(),
        Some(1)
    );
    assert_eq!(
        short_persistent
            .persistent()
            .get::<i32>("key")
            .await
            .unwrap(),
        None
    );
}

async fn a_custom_ttl_overrides_the_default_even_below_a_second(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        cache
            .set("brief", &1, Some(Duration::from_millis(200)))
            .await
            .unwrap();
        cache
            .set("second", &2, Some(Duration::from_secs(1)))
            .await
            .unwrap();
        cache.set("default", &3, None).await.unwrap();
    }
    tokio::time::sleep(PAST_SHORT_TTLS).await;
    for cache in caches.iter() {
        assert_eq!(cache.get::<i32>("brief").await.unwrap(), None);
        assert_eq!(cache.get::<i32>("second").await.unwrap(), None);
        assert_eq!(cache.get::<i32>("default").await.unwrap(), Some(3));
    }
}

async fn overwriting_a_key_resets_its_ttl(backing: Backing) {
    let caches = backing.caches(&[]);
    let brief = Some(Duration::from_millis(200));
    for cache in caches.iter() {
        cache.set("lengthened", &1, brief).await.unwrap();
        cache.set("lengthened", &2, None).await.unwrap();
        cache.set("shortened", &1, None).await.unwrap();
        cache.set_raw("shortened", "2", brief).await.unwrap();
    }
    tokio::time::sleep(PAST_SHORT_TTLS).await;
    for cache in caches.iter() {
        assert_eq!(cache.get::<i32>("lengthened").await.unwrap(), Some(2));
        assert_eq!(cache.get::<i32>("shortened").await.unwrap(), None);
    }
}

async fn delete_removes_exactly_the_keys_asked_for(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        for key in [
            "user:1",
            "user:2",
            "user:10",
            "users",
            "session:1",
            "lit[x]",
            "litx",
        ] {
            cache.set(key, key, None).await.unwrap();
        }
        assert!(cache.delete("session:1").await.unwrap());
        assert!(!cache.delete("session:1").await.unwrap(), "already gone");
        assert_eq!(cache.get::<String>("session:1").await.unwrap(), None);

        assert_eq!(cache.delete_matching("user:?").await.unwrap(), 2);
        assert_eq!(cache.delete_matching("user:*").await.unwrap(), 1);
        assert_eq!(
            cache.delete_matching("lit[x]").await.unwrap(),
            1,
            "brackets are literal"
        );
        assert_eq!(cache.delete_matching("nothing*").await.unwrap(), 0);
        for kept in ["users", "litx"] {
            assert_eq!(
                cache.get::<String>(kept).await.unwrap().as_deref(),
                Some(kept)
            );
        }
    }
}

async fn clear_removes_only_this_alias_of_this_service(backing: Backing) {
    let ours = backing.caches(&[]);
    let theirs = backing.other_service();
    for key in ["a", "b", "c"] {
        ours.persistent().set(key, &1, None).await.unwrap();
    }
    ours.memory().set("a", &1, None).await.unwrap();
    theirs.persistent().set("a", &2, None).await.unwrap();
    theirs.persistent().set("z", &2, None).await.unwrap();

    assert_eq!(ours.persistent().clear().await.unwrap(), 3);
    assert_eq!(ours.persistent().get::<i32>("a").await.unwrap(), None);
    assert_eq!(ours.memory().get::<i32>("a").await.unwrap(), Some(1));
    assert_eq!(theirs.persistent().get::<i32>("a").await.unwrap(), Some(2));
    assert_eq!(theirs.persistent().get::<i32>("z").await.unwrap(), Some(2));
    assert_eq!(ours.persistent().clear().await.unwrap(), 0);
}

async fn disabled_caches_store_nothing(backing: Backing) {
    let caches = backing.caches(&[("CACHE_ENABLED", "false")]);
    for cache in caches.iter() {
        assert_eq!(cache.backend(), Backend::Disabled);
        cache.set("key", &1, None).await.unwrap();
        cache.set_raw("raw", "[1]", None).await.unwrap();
        assert_eq!(cache.get::<i32>("key").await.unwrap(), None);
        assert_eq!(cache.get_raw("raw").await.unwrap(), None);
        assert!(!cache.delete("key").await.unwrap());
        assert_eq!(cache.delete_matching("*").await.unwrap(), 0);
        assert_eq!(cache.clear().await.unwrap(), 0);
        cache.ping().await.unwrap();
        let loaded = cache
            .get_or_set_with("key", None, || async { Ok::<_, CacheError>(5) })
            .await
            .unwrap();
        assert_eq!(loaded, 5, "the loader still answers");
        assert_eq!(
            cache.get::<i32>("key").await.unwrap(),
            None,
            "but nothing is kept"
        );
    }
}

async fn an_undecodable_value_is_a_miss_and_is_removed(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        cache.set("count", "not a number", None).await.unwrap();
        cache.set("pair", &(1, 2), None).await.unwrap();
        let before = cache.stats();

        assert_eq!(cache.get::<u64>("count").await.unwrap(), None);
        assert_eq!(
            cache.get_raw("count").await.unwrap(),
            None,
            "the bad value is gone"
        );
        assert_eq!(
            cache.get::<Vec<u8>>("pair").await.unwrap(),
            Some(vec![1, 2]),
            "a value that decodes as another type is fine"
        );
        let after = cache.stats();
        assert_eq!(after.misses - before.misses, 2);
        assert_eq!(after.hits - before.hits, 1);
        assert_eq!(after.errors, before.errors);
    }
}

async fn json_text_is_read_and_loaded_as_stored(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        // Spacing and key order are kept: the text is passed on, never re-encoded.
        let text = r#"{"b": [1, 2], "a": "Zoë"}"#;
        cache.set_raw("doc", text, None).await.unwrap();
        assert_eq!(cache.get_json("doc").await.unwrap().as_deref(), Some(text));
        assert_eq!(cache.get_json("absent").await.unwrap(), None);

        let loads = AtomicUsize::new(0);
        for _ in 0..3 {
            let json = cache
                .get_json_or_set_with("loaded", None, || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    serde_json::value::RawValue::from_string("[true, null]".to_owned())
                })
                .await
                .unwrap();
            assert_eq!(&*json, "[true, null]");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "{}", cache.alias());
        assert_eq!(
            cache.get_raw("loaded").await.unwrap().as_deref(),
            Some("[true, null]")
        );
        assert_eq!(
            counts(cache.stats()),
            (4, 2, 0),
            "one miss per absent read, even when a load follows it"
        );
    }
}

async fn the_in_process_stores_are_bounded(backing: Backing) {
    let caches = backing.caches(&[("CACHE_MEMORY_MAX_CAPACITY", "20")]);
    for cache in caches.iter() {
        for n in 0..500 {
            cache.set(&format!("key:{n}"), &n, None).await.unwrap();
        }
        let mut kept = 0;
        for n in 0..500 {
            kept += usize::from(cache.get::<i32>(&format!("key:{n}")).await.unwrap() == Some(n));
        }
        match cache.backend() {
            Backend::Memory => assert!((1..=20).contains(&kept), "{} kept {kept}", cache.alias()),
            // Redis bounds itself (maxmemory); the setting is for in-process stores.
            _ => assert_eq!(kept, 500),
        }
    }
}

async fn concurrent_misses_run_the_loader_once(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        let loads = Arc::new(AtomicUsize::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (cache, loads) = (cache.clone(), loads.clone());
            callers.spawn(async move {
                cache
                    .get_or_set_with("report", None, || async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        // Keeps the load in flight while every caller arrives.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Ok::<_, std::io::Error>(order(1))
                    })
                    .await
            });
        }
        while let Some(result) = callers.join_next().await {
            assert_eq!(result.unwrap().unwrap(), order(1));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "{}", cache.alias());
        assert_eq!(
            cache.get("report").await.unwrap(),
            Some(order(1)),
            "the loaded value is cached"
        );

        let again = cache
            .get_or_set_with("report", None, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(order(2))
            })
            .await
            .unwrap();
        assert_eq!(again, order(1), "a hit does not load");
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }
}

async fn a_failed_load_reaches_one_caller_and_is_not_cached(backing: Backing) {
    let cache = backing.caches(&[]).persistent().clone();
    let loads = Arc::new(AtomicUsize::new(0));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (cache, loads) = (cache.clone(), loads.clone());
        callers.spawn(async move {
            cache
                .get_or_set_with("flaky", None, || async {
                    let attempt = loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if attempt == 0 {
                        Err("database hiccup")
                    } else {
                        Ok(attempt)
                    }
                })
                .await
        });
    }
    let mut results = Vec::new();
    while let Some(result) = callers.join_next().await {
        results.push(result.unwrap());
    }
    assert_eq!(
        results
            .iter()
            .filter(|r| **r == Err("database hiccup"))
            .count(),
        1
    );
    assert_eq!(results.iter().filter(|r| **r == Ok(1)).count(), 7);
    assert_eq!(loads.load(Ordering::SeqCst), 2);

    let failed = cache
        .get_or_set_with("broken", None, || async { Err::<u8, _>("down") })
        .await;
    assert_eq!(failed, Err("down"));
    assert_eq!(
        cache.get::<u8>("broken").await.unwrap(),
        None,
        "errors are not cached"
    );
}

async fn stats_count_hits_misses_and_errors_per_alias(backing: Backing) {
    let caches = backing.caches(&[]);
    let memory = caches.memory();
    memory.get::<i32>("a").await.unwrap();
    memory.get_raw("b").await.unwrap();
    memory.set("a", &1, None).await.unwrap();
    for _ in 0..3 {
        memory.get::<i32>("a").await.unwrap();
    }
    memory.get_raw("a").await.unwrap();
    assert!(matches!(
        memory.set("a", &1, Some(Duration::ZERO)).await,
        Err(CacheError::ZeroTtl)
    ));
    assert_eq!(counts(memory.stats()), (4, 2, 1));

    caches.persistent().get::<i32>("a").await.unwrap();
    assert_eq!(counts(caches.persistent().stats()), (0, 1, 0));
    let clone = caches.clone();
    clone.persistent().get::<i32>("a").await.unwrap();
    assert_eq!(
        caches.persistent().stats().misses,
        2,
        "clones share counters"
    );
}

async fn every_backend_answers_ping(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        cache.ping().await.unwrap();
    }
    assert_eq!(caches.persistent().stats().errors, 0);
}

/// Builds settings from `vars` alone, as start-up does.
fn read_settings(vars: &[(&str, &str)]) -> Result<CacheSettings, SettingsError> {
    CacheSettings::from_vars(vars.iter().copied())
}

#[test]
fn each_bad_cache_variable_is_rejected_by_name() {
    for (name, value) in [
        ("CACHE_ENABLED", "maybe"),
        ("CACHE_DEFAULT_TTL", "-1"),
        ("CACHE_DEFAULT_TTL", "1.5"),
        ("CACHE_PERSISTENT_TTL", "0"),
        ("CACHE_PERSISTENT_TTL", "soon"),
        ("CACHE_MEMORY_MAX_CAPACITY", "0"),
        ("CACHE_MEMORY_MAX_CAPACITY", "lots"),
    ] {
        let error = read_settings(&[(name, value)]).expect_err(name);
        assert_eq!(error.invalid.len(), 1, "{error}");
        assert_eq!(error.invalid[0].name, name, "{error}");
        let message = error.to_string();
        assert!(
            message.contains(name) && message.contains(value),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}

#[test]
fn the_documented_defaults_apply_when_nothing_is_set() {
    let settings = read_settings(&[]).unwrap();
    let caches = Caches::from_settings(&settings);
    assert_eq!(caches.memory().default_ttl(), Duration::from_secs(300));
    assert_eq!(caches.persistent().default_ttl(), Duration::from_secs(3600));
    assert_eq!(caches.persistent().backend(), Backend::Memory);
    assert!(settings.enabled);
    assert_eq!(settings.memory_max_capacity, 10_000);
    assert_eq!(settings.prefix, service_cache::settings::DEFAULT_PREFIX);
}

#[test]
fn aliases_parse_from_their_names_only() {
    assert_eq!("memory".parse::<Alias>(), Ok(Alias::Memory));
    assert_eq!("persistent".parse::<Alias>(), Ok(Alias::Persistent));
    let message = "redis".parse::<Alias>().unwrap_err().to_string();
    assert!(
        message.contains("redis") && message.contains("memory or persistent"),
        "{message}"
    );
}

#[cfg(feature = "redis")]
/// What only a look at Redis itself can show.
mod on_redis {
    use std::time::Duration;

    use redis::Commands;

    use service_cache::{CacheError, Caches};
    use service_cache::{CacheSettings, RedisSettings, Secret};

    use super::{Backing, counts, order, read_settings};
    use service_cache::test_support::RedisServer;

    impl Backing {
        pub(crate) fn redis(test: &str, server: &RedisServer) -> Self {
            Self::with_redis(test, vec![("CACHE_REDIS_URL", server.url())])
        }
    }

    fn caches(server: &RedisServer, prefix: &str) -> Caches {
        Caches::from_settings(&CacheSettings {
            prefix: prefix.to_owned(),
            redis: RedisSettings {
                url: Some(Secret::new(server.url())),
                timeout: Duration::from_secs(2),
                ..RedisSettings::default()
            },
            ..CacheSettings::default()
        })
    }

    #[tokio::test]
    async fn values_are_json_under_the_prefix_with_millisecond_ttls() {
        let server = RedisServer::start();
        let caches = caches(&server, "svc");
        let cache = caches.persistent();
        cache.set("order:7", &order(7), None).await.unwrap();
        cache
            .set("brief", &1, Some(Duration::from_millis(1_500)))
            .await
            .unwrap();

        let mut redis = server.client();
        let stored: String = redis.get("svc:v1:order:7").unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(parsed, serde_json::to_value(order(7)).unwrap());
        assert_eq!(parsed["customer"]["name"], "Zoë Łukasiewicz 🚲");

        let default_ttl: i64 = redis.pttl("svc:v1:order:7").unwrap();
        assert!(
            (3_500_000..=3_600_000).contains(&default_ttl),
            "{default_ttl}"
        );
        let brief_ttl: i64 = redis.pttl("svc:v1:brief").unwrap();
        assert!((1..=1_500).contains(&brief_ttl), "{brief_ttl}");
        let keys: Vec<String> = redis.keys("*").unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
    }

    #[tokio::test]
    async fn clear_walks_its_prefix_in_batches_and_spares_every_other_key() {
        let server = RedisServer::start();
        // Glob characters in the prefix must not widen what clear matches.
        let caches = caches(&server, "svc[1]*");
        let mut redis = server.client();
        let foreign = [
            "other:1",
            "svc1:1",
            "svc[1]*x:1",
            "svc[1]*",
            "svc[1]-other:1",
        ];
        for key in foreign {
            let _: () = redis.set(key, "theirs").unwrap();
        }
        for n in 0..1_200 {
            caches
                .persistent()
                .set(&format!("item:{n}"), &n, None)
                .await
                .unwrap();
        }
        assert_eq!(caches.persistent().clear().await.unwrap(), 1_200);
        let mut left: Vec<String> = redis.keys("*").unwrap();
        left.sort_unstable();
        let mut expected = foreign.map(str::to_owned).to_vec();
        expected.sort_unstable();
        assert_eq!(left, expected);
    }

    #[tokio::test]
    async fn disabled_caches_never_talk_to_redis() {
        let server = RedisServer::start();
        let mut redis = server.client();
        let connections_before = total_connections(&mut redis);
        let caches = Caches::from_settings(&CacheSettings {
            enabled: false,
            ..caches_settings(&server)
        });
        for cache in caches.iter() {
            cache.set("key", &1, None).await.unwrap();
            cache.get::<i32>("key").await.unwrap();
            cache.clear().await.unwrap();
            cache.ping().await.unwrap();
        }
        assert_eq!(total_connections(&mut redis), connections_before);
        let size: u64 = redis::cmd("DBSIZE").query(&mut redis).unwrap();
        assert_eq!(size, 0);
    }

    #[tokio::test]
    async fn a_corrupted_value_is_a_miss_and_is_removed() {
        let server = RedisServer::start();
        let caches = caches(&server, "svc");
        let mut redis = server.client();
        let _: () = redis.set("svc:v1:order", "{\"id\": 7, trunc").unwrap();
        let _: () = redis
            .set("svc:v1:binary", &[0xff_u8, 0xfe, 0x00][..])
            .unwrap();
        for key in ["order", "binary"] {
            let read = caches.persistent().get::<super::Order>(key).await;
            assert_eq!(read.unwrap(), None, "{key}");
            let exists: bool = redis.exists(format!("svc:v1:{key}")).unwrap();
            assert!(!exists, "the corrupted value under {key} was removed");
        }
        assert_eq!(counts(caches.persistent().stats()), (0, 2, 0));
    }

    #[tokio::test]
    async fn text_that_is_not_json_is_never_passed_on_as_json() {
        let server = RedisServer::start();
        let caches = caches(&server, "svc");
        let cache = caches.persistent();
        let mut redis = server.client();
        let _: () = redis.set("svc:v1:page", "{\"id\": 7, trunc").unwrap();
        assert_eq!(cache.get_json("page").await.unwrap(), None);
        let exists: bool = redis.exists("svc:v1:page").unwrap();
        assert!(!exists, "the corrupted value was removed");

        let _: () = redis.set("svc:v1:page", "<html>").unwrap();
        let json = cache
            .get_json_or_set_with("page", None, || async {
                serde_json::value::RawValue::from_string("{\"id\":7}".to_owned())
            })
            .await
            .unwrap();
        assert_eq!(&*json, "{\"id\":7}", "the loader answered instead");
        let stored: String = redis.get("svc:v1:page").unwrap();
        assert_eq!(stored, "{\"id\":7}", "and its JSON replaced the bad value");
        assert_eq!(counts(cache.stats()), (0, 2, 0));
    }

    #[tokio::test]
    async fn password_and_database_number_are_used() {
        let server = RedisServer::start();
        // Connections made before the password is set stay authenticated.
        let mut redis = server.client();
        let password = "s3cret p@ss/word";
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("requirepass")
            .arg(password)
            .query(&mut redis)
            .unwrap();
        let port = server.port().to_string();
        let settings = read_settings(&[
            ("CACHE_PREFIX", "svc"),
            ("CACHE_REDIS_HOST", "127.0.0.1"),
            ("CACHE_REDIS_PORT", &port),
            ("CACHE_REDIS_PASSWORD", password),
            ("CACHE_REDIS_DB", "3"),
        ])
        .unwrap();
        assert!(!format!("{settings:?}").contains("s3cret"), "{settings:?}");
        let caches = Caches::from_settings(&settings);
        caches.persistent().set("key", &1, None).await.unwrap();
        assert_eq!(
            caches.persistent().get::<i32>("key").await.unwrap(),
            Some(1)
        );

        let _: () = redis::cmd("SELECT").arg(3).query(&mut redis).unwrap();
        let in_db_3: bool = redis.exists("svc:v1:key").unwrap();
        let _: () = redis::cmd("SELECT").arg(0).query(&mut redis).unwrap();
        let in_db_0: bool = redis.exists("svc:v1:key").unwrap();
        assert!(in_db_3 && !in_db_0);

        let wrong = format!("redis://:wrong-{password}@127.0.0.1:{port}/3")
            .replace(' ', "%20")
            .replace("p@ss", "p%40ss");
        let rejected = Caches::from_settings(&CacheSettings {
            redis: RedisSettings {
                url: Some(Secret::new(wrong)),
                timeout: Duration::from_secs(2),
                ..RedisSettings::default()
            },
            ..CacheSettings::default()
        });
        let error = rejected.persistent().get::<i32>("key").await.unwrap_err();
        for shown in [
            error.to_string(),
            format!("{error:?}"),
            format!("{rejected:?}"),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }

    #[tokio::test]
    async fn tls_to_a_plain_text_server_fails_as_an_error() {
        let server = RedisServer::start();
        let caches = Caches::from_settings(&CacheSettings {
            redis: RedisSettings {
                url: Some(Secret::new(server.url().replace("redis://", "rediss://"))),
                timeout: Duration::from_millis(500),
                ..RedisSettings::default()
            },
            ..CacheSettings::default()
        });
        let error = caches.persistent().set("key", &1, None).await.unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        assert!(matches!(
            caches.persistent().get::<i32>("key").await,
            Err(CacheError::Backoff(_) | CacheError::Unavailable(_) | CacheError::Timeout(_))
        ));
    }

    #[test]
    fn each_bad_redis_variable_is_rejected_by_name_without_its_secret() {
        for (name, value) in [
            ("CACHE_REDIS_PORT", "abc"),
            ("CACHE_REDIS_PORT", "0"),
            ("CACHE_REDIS_PORT", "70000"),
            ("CACHE_REDIS_DB", "-1"),
            ("CACHE_REDIS_TIMEOUT_MS", "0"),
            ("CACHE_REDIS_URL", "http://:secret@db:6379"),
            ("CACHE_REDIS_URL", "redis://:secret@db:port/0"),
        ] {
            let error = read_settings(&[
                ("CACHE_REDIS_HOST", "db"),
                ("CACHE_REDIS_PASSWORD", "secret"),
                (name, value),
            ])
            .expect_err(value);
            let message = error.to_string();
            assert!(message.contains(name), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
    }

    fn caches_settings(server: &RedisServer) -> CacheSettings {
        CacheSettings {
            redis: RedisSettings {
                url: Some(Secret::new(server.url())),
                timeout: Duration::from_secs(2),
                ..RedisSettings::default()
            },
            ..CacheSettings::default()
        }
    }

    /// Connections the server has accepted since it started.
    fn total_connections(redis: &mut redis::Connection) -> u64 {
        let info: String = redis::cmd("INFO").arg("stats").query(redis).unwrap();
        info.lines()
            .find_map(|line| line.strip_prefix("total_connections_received:"))
            .and_then(|count| count.trim().parse().ok())
            .expect("INFO stats reports total_connections_received")
    }
}
