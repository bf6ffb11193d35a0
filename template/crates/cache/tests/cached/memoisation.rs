//! What a decorated function does: hits, misses, a key per argument, TTLs, one load
//! for concurrent callers, errors never stored; in process and on Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::decorated::{Catalogue, User, parsed, price, report, slow, user};
use crate::installed::Backing;

fn count(loads: &AtomicUsize) -> usize {
    loads.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_second_call_is_a_hit_and_the_value_is_stored_under_the_key() {
    for backing in Backing::all() {
        let (_guard, caches) = backing.install("hit").await;
        let loads = AtomicUsize::new(0);
        let first = user(7, &loads).await.unwrap();
        let second = user(7, &loads).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(first.name, "user 7");
        assert_eq!(count(&loads), 1, "the second call is a hit");
        let stored: Option<User> = caches.persistent().get("user:7").await.unwrap();
        assert_eq!(
            stored,
            Some(first),
            "stored in the persistent alias under user:7"
        );
        assert_eq!(caches.memory().get::<User>("user:7").await.unwrap(), None);
        // A value put there by other code is what the function answers.
        let planted = User {
            id: 8,
            name: "planted".into(),
        };
        caches
            .persistent()
            .set("user:8", &planted, None)
            .await
            .unwrap();
        assert_eq!(user(8, &loads).await.unwrap(), planted);
        assert_eq!(count(&loads), 1);
    }
}

#[tokio::test]
async fn each_argument_value_has_its_own_entry() {
    for backing in Backing::all() {
        let (_guard, caches) = backing.install("per-argument").await;
        let loads = AtomicUsize::new(0);
        assert_eq!(report(2025, "north", &loads).await.unwrap(), "north 2025");
        assert_eq!(report(2026, "north", &loads).await.unwrap(), "north 2026");
        assert_eq!(report(2025, "south", &loads).await.unwrap(), "south 2025");
        assert_eq!(count(&loads), 3, "three keys, three loads");
        assert_eq!(report(2025, "north", &loads).await.unwrap(), "north 2025");
        assert_eq!(report(2025, "south", &loads).await.unwrap(), "south 2025");
        assert_eq!(count(&loads), 3, "each is a hit now");
        let stored: Option<String> = caches.memory().get("report:2026:north").await.unwrap();
        assert_eq!(stored.as_deref(), Some("north 2026"));
    }
}

#[tokio::test]
async fn a_value_expires_after_its_ttl_and_is_loaded_again() {
    for backing in Backing::all() {
        let (_guard, _caches) = backing.install("ttl").await;
        let loads = AtomicUsize::new(0);
        user(9, &loads).await.unwrap();
        user(9, &loads).await.unwrap();
        assert_eq!(count(&loads), 1);
        #[cfg(feature = "redis")]
        if let Some(server) = backing.redis() {
            use redis::Commands;
            let mut redis = server.client();
            let ttl: i64 = redis.pttl("ttl:v1:user:9").unwrap();
            assert!((1..=300).contains(&ttl), "300ms on Redis, found {ttl} ms");
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        user(9, &loads).await.unwrap();
        assert_eq!(count(&loads), 2, "expired after 300ms: loaded again");
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn without_a_ttl_the_alias_default_applies_on_redis() {
    let backing = Backing::Redis(service_cache::test_support::RedisServer::start());
    let (_guard, caches) = backing.install("default-ttl").await;
    let loads = AtomicUsize::new(0);
    price(4, false, &loads).await.unwrap();
    let mut redis = backing.redis().unwrap().client();
    let ttl: i64 = redis::Commands::pttl(&mut redis, "default-ttl:v1:price:4").unwrap();
    let default = i64::try_from(caches.persistent().default_ttl().as_millis()).unwrap();
    assert!(
        (default - 5_000..=default).contains(&ttl),
        "the persistent default, {default} ms; found {ttl} ms"
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_load() {
    for backing in Backing::all() {
        let (_guard, caches) = backing.install("single-flight").await;
        let loads = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Notify::new());
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..20 {
            callers.spawn(slow(5, Arc::clone(&loads), Arc::clone(&gate)));
        }
        // Hold the first load until every caller has had time to miss and queue up.
        while count(&loads) == 0 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        gate.notify_waiters();
        while let Some(result) = callers.join_next().await {
            assert_eq!(result.unwrap(), Ok(50));
        }
        assert_eq!(count(&loads), 1, "twenty callers, one load");
        assert_eq!(
            caches.persistent().get::<u32>("slow:5").await.unwrap(),
            Some(50)
        );
    }
}

#[tokio::test]
async fn an_error_is_returned_and_not_stored() {
    for backing in Backing::all() {
        let (_guard, caches) = backing.install("errors").await;
        let loads = AtomicUsize::new(0);
        assert_eq!(
            price(3, true, &loads).await,
            Err("the price list is down for item 3".to_owned())
        );
        assert_eq!(
            caches.persistent().get::<u64>("price:3").await.unwrap(),
            None
        );
        assert_eq!(price(3, false, &loads).await, Ok(300), "loaded again");
        assert_eq!(count(&loads), 2);
        assert_eq!(
            price(3, true, &loads).await,
            Ok(300),
            "a hit: the loader does not run"
        );
        assert_eq!(count(&loads), 2);

        assert!(parsed("x", &loads).await.is_err());
        assert_eq!(parsed(" 12", &loads).await, Ok(12));
        assert_eq!(parsed(" 12", &loads).await, Ok(12));
        assert_eq!(count(&loads), 4, "the error and the first success loaded");
    }
}

#[tokio::test]
async fn a_method_is_cached_by_its_arguments() {
    let (_guard, caches) = Backing::InProcess.install("method").await;
    let catalogue = Catalogue {
        label: "volume".into(),
        loads: AtomicUsize::new(0),
    };
    assert_eq!(catalogue.title(1).await.unwrap(), "volume 1");
    assert_eq!(catalogue.title(1).await.unwrap(), "volume 1");
    assert_eq!(catalogue.loads.load(Ordering::SeqCst), 1);
    assert_eq!(
        caches
            .memory()
            .get::<String>("title:1")
            .await
            .unwrap()
            .as_deref(),
        Some("volume 1")
    );
}

#[tokio::test]
async fn with_caching_disabled_every_call_loads() {
    let (_guard, _caches) = Backing::InProcess.install("disabled").await;
    // CACHE_ENABLED=false: the same functions, no caching at all.
    service_cache::configure_caches(&service_cache::CacheSettings {
        enabled: false,
        ..service_cache::CacheSettings::default()
    });
    let loads = AtomicUsize::new(0);
    user(1, &loads).await.unwrap();
    user(1, &loads).await.unwrap();
    assert_eq!(count(&loads), 2);
}
