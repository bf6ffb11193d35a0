//! Batches, TTLs of keys and locks with an owner, on every backend that
//! `on_each_backend!` (from `cache.rs`) runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::cache::{Backing, on_each_backend};

on_each_backend!(
    get_many_keeps_the_order_asked_and_misses_absent_keys,
    set_many_with_a_ttl_expires_every_entry,
    delete_many_counts_what_existed,
    ttl_tells_the_time_left_and_expire_replaces_it,
    a_lapsed_guard_does_not_release_the_next_owners_lock,
    a_waiter_gets_a_lock_released_within_its_wait,
    contending_tasks_never_hold_one_lock_together,
);

const HOUR: Duration = Duration::from_secs(3600);

async fn get_many_keeps_the_order_asked_and_misses_absent_keys(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent();
    cache.set("b", &2, Some(HOUR)).await.unwrap();
    cache.set("d", &4, Some(HOUR)).await.unwrap();
    cache
        .set_raw("text", "\"not a number\"", None)
        .await
        .unwrap();
    // Read once, so that on Redis the L1 answers it next time.
    assert_eq!(cache.get::<u32>("d").await.unwrap(), Some(4));
    let stats = cache.stats();
    let values: Vec<Option<u32>> = cache.get_many(&["d", "a", "b", "text", "c"]).await.unwrap();
    assert_eq!(values, [Some(4), None, Some(2), None, None]);
    let after = cache.stats();
    assert_eq!(after.hits - stats.hits, 2);
    assert_eq!(after.misses - stats.misses, 3);
    let none: Vec<Option<u32>> = cache.get_many(&[]).await.unwrap();
    assert!(none.is_empty());
}

async fn set_many_with_a_ttl_expires_every_entry(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent();
    let entries: Vec<(String, u32)> = (0..20).map(|n| (format!("page:{n}"), n)).collect();
    let borrowed: Vec<(&str, u32)> = entries
        .iter()
        .map(|(key, value)| (key.as_str(), *value))
        .collect();
    cache
        .set_many(&borrowed, Some(Duration::from_millis(300)))
        .await
        .unwrap();
    let keys: Vec<&str> = borrowed.iter().map(|(key, _)| *key).collect();
    let values: Vec<Option<u32>> = cache.get_many(&keys).await.unwrap();
    assert_eq!(values, (0..20).map(Some).collect::<Vec<_>>());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let values: Vec<Option<u32>> = cache.get_many(&keys).await.unwrap();
    assert!(values.iter().all(Option::is_none), "{values:?}");
}

async fn delete_many_counts_what_existed(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent();
    cache
        .set_many(&[("x", 1), ("y", 2), ("z", 3)], None)
        .await
        .unwrap();
    assert_eq!(cache.delete_many(&["x", "z", "never"]).await.unwrap(), 2);
    let values: Vec<Option<u32>> = cache.get_many(&["x", "y", "z"]).await.unwrap();
    assert_eq!(values, [None, Some(2), None]);
    assert_eq!(cache.delete_many(&[]).await.unwrap(), 0);
}

async fn ttl_tells_the_time_left_and_expire_replaces_it(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent();
    assert_eq!(cache.ttl("missing").await.unwrap(), None);
    assert!(!cache.expire("missing", HOUR).await.unwrap());
    cache
        .set("k", &1, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let left = cache.ttl("k").await.unwrap().unwrap();
    assert!(
        left <= Duration::from_secs(60) && left > Duration::from_secs(50),
        "{left:?}"
    );
    assert!(cache.expire("k", Duration::from_millis(200)).await.unwrap());
    let left = cache.ttl("k").await.unwrap().unwrap();
    assert!(left <= Duration::from_millis(200), "{left:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.get::<u32>("k").await.unwrap(), None, "expired");
    assert_eq!(cache.ttl("k").await.unwrap(), None);
}

async fn a_lapsed_guard_does_not_release_the_next_owners_lock(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent();
    let first = cache
        .lock("job", Duration::from_millis(200), Duration::ZERO)
        .await
        .unwrap()
        .expect("free");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let second = cache
        .lock("job", HOUR, Duration::ZERO)
        .await
        .unwrap()
        .expect("the first lease lapsed");
    assert!(!first.extend(HOUR).await.unwrap(), "not the owner any more");
    assert!(!first.release().await.unwrap(), "not the owner any more");
    assert!(
        cache
            .lock("job", HOUR, Duration::from_millis(50))
            .await
            .unwrap()
            .is_none(),
        "the second owner still holds it"
    );
    assert!(second.extend(HOUR).await.unwrap());
    assert!(second.release().await.unwrap());
}

async fn a_waiter_gets_a_lock_released_within_its_wait(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent().clone();
    let held = cache
        .lock("report", HOUR, Duration::ZERO)
        .await
        .unwrap()
        .expect("free");
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .lock("report", HOUR, Duration::from_secs(5))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Dropping the guard releases the lock in the background.
    drop(held);
    let guard = waiter.await.unwrap().expect("released within the wait");
    assert!(guard.release().await.unwrap());
}

async fn contending_tasks_never_hold_one_lock_together(backing: Backing) {
    let caches = backing.caches(&[]);
    let cache = caches.persistent().clone();
    let inside = Arc::new(AtomicBool::new(false));
    let entered = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (cache, inside, entered) = (cache.clone(), inside.clone(), entered.clone());
        tasks.spawn(async move {
            let guard = cache
                .lock("counter", Duration::from_secs(10), Duration::from_secs(30))
                .await
                .unwrap()
                .expect("every task gets its turn within the wait");
            assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
            tokio::time::sleep(Duration::from_millis(10)).await;
            inside.store(false, Ordering::SeqCst);
            entered.fetch_add(1, Ordering::SeqCst);
            assert!(guard.release().await.unwrap());
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.unwrap();
    }
    assert_eq!(entered.load(Ordering::SeqCst), 16);
}
