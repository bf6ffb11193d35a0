//! The time a key has left ([`Cache::ttl`]) and giving it a new one ([`Cache::expire`]).

use std::time::Duration;

use super::Cache;
use crate::CacheError;
use crate::stats::Operation;

impl Cache {
    /// The time the value under `key` has left: `None` when there is none. Counts as a
    /// read (a hit when the key is there). Redis keeps it to the millisecond; a value
    /// another client wrote without an expiry answers `Duration::MAX`.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.set("session:1", "token", Some(Duration::from_secs(60))).await?;
    /// let left = cache.ttl("session:1").await?.unwrap();
    /// assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(59));
    /// assert_eq!(cache.ttl("session:2").await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let result = self.inner.store.ttl(key).await;
        match result {
            Ok(Some(_)) => self.inner.counters.hit(Operation::Ttl),
            Ok(None) => self.inner.counters.miss(Operation::Ttl),
            Err(_) => {}
        }
        self.counted(Operation::Ttl, result)
    }

    /// Gives the value under `key` the TTL `ttl` from now (rounded up to the
    /// millisecond, capped at [`MAX_TTL`](super::MAX_TTL)); `false` when there is none.
    ///
    /// # Errors
    /// [`CacheError::ZeroTtl`], or a backend failure.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.set("session:1", "token", Some(Duration::from_secs(60))).await?;
    /// assert!(cache.expire("session:1", Duration::from_secs(3600)).await?);
    /// assert!(!cache.expire("session:2", Duration::from_secs(3600)).await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let result = async {
            let ttl = self.effective_ttl(Some(ttl))?;
            self.inner.store.expire(key, ttl).await
        }
        .await;
        self.counted(Operation::Expire, result)
    }
}
