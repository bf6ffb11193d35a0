//! Locks with an owner: [`Cache::lock`] takes a lease on a key with a token only its
//! [`LockGuard`] knows, and the guard releases or extends it only while the key still
//! holds that token (compare-and-delete, compare-and-expire: one script each on Redis).
//!
//! `add` and `delete` are not a lock: a holder whose lease lapsed would delete the next
//! holder's lock. What this is: a lease on one Redis primary (or in one process), good
//! for keeping replicas from doing the same work at once. What it is not: Redlock across
//! independent primaries, nor a fence: a holder paused past its lease (a long GC-like
//! stall, a lost network) may still act after another took the lock, so work that must
//! never overlap needs a fencing token checked by the resource it writes to.

use std::time::{Duration, Instant};

use super::Cache;
use crate::stats::Operation;
use crate::token::new_token;
use crate::{Backend, CacheError};

/// The longest pause between two tries while waiting for a lock.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// A lock taken by [`Cache::lock`]. Release it with [`LockGuard::release`]; dropping
/// it releases it in the background (on the Tokio runtime it is dropped on; outside one
/// the lease lapses by itself).
#[derive(Debug)]
#[must_use = "a lock is released when its guard is dropped"]
pub struct LockGuard {
    /// The cache the lock lives in.
    cache: Cache,
    /// The lock's key.
    key: String,
    /// The owner's token, as the JSON stored under the key.
    token: String,
    /// Whether the guard released it already.
    released: bool,
}

impl Cache {
    /// Takes the lock `name` (a key of this alias) for `lease`, trying for up to `wait`;
    /// `None` when another owner still holds it then. The lock lapses by itself after
    /// `lease`, so a holder that dies never blocks the others for longer.
    ///
    /// With `CACHE_ENABLED=false` every lock is granted at once and excludes nobody.
    ///
    /// # Errors
    /// [`CacheError::ZeroTtl`] for a zero lease, or a backend failure.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.persistent();
    /// let lease = Duration::from_secs(30);
    /// let guard = cache.lock("rebuild:report", lease, Duration::ZERO).await?.expect("free");
    /// assert!(cache.lock("rebuild:report", lease, Duration::from_millis(20)).await?.is_none());
    /// assert!(guard.release().await?, "still ours");
    /// assert!(cache.lock("rebuild:report", lease, Duration::ZERO).await?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn lock(
        &self,
        name: &str,
        lease: Duration,
        wait: Duration,
    ) -> Result<Option<LockGuard>, CacheError> {
        let lease = self.effective_ttl(Some(lease))?;
        let guard = LockGuard {
            cache: self.clone(),
            key: name.to_owned(),
            token: format!("\"{}\"", new_token()),
            released: false,
        };
        if self.backend() == Backend::Disabled {
            return Ok(Some(guard));
        }
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            let result = self.inner.store.add(name, &guard.token, lease).await;
            if self.counted(Operation::Add, result)? {
                return Ok(Some(guard));
            }
            let now = Instant::now();
            if now >= deadline {
                let mut guard = guard;
                guard.released = true;
                return Ok(None);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}

impl LockGuard {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.key
    }

    /// Releases the lock if this guard still owns it; whether it did (`false`: the lease
    /// lapsed, and the lock may be someone else's now, which stays untouched).
    ///
    /// # Errors
    /// A backend failure (the lock then lapses with its lease).
    pub async fn release(mut self) -> Result<bool, CacheError> {
        self.released = true;
        self.cache.release(&self.key, &self.token).await
    }

    /// Extends the lease to `lease` from now if this guard still owns the lock; whether
    /// it did.
    ///
    /// # Errors
    /// [`CacheError::ZeroTtl`], or a backend failure.
    pub async fn extend(&self, lease: Duration) -> Result<bool, CacheError> {
        let cache = &self.cache;
        let result = async {
            let lease = cache.effective_ttl(Some(lease))?;
            cache
                .inner
                .store
                .expire_if_equal(&self.key, &self.token, lease)
                .await
        }
        .await;
        cache.counted(Operation::Expire, result)
    }
}

impl Cache {
    /// Removes the lock `key` if it holds `token`.
    async fn release(&self, key: &str, token: &str) -> Result<bool, CacheError> {
        let result = self.inner.store.delete_if_equal(key, token).await;
        self.counted(Operation::Delete, result)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (cache, key, token) = (
            self.cache.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.token),
        );
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(error) = cache.release(&key, &token).await {
                        tracing::warn!(key, %error, "a dropped lock could not be released; it lapses with its lease");
                    }
                });
            }
            Err(_) => {
                tracing::debug!(
                    key,
                    "a lock dropped outside a Tokio runtime lapses with its lease"
                );
            }
        }
    }
}
