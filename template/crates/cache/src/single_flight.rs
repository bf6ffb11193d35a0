//! One load per key at a time: when many callers miss the same key together, the first
//! runs its loader and the others wait for its value instead of stampeding the
//! database behind the cache.
//!
//! Each key in flight has a `tokio::sync::Mutex` holding the value once it is loaded.
//! The first caller to lock it loads; the others queue on the lock (fairly, in arrival
//! order) and, once the value is there, take a clone of it. A failed or cancelled load
//! stores nothing, so the next waiter runs its own loader: one failure is returned to one
//! caller, not to everyone. Neither does a load its loader says not to share (a write
//! voided its fill lease, so a waiter that arrived after the write must not get it). The entry is removed when the last caller leaves, so a
//! finished load never serves a stale value to a later caller.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// A loaded value, type-erased so one map serves every value type.
type Loaded = Arc<dyn Any + Send + Sync>;

/// One key's load, shared by the callers that miss it together: they queue on the lock,
/// and it holds `None` until some caller's loader succeeds.
type SharedLoad = tokio::sync::Mutex<Option<Loaded>>;

/// The keys being loaded right now, for one alias.
#[derive(Debug, Default)]
pub(super) struct SingleFlight {
    /// Key → its load, present while at least one caller is inside [`SingleFlight::run`].
    in_flight: Mutex<HashMap<String, Arc<SharedLoad>>>,
}

impl SingleFlight {
    /// Returns the value another caller loaded for `key`, or loads it with `load`, which
    /// answers the value and whether the callers waiting for it may have it too.
    pub(super) async fn run<T, E, F, Fut>(&self, key: &str, load: F) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, bool), E>>,
    {
        let guard = self.join(key);
        let mut loaded = guard.load().lock().await;
        // Another type under the same key at the same moment is odd but legal: that
        // caller simply loads for itself.
        if let Some(value) = loaded.as_ref().and_then(|value| value.downcast_ref::<T>()) {
            return Ok(value.clone());
        }
        let (value, shared) = load().await?;
        if shared {
            *loaded = Some(Arc::new(value.clone()));
        }
        Ok(value)
    }

    /// Number of keys in flight (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Joins `key`'s load, registering it if no caller holds one.
    fn join(&self, key: &str) -> LoadGuard<'_> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let load = in_flight.entry(key.to_owned()).or_default().clone();
        LoadGuard {
            owner: self,
            key: key.to_owned(),
            load: Some(load),
        }
    }
}

/// One caller's hold on a key's [`SharedLoad`]; dropping it (even by cancellation)
/// forgets the load once no caller holds it.
struct LoadGuard<'a> {
    /// The map the load is registered in.
    owner: &'a SingleFlight,
    /// The key it is registered under.
    key: String,
    /// Always `Some` until dropped.
    load: Option<Arc<SharedLoad>>,
}

impl LoadGuard<'_> {
    fn load(&self) -> &SharedLoad {
        self.load
            .as_deref()
            .expect("a guard holds its load until it is dropped")
    }
}

impl Drop for LoadGuard<'_> {
    fn drop(&mut self) {
        // Every clone and drop of a load's Arc happens under the map's lock, so the
        // count read here is exact: 2 means only the map and this guard are left.
        let mut in_flight = self
            .owner
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(mine) = self.load.take() else {
            return;
        };
        let last = Arc::strong_count(&mine) == 2;
        if last
            && in_flight
                .get(&self.key)
                .is_some_and(|registered| Arc::ptr_eq(registered, &mine))
        {
            in_flight.remove(&self.key);
        }
        drop(mine);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::SingleFlight;

    #[tokio::test]
    async fn concurrent_callers_share_one_load() {
        let flights = Arc::new(SingleFlight::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (flights, loads) = (flights.clone(), loads.clone());
            callers.spawn(async move {
                flights
                    .run("key", || async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        // Long enough for every caller to queue behind this one.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, ()>((vec![1, 2, 3], true))
                    })
                    .await
            });
        }
        while let Some(result) = callers.join_next().await {
            assert_eq!(result.unwrap(), Ok(vec![1, 2, 3]));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0, "the finished flight is forgotten");
    }

    #[tokio::test]
    async fn a_failed_load_is_retried_by_the_next_caller_only() {
        let flights = Arc::new(SingleFlight::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (flights, loads) = (flights.clone(), loads.clone());
            callers.spawn(async move {
                flights
                    .run("key", || async {
                        let attempt = loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        if attempt == 0 {
                            Err("database hiccup")
                        } else {
                            Ok((attempt, true))
                        }
                    })
                    .await
            });
        }
        let mut results = Vec::new();
        while let Some(result) = callers.join_next().await {
            results.push(result.unwrap());
        }
        assert_eq!(results.iter().filter(|result| result.is_err()).count(), 1);
        assert_eq!(results.iter().filter(|result| **result == Ok(1)).count(), 9);
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn different_keys_load_independently_and_later_calls_load_again() {
        let flights = SingleFlight::default();
        let a = flights
            .run("a", || async { Ok::<_, ()>(("first", true)) })
            .await;
        let b = flights
            .run("b", || async { Ok::<_, ()>(("other", true)) })
            .await;
        let again = flights
            .run("a", || async { Ok::<_, ()>(("second", true)) })
            .await;
        assert_eq!((a, b, again), (Ok("first"), Ok("other"), Ok("second")));
    }

    #[tokio::test]
    async fn a_cancelled_load_leaves_nothing_behind() {
        let flights = SingleFlight::default();
        let slow = flights.run("key", || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, ()>((1, true))
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(10), slow)
                .await
                .is_err()
        );
        assert_eq!(flights.len(), 0);
        assert_eq!(
            flights
                .run("key", || async { Ok::<_, ()>((2, true)) })
                .await,
            Ok(2)
        );
    }

    #[tokio::test]
    async fn waiters_load_for_themselves_when_a_load_is_not_to_be_shared() {
        let flights = Arc::new(SingleFlight::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let (flights, loads) = (flights.clone(), loads.clone());
            callers.spawn(async move {
                flights
                    .run("key", || async {
                        let attempt = loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        // The first load was overtaken by a write: not for the others.
                        Ok::<_, ()>((attempt, attempt > 0))
                    })
                    .await
            });
        }
        let mut results = Vec::new();
        while let Some(result) = callers.join_next().await {
            results.push(result.unwrap().unwrap());
        }
        results.sort_unstable();
        assert_eq!(
            results,
            [0, 1, 1],
            "the second load is shared with the third caller"
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }
}
