//! Which backend serves an alias, and the one place that routes each operation to it.
//!
//! The backends share method names and signatures, so routing is a `match` (via the
//! `route!` macro) rather than a trait object: no boxed futures on the hot path.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::CacheError;
use super::memory::MemoryStore;
#[cfg(feature = "redis")]
use super::redis::RedisStore;

/// What an alias keeps its values in.
///
/// ```
/// use service_cache::{Backend, CacheSettings, Caches};
///
/// let caches = Caches::from_settings(&CacheSettings::default());
/// assert_eq!(caches.persistent().backend(), Backend::Memory);
/// assert_eq!(Backend::Memory.to_string(), "memory");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A bounded store inside this process.
    Memory,
    #[cfg(feature = "redis")]
    /// The Redis server from `CACHE_REDIS_URL` or `CACHE_REDIS_HOST`.
    Redis,
    /// `CACHE_ENABLED=false`: nothing is stored, every read misses.
    Disabled,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Backend::Memory => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis => "redis",
            Backend::Disabled => "disabled",
        })
    }
}

/// One alias's backend.
pub(super) enum Store {
    /// Caching is switched off.
    Disabled,
    /// In-process.
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    /// Redis; boxed because it is much larger than the others and only ever built once.
    Redis(Box<RedisStore>),
}

/// Calls the same method on whichever backend `$store` is; `Disabled` yields `$disabled`.
macro_rules! route {
    ($store:expr, $backend:ident => $call:expr, disabled => $disabled:expr) => {
        match $store {
            Store::Disabled => $disabled,
            Store::Memory($backend) => $call,
            #[cfg(feature = "redis")]
            Store::Redis($backend) => $call,
        }
    };
}

impl Store {
    pub(super) fn backend(&self) -> Backend {
        route!(self, store => store.backend(), disabled => Backend::Disabled)
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        route!(self, store => store.get(key).await, disabled => Ok(None))
    }

    /// The value under `key` and the time it has left (`None`: no expiry).
    pub(super) async fn get_with_ttl(
        &self,
        key: &str,
    ) -> Result<Option<(Arc<str>, Option<Duration>)>, CacheError> {
        route!(self, store => store.get_with_ttl(key).await, disabled => Ok(None))
    }

    /// The text as the backend holds it, even if it is not JSON (only Redis can hold
    /// such text), bypassing any L1.
    pub(super) async fn get_text(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        match self {
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.get_text(key).await,
            Store::Disabled | Store::Memory(_) => self.get(key).await,
        }
    }

    pub(super) async fn set(&self, key: &str, json: &str, ttl: Duration) -> Result<(), CacheError> {
        route!(self, store => store.set(key, json, ttl).await, disabled => Ok(()))
    }

    pub(super) async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        route!(self, store => store.delete(key).await, disabled => Ok(false))
    }

    pub(super) async fn remove_if_unchanged(
        &self,
        key: &str,
        json: &Arc<str>,
    ) -> Result<(), CacheError> {
        route!(self, store => store.remove_if_unchanged(key, json).await, disabled => Ok(()))
    }

    pub(super) async fn delete_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        route!(self, store => store.delete_matching(pattern).await, disabled => Ok(0))
    }

    pub(super) async fn clear(&self) -> Result<u64, CacheError> {
        route!(self, store => store.clear().await, disabled => Ok(0))
    }

    pub(super) async fn clear_all_versions(&self) -> Result<u64, CacheError> {
        route!(self, store => store.clear_all_versions().await, disabled => Ok(0))
    }

    /// Records that `key`, just written for `ttl`, carries `tags`.
    pub(super) async fn tag(
        &self,
        key: &str,
        tags: &[String],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        route!(self, store => store.tag(key, tags, ttl).await, disabled => Ok(()))
    }

    pub(super) async fn invalidate_tag(&self, tag: &str) -> Result<u64, CacheError> {
        route!(self, store => store.invalidate_tag(tag).await, disabled => Ok(0))
    }

    /// Reads answered by an L1 in front of the backend (only Redis has one).
    pub(super) fn l1_hits(&self) -> u64 {
        match self {
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.l1_hits(),
            Store::Disabled | Store::Memory(_) => 0,
        }
    }

    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        route!(self, store => store.ping().await, disabled => Ok(()))
    }

    pub(super) async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        route!(self, store => store.exists(key).await, disabled => Ok(false))
    }

    /// Disabled: every call sees a fresh counter, so it answers `by`.
    pub(super) async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        route!(self, store => store.incr(key, by, ttl).await, disabled => Ok(by))
    }

    pub(super) async fn add(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        route!(self, store => store.add(key, json, ttl).await, disabled => Ok(false))
    }

    pub(super) async fn take(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        route!(self, store => store.take(key).await, disabled => Ok(None))
    }

    /// Entries held in this process; `None` when they live elsewhere.
    pub(super) fn entries(&self) -> Option<u64> {
        match self {
            Store::Memory(store) => Some(store.entry_count()),
            _ => None,
        }
    }

    #[cfg(feature = "redis")]
    /// The backend's own series for `/metrics`.
    pub(super) fn metrics(&self) -> Vec<prometheus::proto::MetricFamily> {
        match self {
            Store::Redis(store) => store.metrics(),
            _ => Vec::new(),
        }
    }
}
