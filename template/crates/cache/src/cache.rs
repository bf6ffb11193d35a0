//! [`Cache`]: one alias's operations, whatever its backend, returning `Result` for the
//! callers who want to see errors, and counting hits, misses and errors as they go.
//!
//! This file holds the handle itself, its statistics and the helpers every operation
//! shares (TTLs, counting, writing); the operations are grouped by idea in `cache/`:
//! - `typed`: get, set and delete a serde value;
//! - `json_text`: the same as JSON text, undecoded;
//! - `atomic`: exists, counters, store-if-absent, read-and-delete;
//! - `batch`: many keys in one round trip;
//! - `expiry`: the time a key has left, and a new one;
//! - `lock`: locks with an owner;
//! - `tags`: writes with a policy's tags, and invalidating a tag;
//! - `maintenance`: pattern deletes, clearing the alias, pinging the backend;
//! - `cache_aside`: the value or a loader's, one load per key;
//! - `fill`: storing a loader's value only while no write has come since it began;
//! - `delivery`: sending the invalidations Redis did not take, once it answers;
//! - `read_through`: the freshness state machine (fresh, stale, stale-if-error) shared by
//!   cache-aside with a policy and the endpoint cache.

mod atomic;
mod batch;
mod cache_aside;
mod delivery;
mod expiry;
mod fill;
mod json_text;
mod lock;
mod maintenance;
mod read_through;
mod tags;
mod typed;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

pub use lock::LockGuard;
#[cfg(feature = "actix")]
pub(crate) use read_through::{Answer, JsonText};

use super::policy::Policy;
use super::refresh::Refreshes;
use super::single_flight::SingleFlight;
use super::stats::{Counters, Operation, Outcome, StaleCounters, StaleStats};
use super::store::{Backing, Store};
use super::{Alias, Backend, CacheError, CacheStats};

/// The longest TTL an entry gets; longer ones (`Duration::MAX` for "forever") are
/// shortened to it. Ten years is forever for a cache, and far from where Redis's or
/// `Instant`'s arithmetic would overflow.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::MAX_TTL;
///
/// assert_eq!(MAX_TTL, Duration::from_secs(10 * 365 * 24 * 60 * 60));
/// ```
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// One alias's cache: get it from [`Caches`](super::Caches).
///
/// Keys are the caller's own strings; the backend stores them under `CACHE_PREFIX`.
/// Values are any serde type, stored as JSON. A TTL of `None` means the alias's default
/// ([`Cache::default_ttl`]); TTLs are kept to the millisecond (rounded up) and capped at
/// [`MAX_TTL`]. Cloning is cheap and every clone is the same cache.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::{CacheSettings, Caches};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let caches = Caches::from_settings(&CacheSettings::default());
/// let cache = caches.memory();
///
/// cache.set("user:42", &vec!["admin", "staff"], Some(Duration::from_secs(60))).await?;
/// let roles: Option<Vec<String>> = cache.get("user:42").await?;
/// assert_eq!(roles, Some(vec!["admin".to_owned(), "staff".to_owned()]));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    /// Shared by every clone.
    inner: Arc<Inner>,
}

/// What a [`Cache`] and its clones share.
struct Inner {
    /// Which alias this is.
    alias: Alias,
    /// TTL of entries written without one.
    default_ttl: Duration,
    /// Where the values live.
    store: Store,
    /// Hits, misses and errors since the cache was built.
    counters: Counters,
    /// Loads in progress for cache-aside and read-through, one per key.
    flights: SingleFlight,
    /// Background refreshes of stale entries in progress, one per key.
    refreshes: Refreshes,
    /// How stale entries were used.
    stale: StaleCounters,
    /// Loads not stored because a write came while they ran.
    voided_fills: AtomicU64,
    /// Whether a background delivery of pending invalidations runs.
    delivering: AtomicBool,
}

impl Cache {
    pub(super) fn new(alias: Alias, default_ttl: Duration, backing: Backing) -> Self {
        let inner = Inner {
            alias,
            default_ttl,
            store: Store::new(backing),
            counters: Counters::default(),
            flights: SingleFlight::default(),
            refreshes: Refreshes::default(),
            stale: StaleCounters::default(),
            voided_fills: AtomicU64::new(0),
            delivering: AtomicBool::new(false),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// How stale entries were used so far (see [`Cache::get_or_refresh_with`]).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.memory().stale_stats().refreshes, 0);
    /// ```
    pub fn stale_stats(&self) -> StaleStats {
        self.inner.stale.snapshot()
    }

    /// Hits, misses, errors and L1 hits counted so far.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, CacheStats, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.get::<u8>("nothing").await?;
    /// cache.set("something", &1, None).await?;
    /// cache.get::<u8>("something").await?;
    /// assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1, errors: 0, l1_hits: 0 });
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            l1_hits: self.inner.store.l1_hits(),
            ..self.inner.counters.snapshot()
        }
    }

    /// How often `operation` ended with `outcome` so far (`/metrics` exports these).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches, Operation, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.set("a", &1, None).await?;
    /// assert_eq!(cache.operations(Operation::Set, Outcome::Ok), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn operations(&self, operation: Operation, outcome: Outcome) -> u64 {
        self.inner.counters.count(operation, outcome)
    }

    /// Entries held in this process, expired ones not yet evicted included; `None` when
    /// the values live elsewhere (Redis) or caching is off.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set("a", &1, None).await?;
    /// assert_eq!(caches.memory().entries(), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn entries(&self) -> Option<u64> {
        self.inner.store.entries()
    }

    #[cfg(feature = "redis")]
    /// The backend's own series for `/metrics` (Redis: command durations, breaker
    /// state, reconnects); none for the in-process store.
    pub fn backend_metrics(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.inner.store.metrics()
    }

    /// Where this alias keeps its values.
    ///
    /// ```
    /// # use service_cache::{Backend, CacheSettings, Caches};
    /// let settings = CacheSettings { enabled: false, ..CacheSettings::default() };
    /// assert_eq!(Caches::from_settings(&settings).memory().backend(), Backend::Disabled);
    /// ```
    pub fn backend(&self) -> Backend {
        self.inner.store.backend()
    }

    /// Which alias this is.
    ///
    /// ```
    /// # use service_cache::{Alias, CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.get(Alias::Persistent).alias(), Alias::Persistent);
    /// ```
    pub fn alias(&self) -> Alias {
        self.inner.alias
    }

    /// The TTL of entries written without one (`CACHE_DEFAULT_TTL` for `memory`,
    /// `CACHE_PERSISTENT_TTL` for `persistent`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.memory().default_ttl(), Duration::from_secs(300));
    /// assert_eq!(caches.persistent().default_ttl(), Duration::from_secs(3600));
    /// ```
    pub fn default_ttl(&self) -> Duration {
        self.inner.default_ttl
    }

    /// Reads the stored JSON, counting absences as misses and failures as errors
    /// (the caller counts the hit once it knows the value is usable).
    async fn read(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let result = self.inner.store.get(key).await;
        self.count_read(result)
    }

    /// Counts a read's miss or error (a hit is counted once the value is known to be
    /// usable).
    fn count_read(
        &self,
        result: Result<Option<Arc<str>>, CacheError>,
    ) -> Result<Option<Arc<str>>, CacheError> {
        if let Ok(None) = result {
            self.inner.counters.miss(Operation::Get);
        }
        self.counted(Operation::Get, result)
    }

    /// A stored value that does not decode is a miss: logged, and removed (only if it is
    /// still the same value) so that the next write replaces it cleanly.
    async fn discard_undecodable(&self, key: &str, json: &Arc<str>, error: &serde_json::Error) {
        self.inner.counters.miss(Operation::Get);
        tracing::warn!(
            alias = %self.alias(), key, %error,
            "a cached value is not JSON or no longer decodes as the requested type; treating it as a miss and removing it"
        );
        if let Err(error) = self.inner.store.remove_if_unchanged(key, json).await {
            self.inner.counters.error(Operation::Delete);
            log_swallowed(self.alias(), "remove undecodable value", key, &error);
        }
    }

    async fn write(&self, key: &str, json: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        let ttl = self.effective_ttl(ttl)?;
        self.inner.store.set(key, json, ttl).await
    }

    /// Writes `json` for `policy`'s fresh period plus its stale window, then its tags.
    async fn write_with(&self, key: &str, json: &str, policy: &Policy) -> Result<(), CacheError> {
        let ttl = self.stored_ttl(policy)?;
        self.inner.store.set(key, json, ttl).await?;
        if policy.tags().is_empty() {
            return Ok(());
        }
        self.inner.store.tag(key, policy.tags(), ttl).await
    }

    /// `ttl` or the default, rounded up to whole milliseconds (Redis's resolution, so a
    /// TTL means the same on every backend) and capped at [`MAX_TTL`].
    fn effective_ttl(&self, ttl: Option<Duration>) -> Result<Duration, CacheError> {
        let ttl = ttl.unwrap_or(self.inner.default_ttl);
        if ttl.is_zero() {
            return Err(CacheError::ZeroTtl);
        }
        let millis = u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        Ok(Duration::from_millis(millis).min(MAX_TTL))
    }

    /// Counts how `operation` ended and passes its result on.
    fn counted<T>(
        &self,
        operation: Operation,
        result: Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        self.inner.counters.finished(operation, result.is_ok());
        if let Err(CacheError::Queued(_)) = &result {
            self.deliver_in_background();
        }
        result
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("alias", &self.alias())
            .field("backend", &self.backend())
            .field("default_ttl", &self.default_ttl())
            .finish_non_exhaustive()
    }
}

/// Logs an error that a fail-open caller carries on from. Failures while Redis is
/// known to be down are only debug lines: the outage itself was logged once, when it
/// began.
pub(crate) fn log_swallowed(alias: Alias, action: &str, key: &str, error: &CacheError) {
    let cause = match error {
        CacheError::Queued(cause) => cause,
        error => error,
    };
    if matches!(cause, CacheError::Backoff(_)) {
        tracing::debug!(%alias, action, key, %error, "cache operation skipped; carrying on without the cache");
    } else {
        tracing::warn!(%alias, action, key, %error, "cache operation failed; carrying on without the cache");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Cache, MAX_TTL};
    use crate::store::Backing;
    use crate::{Alias, CacheError};

    fn disabled(default_ttl: Duration) -> Cache {
        Cache::new(Alias::Memory, default_ttl, Backing::Disabled)
    }

    #[test]
    fn ttls_round_up_to_milliseconds_and_are_capped() {
        let cache = disabled(Duration::from_secs(5));
        assert_eq!(cache.effective_ttl(None).unwrap(), Duration::from_secs(5));
        assert_eq!(
            cache.effective_ttl(Some(Duration::from_micros(1))).unwrap(),
            Duration::from_millis(1)
        );
        assert_eq!(
            cache
                .effective_ttl(Some(Duration::from_micros(1_500)))
                .unwrap(),
            Duration::from_millis(2)
        );
        assert_eq!(cache.effective_ttl(Some(Duration::MAX)).unwrap(), MAX_TTL);
        assert!(matches!(
            cache.effective_ttl(Some(Duration::ZERO)),
            Err(CacheError::ZeroTtl)
        ));
    }

    #[tokio::test]
    async fn failed_operations_count_as_errors_not_misses() {
        let cache = disabled(Duration::from_secs(5));
        assert!(cache.set("key", &1, Some(Duration::ZERO)).await.is_err());
        assert!(cache.set_raw("key", "not json", None).await.is_err());
        let mut unencodable = std::collections::HashMap::new();
        unencodable.insert(vec![1u8], 1);
        assert!(matches!(
            cache.set("key", &unencodable, None).await,
            Err(CacheError::Encode(_))
        ));
        assert_eq!(cache.get::<u8>("key").await.unwrap(), None);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.errors), (0, 1, 3));
    }
}
