//! Filling the cache from a loader so that the fill never outlives a write: the load
//! takes a lease before it starts, and its value is stored only while no write or
//! invalidation has voided the lease (see [`lease`](crate::lease) and, on Redis, across
//! instances, `redis/lease.rs`).
//!
//! Every loader runs through here: cache-aside ([`Cache::get_or_set_with`] and its
//! siblings), the read-through machine's loads and its background refreshes, and so the
//! endpoint cache. Callers that wait for another caller's load (single flight) get its
//! value only if it was stored or could have been: a voided load may predate a write
//! they were told of before they asked, so they load for themselves.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::read_through::CachedValue;
use super::{Cache, MAX_TTL, log_swallowed};
use crate::CacheError;
use crate::policy::Policy;
use crate::stats::Operation;
use crate::store::{FillLease, Filled};

impl Cache {
    /// `loader`'s value for `key`, loaded once per process however many callers miss the
    /// key together, and stored under `policy` unless a write voided its lease; with
    /// whether this call's loader made it (else another caller's did).
    pub(super) async fn load_once<V, F, Fut, E>(
        &self,
        key: &str,
        policy: &Policy,
        loader: F,
    ) -> Result<(V, bool), E>
    where
        V: CachedValue,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let mut loaded_here = false;
        let ran = &mut loaded_here;
        let value = self
            .inner
            .flights
            .run(key, move || async move {
                let lease = self.lease(key, policy).await;
                let value = loader().await?;
                *ran = true;
                let shared = self.store_loaded(lease, key, &value, policy).await;
                Ok((value, shared))
            })
            .await?;
        Ok((value, loaded_here))
    }

    /// `loader`'s value for `key`, stored under `policy` unless a write voided its lease,
    /// without reading the key first and without joining another caller's load: the
    /// endpoint cache's answer to a request that says `Cache-Control: no-cache`, which
    /// asks for a value made after it was sent.
    ///
    /// # Errors
    /// Only the loader's error.
    #[cfg(feature = "actix")]
    pub(crate) async fn reload<V, F, Fut, E>(
        &self,
        key: &str,
        policy: &Policy,
        loader: F,
    ) -> Result<V, E>
    where
        V: CachedValue,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let lease = self.lease(key, policy).await;
        let value = loader().await?;
        self.store_loaded(lease, key, &value, policy).await;
        Ok(value)
    }

    /// The lease a load of `key` under `policy` takes before it starts.
    pub(super) async fn lease(&self, key: &str, policy: &Policy) -> FillLease {
        let ttl = self.stored_ttl(policy).unwrap_or(self.inner.default_ttl);
        self.inner.store.lease(key, policy.tags(), ttl).await
    }

    /// Stores a loaded value under `policy` if `lease` still holds. A failure is logged,
    /// not returned: the caller has its value either way. Answers whether callers that
    /// waited for the load may have the value: not when a write voided the lease.
    pub(super) async fn store_loaded<V: CachedValue>(
        &self,
        lease: FillLease,
        key: &str,
        value: &V,
        policy: &Policy,
    ) -> bool {
        let ttl = match value.fresh_for() {
            // The value's own fresh period, with the policy's stale windows after it.
            Some(fresh) => self
                .effective_ttl(Some(fresh))
                .map(|fresh| policy.stored_for(fresh).min(MAX_TTL)),
            None => self.stored_ttl(policy),
        };
        let result = match (value.encode(), ttl) {
            (Ok(json), Ok(ttl)) => {
                self.inner
                    .store
                    .fill(lease, key, &json, ttl, policy.tags())
                    .await
            }
            (Err(error), _) => Err(CacheError::Encode(error)),
            (_, Err(error)) => Err(error),
        };
        match self.counted(Operation::Set, result) {
            Ok(Filled::Stored) => true,
            Ok(Filled::Voided) => {
                self.inner.voided_fills.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    alias = %self.alias(), key,
                    "a write came while loading; the loaded value is answered but not stored"
                );
                false
            }
            // The store checks the lease in this process before it can fail, so no write
            // here voided it; one elsewhere could not reach this instance either.
            Err(error) => {
                log_swallowed(self.alias(), "set", key, &error);
                true
            }
        }
    }

    /// The TTL an entry written under `policy` is stored with: its fresh period (or the
    /// default) plus its stale windows, capped at [`MAX_TTL`].
    pub(super) fn stored_ttl(&self, policy: &Policy) -> Result<Duration, CacheError> {
        let fresh = self.effective_ttl(policy.fresh_for())?;
        Ok(policy.stored_for(fresh).min(MAX_TTL))
    }

    /// Loads that were answered but not stored because a write came while they ran.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.memory().voided_fills(), 0);
    /// ```
    pub fn voided_fills(&self) -> u64 {
        self.inner.voided_fills.load(Ordering::Relaxed)
    }
}
