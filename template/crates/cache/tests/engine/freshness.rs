//! Freshness and invalidation through the public API: tags, stale-while-revalidate and
//! stale-if-error, on every backend that `on_each_backend!` (from `cache.rs`) runs.
//! Checks that look at Redis itself (the tags' bookkeeping expiring, the versioned key
//! space) are in `on_redis` at the end.
//!
//! Loaders count their calls and sleep, so "answered at once" is shown by the value a
//! caller got (the stale one, while the loader would give a new one), never by timing.
//! Windows are only ever waited out by sleeping past them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use service_cache::{Cache, Policy};

use crate::cache::{Backing, on_each_backend};

on_each_backend!(
    tags_remove_every_entry_carrying_them_and_nothing_else,
    stale_while_revalidate_answers_at_once_and_refreshes_once,
    stale_if_error_answers_within_its_window_only,
);

const HOUR: Duration = Duration::from_secs(3600);

/// A loader that counts its calls, takes `pause`, then gives `value`, or fails when
/// `value` is `None`.
fn loader(
    calls: &Arc<AtomicUsize>,
    pause: Duration,
    value: Option<u32>,
) -> impl FnOnce() -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> + Send + 'static {
    let calls = Arc::clone(calls);
    move || {
        Box::pin(async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(pause).await;
            value.ok_or_else(|| "the database is down".to_owned())
        })
    }
}

/// Waits (at most 10 s) until `key` reads as `value`.
async fn wait_for(cache: &Cache, key: &str, value: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.get::<u32>(key).await.unwrap() != Some(value) {
        assert!(Instant::now() < deadline, "{key} never became {value}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn tags_remove_every_entry_carrying_them_and_nothing_else(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent();
    let owner_7 = Policy::ttl(HOUR).tag("owner:7");
    cache
        .set_with("pet:1", "Rex", &owner_7.clone().tag("species:dog"))
        .await
        .unwrap();
    cache.set_with("pet:2", "Tom", &owner_7).await.unwrap();
    cache
        .set_with("pet:3", "Kit", &Policy::ttl(HOUR).tag("owner:8"))
        .await
        .unwrap();
    cache.set("pet:4", "Bo", None).await.unwrap();
    caches
        .memory()
        .set_with("pet:1", "Rex", &owner_7)
        .await
        .unwrap();

    assert_eq!(cache.invalidate_tag("owner:7").await.unwrap(), 2);
    for key in ["pet:1", "pet:2"] {
        assert_eq!(cache.get::<String>(key).await.unwrap(), None, "{key}");
    }
    for key in ["pet:3", "pet:4"] {
        assert!(cache.get::<String>(key).await.unwrap().is_some(), "{key}");
    }
    assert!(
        caches
            .memory()
            .get::<String>("pet:1")
            .await
            .unwrap()
            .is_some(),
        "the other alias keeps its own entries"
    );
    assert_eq!(
        cache.invalidate_tag("owner:7").await.unwrap(),
        0,
        "done once"
    );
    assert_eq!(
        cache.invalidate_tag("species:dog").await.unwrap(),
        0,
        "pet:1 is gone already"
    );

    // Cache-aside stores with the policy's tags.
    let calls = Arc::new(AtomicUsize::new(0));
    let tagged = Policy::ttl(HOUR).tag("owner:8");
    let loaded = cache
        .get_or_refresh_with("pet:5", &tagged, loader(&calls, Duration::ZERO, Some(5)))
        .await;
    assert_eq!(loaded, Ok(5));
    assert_eq!(cache.invalidate_tag("owner:8").await.unwrap(), 2);
    assert_eq!(cache.get::<String>("pet:3").await.unwrap(), None);
    assert_eq!(cache.get::<u32>("pet:5").await.unwrap(), None);

    // An expired entry is not counted, and the tag is simply empty.
    let brief = Policy::ttl(Duration::from_millis(50)).tag("brief");
    cache.set_with("short", &1, &brief).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(cache.invalidate_tag("brief").await.unwrap(), 0);
    assert_eq!(cache.invalidate_tag("never-used").await.unwrap(), 0);
}

async fn stale_while_revalidate_answers_at_once_and_refreshes_once(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent().clone();
    let policy = Policy::ttl(Duration::from_secs(2)).stale_while_revalidate(HOUR);
    let calls = Arc::new(AtomicUsize::new(0));
    let pause = Duration::from_millis(300);

    let first = cache
        .get_or_refresh_with("report", &policy, loader(&calls, pause, Some(1)))
        .await;
    assert_eq!(first, Ok(1));
    let fresh = cache
        .get_or_refresh_with("report", &policy, loader(&calls, pause, Some(9)))
        .await;
    assert_eq!(fresh, Ok(1), "within the fresh period: a hit");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let cache = cache.clone();
            let (policy, load) = (policy.clone(), loader(&calls, pause, Some(2)));
            tokio::spawn(async move { cache.get_or_refresh_with("report", &policy, load).await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap(), Ok(1), "the stale value, at once");
    }
    wait_for(&cache, "report", 2).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "exactly one refresh ran");

    let next = cache
        .get_or_refresh_with("report", &policy, loader(&calls, pause, Some(3)))
        .await;
    assert_eq!(next, Ok(2), "the next caller gets the refreshed value");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let stale = cache.stale_stats();
    assert_eq!(
        (
            stale.stale_while_revalidate,
            stale.refreshes,
            stale.refresh_errors
        ),
        (20, 1, 0)
    );
}

async fn stale_if_error_answers_within_its_window_only(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent();
    let calls = Arc::new(AtomicUsize::new(0));
    let wide = Policy::ttl(Duration::from_millis(200)).stale_if_error(HOUR);
    let narrow = Policy::ttl(Duration::from_millis(100)).stale_if_error(Duration::from_millis(200));
    for (key, policy) in [("wide", &wide), ("narrow", &narrow)] {
        let loaded = cache
            .get_or_refresh_with(key, policy, loader(&calls, Duration::ZERO, Some(1)))
            .await;
        assert_eq!(loaded, Ok(1));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;

    // Past the fresh period, within the window: the loader runs, fails, and the stale
    // value answers instead.
    let answered = cache
        .get_or_refresh_with("wide", &wide, loader(&calls, Duration::ZERO, None))
        .await;
    assert_eq!(answered, Ok(1));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the loader did run");
    assert_eq!(cache.stale_stats().stale_if_error, 1);

    // Past the window: the error goes through.
    let failed = cache
        .get_or_refresh_with("narrow", &narrow, loader(&calls, Duration::ZERO, None))
        .await;
    assert_eq!(failed, Err("the database is down".to_owned()));
    assert_eq!(cache.stale_stats().stale_if_error, 1);

    // A load that works again replaces the stale value.
    let recovered = cache
        .get_or_refresh_with("wide", &wide, loader(&calls, Duration::ZERO, Some(2)))
        .await;
    assert_eq!(recovered, Ok(2));
    assert_eq!(cache.get::<u32>("wide").await.unwrap(), Some(2));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[cfg(feature = "redis")]
mod on_redis {
    use std::time::Duration;

    use redis::Commands;

    use service_cache::Policy;

    use crate::cache_ops::on_redis::caches;
    use service_cache::test_support::RedisServer;

    #[tokio::test]
    async fn a_tags_bookkeeping_expires_with_its_entries_and_drops_expired_members() {
        let server = RedisServer::start();
        let caches = caches(&server, &[]);
        let cache = caches.persistent();
        let mut redis = server.client();
        let tag_key = "svc:t1:owner:7";

        let tagged = |ms| Policy::ttl(Duration::from_millis(ms)).tag("owner:7");
        cache.set_with("a", &1, &tagged(300)).await.unwrap();
        cache.set_with("b", &2, &tagged(600)).await.unwrap();
        let members: Vec<String> = redis.zrange(tag_key, 0, -1).unwrap();
        assert_eq!(members, ["svc:v1:a", "svc:v1:b"]);
        let ttl: i64 = redis.pttl(tag_key).unwrap();
        assert!((301..=600).contains(&ttl), "lives as long as b: {ttl} ms");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            !redis.exists::<_, bool>(tag_key).unwrap(),
            "gone with its entries"
        );

        // A tag that is always in use never expires, so adding drops the dead members.
        for n in 0..50 {
            cache
                .set_with(&format!("brief:{n}"), &n, &tagged(20))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        cache
            .set_with("long", &0, &tagged(3_600_000))
            .await
            .unwrap();
        let count: u64 = redis.zcard(tag_key).unwrap();
        assert_eq!(count, 1, "only the live member is kept");
    }

    #[tokio::test]
    async fn a_new_version_leaves_old_entries_unreachable_and_all_versions_clear_removes_them() {
        let server = RedisServer::start();
        let mut redis = server.client();
        let foreign = ["other:v1:k", "svc-other:v1:k", "svcv1:k"];
        for key in foreign {
            let _: () = redis.set(key, "\"theirs\"").unwrap();
        }
        let v1 = caches(&server, &[]);
        let v2 = caches(&server, &[("CACHE_VERSION", "2")]);
        let tagged = Policy::ttl(Duration::from_secs(60)).tag("t");
        v1.persistent().set_with("k", &1, &tagged).await.unwrap();
        assert_eq!(
            v2.persistent().get::<i32>("k").await.unwrap(),
            None,
            "unreachable"
        );
        v2.persistent().set_with("k", &2, &tagged).await.unwrap();
        assert_eq!(v1.persistent().get::<i32>("k").await.unwrap(), Some(1));
        let stored: String = redis.get("svc:v2:k").unwrap();
        assert_eq!(stored, "2");
        assert_eq!(v2.persistent().invalidate_tag("t").await.unwrap(), 1);
        assert_eq!(
            v1.persistent().get::<i32>("k").await.unwrap(),
            Some(1),
            "tags are per version"
        );
        v2.persistent().set_with("k", &2, &tagged).await.unwrap();

        // The default clear is this version's values and tags only.
        assert_eq!(v2.persistent().clear().await.unwrap(), 1);
        let mut left: Vec<String> = redis.keys("*").unwrap();
        left.sort_unstable();
        let mut expected: Vec<String> = foreign.map(str::to_owned).to_vec();
        expected.extend(["svc:t1:t".to_owned(), "svc:v1:k".to_owned()]);
        expected.sort_unstable();
        assert_eq!(left, expected);

        // Every version, and a key of the layout before versions, under this prefix.
        let _: () = redis.set("svc:k", "\"unversioned\"").unwrap();
        assert_eq!(v2.persistent().clear_all_versions().await.unwrap(), 3);
        let mut left: Vec<String> = redis.keys("*").unwrap();
        left.sort_unstable();
        let mut expected = foreign.map(str::to_owned).to_vec();
        expected.sort_unstable();
        assert_eq!(left, expected, "other services' keys stay");
    }
}
