//! The atomic operations (`exists`, `incr`/`decr`, `add`, `take`) and compression of
//! large values, as the README's cache guide states them, on every backend that
//! `on_each_backend!` (from `cache.rs`) runs: in-process, one Redis server, a Redis
//! Cluster, TLS and a Sentinel-named primary. Checks that need to look at Redis itself
//! (commands' effects on the stored bytes and TTLs, values written with a raw client)
//! are in `on_redis` at the end.
//!
//! Races are real: many tasks call at once and the test counts the winners. Expiry is
//! tested by sleeping past a TTL, never by asserting that something is still there in
//! time.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use service_cache::{Cache, CacheError, CacheStats};

use crate::cache::{Backing, on_each_backend};

on_each_backend!(
    exists_sees_live_values_only,
    concurrent_increments_are_all_counted,
    a_counter_keeps_the_deadline_it_was_created_with,
    incr_refuses_what_is_not_a_counter,
    of_concurrent_adds_exactly_one_stores,
    of_concurrent_takes_exactly_one_gets_the_value,
    disabled_caches_answer_the_atomic_operations_as_documented,
    the_atomic_operations_count_in_the_stats,
    a_read_after_an_atomic_write_sees_it,
    values_round_trip_above_and_below_the_compression_threshold,
);

/// Tasks racing in the concurrency tests.
const TASKS: usize = 16;
/// Increments per task.
const INCREMENTS: usize = 25;

/// JSON of about 64 KiB, like a page of an API's list response.
fn large_value() -> serde_json::Value {
    let items: Vec<serde_json::Value> = (0..700)
        .map(|n| {
            serde_json::json!({
                "id": n,
                "name": format!("item number {n}"),
                "tags": ["alpha", "beta", if n % 3 == 0 { "gamma" } else { "delta" }],
                "description": format!("A fine product, batch {}, shelf {}", n * 7_919 % 1_000, n % 17),
            })
        })
        .collect();
    serde_json::Value::Array(items)
}

async fn exists_sees_live_values_only(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        assert!(!cache.exists("flag").await.unwrap());
        cache.set("flag", &false, None).await.unwrap();
        assert!(cache.exists("flag").await.unwrap(), "a stored false exists");
        cache.delete("flag").await.unwrap();
        assert!(!cache.exists("flag").await.unwrap());

        cache
            .set("brief", &1, Some(Duration::from_millis(50)))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(!cache.exists("brief").await.unwrap(), "expired");
    }
}

async fn concurrent_increments_are_all_counted(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::with_capacity(INCREMENTS);
                    for _ in 0..INCREMENTS {
                        seen.push(cache.incr("hits", 1, None).await.unwrap());
                    }
                    seen
                })
            })
            .collect();
        let mut seen = BTreeSet::new();
        for task in tasks {
            for count in task.await.unwrap() {
                assert!(seen.insert(count), "{count} was handed out twice");
            }
        }
        let total = i64::try_from(TASKS * INCREMENTS).unwrap();
        assert_eq!(seen, (1..=total).collect(), "every count from 1 to {total}");
        assert_eq!(cache.get::<i64>("hits").await.unwrap(), Some(total));

        assert_eq!(cache.decr("hits", total + 5, None).await.unwrap(), -5);
        assert_eq!(cache.incr("hits", 10, None).await.unwrap(), 5);
    }
}

async fn a_counter_keeps_the_deadline_it_was_created_with(backing: Backing) {
    let caches = backing.caches(&[]);
    let ttl = Duration::from_millis(200);
    for cache in caches.iter() {
        // Increment for twice the TTL, each call asking for the same TTL again. Had any
        // increment moved the deadline, the counter would never lapse and the count
        // would only grow; kept at creation, it lapses, and the next call starts at 1.
        let started = Instant::now();
        let mut counts = Vec::new();
        while started.elapsed() < ttl * 2 {
            counts.push(cache.incr("window", 1, Some(ttl)).await.unwrap());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(counts[0], 1);
        assert!(
            counts[1..].contains(&1),
            "{}: the counter never lapsed: {counts:?}",
            cache.alias()
        );
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert_eq!(cache.get::<i64>("window").await.unwrap(), None, "gone");
    }
}

async fn incr_refuses_what_is_not_a_counter(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        cache.set("name", "Ada", None).await.unwrap();
        assert!(matches!(
            cache.incr("name", 1, None).await,
            Err(CacheError::NotACounter)
        ));
        assert_eq!(
            cache.get::<String>("name").await.unwrap().as_deref(),
            Some("Ada"),
            "left as it was"
        );

        cache.set("big", &i64::MAX, None).await.unwrap();
        assert!(matches!(
            cache.incr("big", 1, None).await,
            Err(CacheError::NotACounter)
        ));
        assert_eq!(cache.get::<i64>("big").await.unwrap(), Some(i64::MAX));
        assert!(matches!(
            cache.decr("other", i64::MIN, None).await,
            Err(CacheError::NotACounter)
        ));
        assert!(matches!(
            cache.incr("counter", 1, Some(Duration::ZERO)).await,
            Err(CacheError::ZeroTtl)
        ));

        // A number stored with set counts on from there.
        cache.set("stock", &40, None).await.unwrap();
        assert_eq!(cache.incr("stock", 2, None).await.unwrap(), 42);
    }
}

async fn of_concurrent_adds_exactly_one_stores(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        let tasks: Vec<_> = (0..TASKS)
            .map(|n| {
                let cache = cache.clone();
                tokio::spawn(async move { (n, cache.add("lock", &n, None).await.unwrap()) })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (n, stored) = task.await.unwrap();
            if stored {
                winners.push(n);
            }
        }
        assert_eq!(winners.len(), 1, "{}: {winners:?}", cache.alias());
        assert_eq!(
            cache.get::<usize>("lock").await.unwrap(),
            Some(winners[0]),
            "the winner's value is the one kept"
        );

        // Free again once deleted, or once expired.
        assert!(cache.delete("lock").await.unwrap());
        assert!(
            cache
                .add("lock", "again", Some(Duration::from_millis(50)))
                .await
                .unwrap()
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(cache.add("lock", "after expiry", None).await.unwrap());
        assert!(!cache.add_raw("lock", "[1]", None).await.unwrap());
        assert!(matches!(
            cache.add_raw("other", "{not json", None).await,
            Err(CacheError::InvalidJson(_))
        ));
        assert!(!cache.exists("other").await.unwrap());
    }
}

async fn of_concurrent_takes_exactly_one_gets_the_value(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        cache.set("token", "one-time", None).await.unwrap();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.take::<String>("token").await.unwrap() })
            })
            .collect();
        let mut taken = Vec::new();
        for task in tasks {
            taken.extend(task.await.unwrap());
        }
        assert_eq!(taken, ["one-time"], "{}", cache.alias());
        assert!(!cache.exists("token").await.unwrap());

        // A value that does not decode as asked is gone all the same.
        cache.set("pair", &(1, 2), None).await.unwrap();
        assert_eq!(cache.take::<String>("pair").await.unwrap(), None);
        assert!(!cache.exists("pair").await.unwrap());

        cache
            .set_raw("doc", r#"{"b": 1, "a": 2}"#, None)
            .await
            .unwrap();
        assert_eq!(
            cache.take_json("doc").await.unwrap().as_deref(),
            Some(r#"{"b": 1, "a": 2}"#),
            "taken as stored"
        );
        assert_eq!(cache.take_json("doc").await.unwrap(), None);
    }
}

async fn disabled_caches_answer_the_atomic_operations_as_documented(backing: Backing) {
    let caches = backing.caches(&[("CACHE_ENABLED", "false")]);
    for cache in caches.iter() {
        assert!(!cache.add("key", &1, None).await.unwrap(), "not stored");
        assert!(!cache.exists("key").await.unwrap());
        assert_eq!(cache.take::<i32>("key").await.unwrap(), None);
        assert_eq!(cache.incr("count", 3, None).await.unwrap(), 3);
        assert_eq!(
            cache.incr("count", 3, None).await.unwrap(),
            3,
            "every call sees a fresh counter"
        );
        assert_eq!(cache.decr("count", 2, None).await.unwrap(), -2);
        assert_eq!(cache.get::<i64>("count").await.unwrap(), None);
    }
}

async fn the_atomic_operations_count_in_the_stats(backing: Backing) {
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        let before = cache.stats();
        cache.exists("absent").await.unwrap(); // miss
        cache.take::<i32>("absent").await.unwrap(); // miss
        cache.incr("count", 1, None).await.unwrap(); // a write: not a read
        cache.exists("count").await.unwrap(); // hit
        cache.take::<i64>("count").await.unwrap(); // hit
        cache.add("added", &1, None).await.unwrap(); // a write
        cache.set("name", "Ada", None).await.unwrap();
        let _ = cache.incr("name", 1, None).await; // error
        let _ = cache.add("x", &1, Some(Duration::ZERO)).await; // error
        assert_eq!(delta(cache, before), (2, 2, 2), "{}", cache.alias());
    }
}

async fn a_read_after_an_atomic_write_sees_it(backing: Backing) {
    // Each key is read first, so a copy of it sits in any read cache (the L1 in front of
    // Redis) when the operation changes it.
    let caches = backing.caches(&[]);
    for cache in caches.iter() {
        cache.set("count", &1, None).await.unwrap();
        assert_eq!(cache.get::<i64>("count").await.unwrap(), Some(1));
        cache.incr("count", 1, None).await.unwrap();
        assert_eq!(cache.get::<i64>("count").await.unwrap(), Some(2));

        cache.set("token", "t", None).await.unwrap();
        assert_eq!(
            cache.get::<String>("token").await.unwrap().as_deref(),
            Some("t")
        );
        cache.take::<String>("token").await.unwrap();
        assert_eq!(cache.get::<String>("token").await.unwrap(), None);

        assert_eq!(cache.get::<String>("slot").await.unwrap(), None);
        assert!(cache.add("slot", "mine", None).await.unwrap());
        assert_eq!(
            cache.get::<String>("slot").await.unwrap().as_deref(),
            Some("mine")
        );
    }
}

/// (hits, misses, errors) since `before`.
fn delta(cache: &Cache, before: CacheStats) -> (u64, u64, u64) {
    let after = cache.stats();
    (
        after.hits - before.hits,
        after.misses - before.misses,
        after.errors - before.errors,
    )
}

async fn values_round_trip_above_and_below_the_compression_threshold(backing: Backing) {
    let caches = backing.caches(&[("CACHE_COMPRESS_MIN_BYTES", "1024")]);
    let large = large_value();
    let text = large.to_string();
    assert!(text.len() > 60_000, "{} bytes", text.len());
    for cache in caches.iter() {
        cache.set("large", &large, None).await.unwrap();
        cache.set("small", &[1, 2, 3], None).await.unwrap();
        assert_eq!(
            cache.get::<serde_json::Value>("large").await.unwrap(),
            Some(large.clone())
        );
        assert_eq!(
            cache.get::<Vec<u8>>("small").await.unwrap(),
            Some(vec![1, 2, 3])
        );
        assert_eq!(
            cache.get_json("large").await.unwrap().as_deref(),
            Some(text.as_str())
        );
        assert_eq!(
            cache.get_raw("large").await.unwrap().as_deref(),
            Some(text.as_str())
        );

        assert!(!cache.add("large", &1, None).await.unwrap());
        assert_eq!(
            cache.take_json("large").await.unwrap().as_deref(),
            Some(text.as_str())
        );
        assert!(cache.add("large", &large, None).await.unwrap());
        assert_eq!(
            cache.take::<serde_json::Value>("large").await.unwrap(),
            Some(large.clone())
        );

        // Decoded as another type, a compressed value is a miss and is removed, like
        // any value that no longer decodes.
        cache.set("large", &large, None).await.unwrap();
        assert_eq!(cache.get::<Vec<String>>("large").await.unwrap(), None);
        assert!(!cache.exists("large").await.unwrap(), "{}", cache.alias());
    }
}

#[cfg(feature = "redis")]
/// What only a look at Redis itself can show.
pub(crate) mod on_redis {
    use std::time::Duration;

    use redis::Commands;

    use service_cache::CacheSettings;
    use service_cache::Caches;

    use super::{INCREMENTS, TASKS, large_value};
    use service_cache::test_support::RedisServer;

    /// What every compressed value starts with (see services/cache/compression.rs).
    const MARKER: &[u8] = b"\0lz4";

    /// Caches of the service `svc` with its persistent alias on `server`, plus `vars`.
    pub(crate) fn caches(server: &RedisServer, vars: &[(&str, &str)]) -> Caches {
        let url = server.url();
        let mut env = vec![
            ("CACHE_REDIS_URL", url.as_str()),
            ("CACHE_PREFIX", "svc"),
            ("CACHE_REDIS_TIMEOUT_MS", "2000"),
        ];
        env.extend_from_slice(vars);
        Caches::from_settings(&CacheSettings::from_vars(env).expect("valid settings"))
    }

    #[tokio::test]
    async fn a_counter_is_a_plain_integer_with_the_ttl_of_its_first_increment() {
        let server = RedisServer::start();
        let caches = caches(&server, &[]);
        let cache = caches.persistent();
        let mut redis = server.client();

        cache
            .incr("c", 5, Some(Duration::from_secs(60)))
            .await
            .unwrap();
        cache
            .incr("c", 1, Some(Duration::from_secs(3_600)))
            .await
            .unwrap();
        let stored: String = redis.get("svc:v1:c").unwrap();
        assert_eq!(stored, "6");
        let ttl: i64 = redis.pttl("svc:v1:c").unwrap();
        assert!((1..=60_000).contains(&ttl), "the first TTL stays: {ttl}");

        // A counter someone wrote without a TTL gets one: every cache entry expires.
        let _: () = redis.set("svc:v1:raw", "41").unwrap();
        assert_eq!(cache.incr("raw", 1, None).await.unwrap(), 42);
        let ttl: i64 = redis.pttl("svc:v1:raw").unwrap();
        assert!((1..=3_600_000).contains(&ttl), "{ttl}");
    }

    #[tokio::test]
    async fn two_processes_sharing_redis_count_together() {
        let server = RedisServer::start();
        // Two sets of caches: two connections, as two instances of the service have.
        let first = caches(&server, &[]);
        let second = caches(&server, &[]);
        let tasks: Vec<_> = (0..TASKS)
            .map(|n| {
                let caches = if n % 2 == 0 { &first } else { &second };
                let cache = caches.persistent().clone();
                tokio::spawn(async move {
                    for _ in 0..INCREMENTS {
                        cache.incr("shared", 1, None).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let total: i64 = server.client().get("svc:v1:shared").unwrap();
        assert_eq!(total, i64::try_from(TASKS * INCREMENTS).unwrap());

        assert!(first.persistent().add("lock", "first", None).await.unwrap());
        assert!(
            !second
                .persistent()
                .add("lock", "second", None)
                .await
                .unwrap()
        );
        assert_eq!(
            second
                .persistent()
                .take::<String>("lock")
                .await
                .unwrap()
                .as_deref(),
            Some("first")
        );
        assert_eq!(
            first.persistent().take::<String>("lock").await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn add_keeps_a_value_written_by_anyone_else() {
        let server = RedisServer::start();
        let caches = caches(&server, &[]);
        let mut redis = server.client();
        let _: () = redis.set("svc:v1:held", "\"by redis-cli\"").unwrap();
        assert!(!caches.persistent().add("held", "mine", None).await.unwrap());
        let stored: String = redis.get("svc:v1:held").unwrap();
        assert_eq!(stored, "\"by redis-cli\"");

        assert!(
            caches
                .persistent()
                .add("new", "mine", Some(Duration::from_millis(1_500)))
                .await
                .unwrap()
        );
        let stored: String = redis.get("svc:v1:new").unwrap();
        assert_eq!(stored, "\"mine\"");
        let ttl: i64 = redis.pttl("svc:v1:new").unwrap();
        assert!((1..=1_500).contains(&ttl), "{ttl}");
    }

    #[tokio::test]
    async fn large_values_are_stored_compressed_and_small_ones_stay_plain_json() {
        let server = RedisServer::start();
        let caches = caches(&server, &[("CACHE_COMPRESS_MIN_BYTES", "1024")]);
        let cache = caches.persistent();
        let mut redis = server.client();
        let large = large_value();
        let text = large.to_string();

        cache.set("large", &large, None).await.unwrap();
        cache.set("small", &[1, 2, 3], None).await.unwrap();
        let stored: Vec<u8> = redis.get("svc:v1:large").unwrap();
        assert!(stored.starts_with(MARKER));
        assert!(
            stored.len() < text.len() / 3,
            "{} of {} bytes",
            stored.len(),
            text.len()
        );
        let small: String = redis.get("svc:v1:small").unwrap();
        assert_eq!(small, "[1,2,3]", "readable with redis-cli");

        // Written by hand, below the threshold: plain JSON, read as usual.
        let _: () = redis.set("svc:v1:by-hand", r#"{"name": "Ada"}"#).unwrap();
        assert_eq!(
            cache.get::<serde_json::Value>("by-hand").await.unwrap(),
            Some(serde_json::json!({ "name": "Ada" }))
        );
        // Written by hand above the threshold, without the marker: still plain JSON.
        let _: () = redis.set("svc:v1:large-by-hand", &text).unwrap();
        assert_eq!(
            cache
                .get::<serde_json::Value>("large-by-hand")
                .await
                .unwrap(),
            Some(large.clone())
        );

        // Whatever the threshold now, a value reads by its marker.
        let plain = caches_with_threshold(&server, "0");
        assert_eq!(
            plain
                .persistent()
                .get::<serde_json::Value>("large")
                .await
                .unwrap(),
            Some(large.clone())
        );
        plain.persistent().set("large", &large, None).await.unwrap();
        let stored: Vec<u8> = redis.get("svc:v1:large").unwrap();
        assert_eq!(stored, text.as_bytes(), "0 turns compression off");
    }

    fn caches_with_threshold(server: &RedisServer, bytes: &str) -> Caches {
        caches(server, &[("CACHE_COMPRESS_MIN_BYTES", bytes)])
    }

    #[tokio::test]
    async fn a_corrupt_compressed_value_is_a_miss_and_is_removed() {
        let server = RedisServer::start();
        let caches = caches_with_threshold(&server, "1024");
        let cache = caches.persistent();
        let mut redis = server.client();
        cache.set("large", &large_value(), None).await.unwrap();
        let mut stored: Vec<u8> = redis.get("svc:v1:large").unwrap();
        stored.truncate(stored.len() / 2);
        let _: () = redis.set("svc:v1:large", &stored).unwrap();
        let _: () = redis.set("svc:v1:marker-only", MARKER).unwrap();
        let mut flipped = MARKER.to_vec();
        flipped.extend_from_slice(&[0xff; 64]);
        let _: () = redis.set("svc:v1:garbage", &flipped).unwrap();

        for key in ["large", "marker-only", "garbage"] {
            assert_eq!(
                cache.get::<serde_json::Value>(key).await.unwrap(),
                None,
                "{key}"
            );
            let exists: bool = redis.exists(format!("svc:v1:{key}")).unwrap();
            assert!(!exists, "the corrupt value under {key} was removed");
        }
        let _: () = redis.set("svc:v1:taken", &flipped).unwrap();
        assert_eq!(cache.take_json("taken").await.unwrap(), None);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.errors), (0, 4, 0));
    }

    /// `json` behind the marker, compressed as the store compresses, with its true
    /// length in the header: what someone with write access to Redis could plant.
    fn planted(json: &str) -> Vec<u8> {
        let mut stored = MARKER.to_vec();
        stored.extend_from_slice(&u32::try_from(json.len()).unwrap().to_le_bytes());
        stored.extend_from_slice(&lz4_flex::block::compress(json.as_bytes()));
        stored
    }

    #[tokio::test]
    async fn a_planted_value_that_decompresses_beyond_the_maximum_is_a_miss_and_is_removed() {
        use service_cache::settings::MAX_DECOMPRESSED_BYTES;

        let server = RedisServer::start();
        let caches = caches_with_threshold(&server, "1024");
        let cache = caches.persistent();
        let mut redis = server.client();

        // Twice the maximum of valid JSON, in runs of `a` broken by a counter so that
        // LZ4 shrinks it about 80 times (400 KiB for 32 MiB): well inside the 255 times
        // the header check alone allowed, so only the stated maximum refuses it.
        let mut json = String::from("\"");
        let mut run = 0;
        while json.len() < 2 * MAX_DECOMPRESSED_BYTES {
            json.push_str(&"a".repeat(500));
            json.push_str(&run.to_string());
            run += 1;
        }
        json.push('"');
        let stored = planted(&json);
        assert!(
            stored.len() * 20 < json.len() && stored.len() * 255 > json.len(),
            "{} bytes stored for {} of JSON",
            stored.len(),
            json.len()
        );
        for key in ["svc:v1:planted", "svc:v1:planted-taken"] {
            let _: () = redis.set(key, &stored).unwrap();
        }

        // Failures show lengths: the values are megabytes long.
        let read = cache.get_json("planted").await.unwrap();
        assert!(read.is_none(), "a hit of {:?} bytes", read.map(|t| t.len()));
        let exists: bool = redis.exists("svc:v1:planted").unwrap();
        assert!(!exists, "the planted value was removed");
        let taken = cache.take_json("planted-taken").await.unwrap();
        assert!(taken.is_none(), "took {:?} bytes", taken.map(|t| t.len()));
        let exists: bool = redis.exists("svc:v1:planted-taken").unwrap();
        assert!(!exists, "the planted value was taken");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.errors), (0, 2, 0));

        // The cache's own values up to the maximum are compressed and read back; one
        // byte more is stored as it is, and read back as well.
        for (key, len, compressed) in [
            ("largest", MAX_DECOMPRESSED_BYTES, true),
            ("beyond", MAX_DECOMPRESSED_BYTES + 1, false),
        ] {
            let text = "a".repeat(len - 2);
            cache.set(key, &text, None).await.unwrap();
            let stored: Vec<u8> = redis.get(format!("svc:v1:{key}")).unwrap();
            assert_eq!(stored.starts_with(MARKER), compressed, "{key}");
            let read = cache.get::<String>(key).await.unwrap();
            assert!(
                read.as_ref() == Some(&text),
                "{key}: {:?} bytes",
                read.map(|t| t.len())
            );
        }
    }
}
