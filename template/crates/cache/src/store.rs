//! Which backend serves an alias, and the one place that routes each operation to it.
//!
//! The backends share method names and signatures, so routing is a `match` (via the
//! `route!` macro) rather than a trait object: no boxed futures on the hot path.
//!
//! Every write and invalidation passes here, so this is also where they void the fill
//! leases they concern ([`lease`](super::lease)) before the backend sees them, and where
//! a load's value is stored only while its leases hold ([`Store::fill`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::CacheError;
use super::lease::{Lease, Leases};
use super::memory::MemoryStore;
#[cfg(feature = "redis")]
use super::redis::{RedisLease, RedisStore};

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

/// One alias's backend, and the leases of the loads in flight for it.
pub(super) struct Store {
    backing: Backing,
    leases: Leases,
}

/// Where one alias's values live.
pub(super) enum Backing {
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
            Backing::Disabled => $disabled,
            Backing::Memory($backend) => $call,
            #[cfg(feature = "redis")]
            Backing::Redis($backend) => $call,
        }
    };
}

/// A load's right to store its result: in this process, and on Redis across instances
/// when the alias is there. Take it before the load starts.
pub(super) struct FillLease {
    local: Lease,
    #[cfg(feature = "redis")]
    remote: Option<RedisLease>,
}

/// How a load's store ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Filled {
    /// Stored (or, caching off, nothing voided the lease).
    Stored,
    /// A write voided the lease while the load ran: the value may predate it, and was
    /// not stored.
    Voided,
}

impl Store {
    pub(super) fn new(backing: Backing) -> Self {
        Self {
            backing,
            leases: Leases::default(),
        }
    }

    pub(super) fn backend(&self) -> Backend {
        route!(&self.backing, store => store.backend(), disabled => Backend::Disabled)
    }

    /// A lease for a load of `key`, whose value will carry `tags` and be stored for about
    /// `ttl`: take it before the load starts. On Redis this also takes the key's lease
    /// there and records the tags, so that an invalidation from any instance voids it.
    pub(super) async fn lease(&self, key: &str, tags: &[String], ttl: Duration) -> FillLease {
        let local = self.leases.grant(key, tags);
        #[cfg(feature = "redis")]
        let remote = match &self.backing {
            Backing::Redis(store) => Some(store.lease(key, tags, ttl).await),
            _ => None,
        };
        #[cfg(not(feature = "redis"))]
        let _ = ttl;
        FillLease {
            local,
            #[cfg(feature = "redis")]
            remote,
        }
    }

    /// Stores a load's `json` under `key` for `ttl` with `tags`, unless a write voided
    /// its `lease` meanwhile (checked and stored in one step).
    pub(super) async fn fill(
        &self,
        lease: FillLease,
        key: &str,
        json: &str,
        ttl: Duration,
        tags: &[String],
    ) -> Result<Filled, CacheError> {
        let filled = |stored| {
            if stored {
                Filled::Stored
            } else {
                Filled::Voided
            }
        };
        match &self.backing {
            Backing::Disabled => Ok(filled(lease.local.holds())),
            Backing::Memory(store) => Ok(filled(
                lease
                    .local
                    .store_if_held(|| store.fill(key, json, ttl, tags)),
            )),
            #[cfg(feature = "redis")]
            Backing::Redis(store) => {
                // A write in this process voided it: no need to ask Redis.
                if !lease.local.holds() {
                    return Ok(Filled::Voided);
                }
                match lease.remote {
                    Some(remote) => store.fill(key, json, ttl, remote).await.map(filled),
                    None => Ok(Filled::Voided),
                }
            }
        }
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        route!(&self.backing, store => store.get(key).await, disabled => Ok(None))
    }

    /// The value under `key` and the time it has left (`None`: no expiry).
    pub(super) async fn get_with_ttl(
        &self,
        key: &str,
    ) -> Result<Option<(Arc<str>, Option<Duration>)>, CacheError> {
        route!(&self.backing, store => store.get_with_ttl(key).await, disabled => Ok(None))
    }

    /// The text as the backend holds it, even if it is not JSON (only Redis can hold
    /// such text), bypassing any L1.
    pub(super) async fn get_text(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        match &self.backing {
            #[cfg(feature = "redis")]
            Backing::Redis(store) => store.get_text(key).await,
            Backing::Disabled | Backing::Memory(_) => self.get(key).await,
        }
    }

    pub(super) async fn set(&self, key: &str, json: &str, ttl: Duration) -> Result<(), CacheError> {
        self.leases.void_key(key);
        route!(&self.backing, store => store.set(key, json, ttl).await, disabled => Ok(()))
    }

    pub(super) async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.leases.void_key(key);
        route!(&self.backing, store => store.delete(key).await, disabled => Ok(false))
    }

    pub(super) async fn remove_if_unchanged(
        &self,
        key: &str,
        json: &Arc<str>,
    ) -> Result<(), CacheError> {
        route!(&self.backing, store => store.remove_if_unchanged(key, json).await, disabled => Ok(()))
    }

    pub(super) async fn delete_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        self.leases.void_matching(pattern);
        route!(&self.backing, store => store.delete_matching(pattern).await, disabled => Ok(0))
    }

    pub(super) async fn clear(&self) -> Result<u64, CacheError> {
        self.leases.void_all();
        route!(&self.backing, store => store.clear().await, disabled => Ok(0))
    }

    pub(super) async fn clear_all_versions(&self) -> Result<u64, CacheError> {
        self.leases.void_all();
        route!(&self.backing, store => store.clear_all_versions().await, disabled => Ok(0))
    }

    /// Records that `key`, just written for `ttl`, carries `tags`.
    pub(super) async fn tag(
        &self,
        key: &str,
        tags: &[String],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        route!(&self.backing, store => store.tag(key, tags, ttl).await, disabled => Ok(()))
    }

    pub(super) async fn invalidate_tag(&self, tag: &str) -> Result<u64, CacheError> {
        self.leases.void_tag(tag);
        route!(&self.backing, store => store.invalidate_tag(tag).await, disabled => Ok(0))
    }

    /// The values under `keys`, in their order.
    pub(super) async fn get_many(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Option<Arc<str>>>, CacheError> {
        route!(&self.backing, store => store.get_many(keys).await, disabled => Ok(vec![None; keys.len()]))
    }

    /// Stores each `(key, json)` for `ttl`.
    pub(super) async fn set_many(
        &self,
        entries: &[(&str, String)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        for (key, _) in entries {
            self.leases.void_key(key);
        }
        route!(&self.backing, store => store.set_many(entries, ttl).await, disabled => Ok(()))
    }

    /// Removes `keys`; how many held a value.
    pub(super) async fn delete_many(&self, keys: &[&str]) -> Result<u64, CacheError> {
        for key in keys {
            self.leases.void_key(key);
        }
        route!(&self.backing, store => store.delete_many(keys).await, disabled => Ok(0))
    }

    /// The time `key` has left: `None` when absent, `Duration::MAX` when it never
    /// expires (only a value written by another client can be so).
    pub(super) async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        route!(&self.backing, store => store.ttl(key).await, disabled => Ok(None))
    }

    /// Gives `key` a new TTL; `false` when it is absent.
    pub(super) async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        route!(&self.backing, store => store.expire(key, ttl).await, disabled => Ok(false))
    }

    /// Removes `key` if it holds exactly `json`; whether it did.
    pub(super) async fn delete_if_equal(&self, key: &str, json: &str) -> Result<bool, CacheError> {
        self.leases.void_key(key);
        route!(&self.backing, store => store.delete_if_equal(key, json).await, disabled => Ok(false))
    }

    /// Gives `key` a new TTL if it holds exactly `json`; whether it did.
    pub(super) async fn expire_if_equal(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        route!(&self.backing, store => store.expire_if_equal(key, json, ttl).await, disabled => Ok(false))
    }

    /// Reads answered by an L1 in front of the backend (only Redis has one).
    pub(super) fn l1_hits(&self) -> u64 {
        match &self.backing {
            #[cfg(feature = "redis")]
            Backing::Redis(store) => store.l1_hits(),
            Backing::Disabled | Backing::Memory(_) => 0,
        }
    }

    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        route!(&self.backing, store => store.ping().await, disabled => Ok(()))
    }

    pub(super) async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        route!(&self.backing, store => store.exists(key).await, disabled => Ok(false))
    }

    /// Disabled: every call sees a fresh counter, so it answers `by`.
    pub(super) async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        self.leases.void_key(key);
        route!(&self.backing, store => store.incr(key, by, ttl).await, disabled => Ok(by))
    }

    pub(super) async fn add(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        self.leases.void_key(key);
        route!(&self.backing, store => store.add(key, json, ttl).await, disabled => Ok(false))
    }

    pub(super) async fn take(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        self.leases.void_key(key);
        route!(&self.backing, store => store.take(key).await, disabled => Ok(None))
    }

    /// Invalidations that wait for Redis (only Redis can be unreachable).
    pub(super) fn pending_invalidations(&self) -> usize {
        match &self.backing {
            #[cfg(feature = "redis")]
            Backing::Redis(store) => store.pending_invalidations(),
            Backing::Disabled | Backing::Memory(_) => 0,
        }
    }

    /// Sends the invalidations that wait for Redis, if it answers.
    pub(super) async fn deliver_pending(&self) -> Result<(), CacheError> {
        match &self.backing {
            #[cfg(feature = "redis")]
            Backing::Redis(store) => store.deliver_pending().await,
            Backing::Disabled | Backing::Memory(_) => Ok(()),
        }
    }

    /// Entries held in this process; `None` when they live elsewhere.
    pub(super) fn entries(&self) -> Option<u64> {
        match &self.backing {
            Backing::Memory(store) => Some(store.entry_count()),
            _ => None,
        }
    }

    #[cfg(feature = "redis")]
    /// The backend's own series for `/metrics`.
    pub(super) fn metrics(&self) -> Vec<prometheus::proto::MetricFamily> {
        match &self.backing {
            Backing::Redis(store) => store.metrics(),
            _ => Vec::new(),
        }
    }
}
