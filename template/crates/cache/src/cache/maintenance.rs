//! Operations on many keys or on the backend itself, for operators and tools:
//! [`Cache::delete_matching`], [`Cache::clear`], [`Cache::clear_all_versions`] and
//! [`Cache::ping`].

use super::Cache;
use crate::CacheError;
use crate::stats::Operation;

impl Cache {
    /// Removes every key matching `pattern`, where `*` matches any run of characters
    /// and `?` any one character (everything else is literal, on every backend), and
    /// returns how many values went. Only this service's keys are considered.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails; some keys may be gone by then.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// for key in ["item:1", "item:2", "items"] {
    ///     cache.set(key, &true, None).await?;
    /// }
    /// assert_eq!(cache.delete_matching("item:*").await?, 2);
    /// assert_eq!(cache.get::<bool>("items").await?, Some(true));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        let result = self.inner.store.delete_matching(pattern).await;
        self.counted(Operation::DeleteMatching, result)
    }

    /// Removes every value of this alias and returns how many went. On Redis only keys
    /// under this service's `CACHE_PREFIX` are touched (SCAN + UNLINK in batches, never
    /// FLUSHDB), so services sharing the database keep theirs.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails; some keys may be gone by then.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set("a", &1, None).await?;
    /// caches.persistent().set("a", &2, None).await?;
    /// assert_eq!(caches.memory().clear().await?, 1);
    /// assert_eq!(caches.persistent().get::<i32>("a").await?, Some(2), "the other alias is untouched");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn clear(&self) -> Result<u64, CacheError> {
        let result = self.inner.store.clear().await;
        self.counted(Operation::Clear, result)
    }

    /// Removes every value under `CACHE_PREFIX`, whatever `CACHE_VERSION` wrote it, and
    /// returns how many keys went (on Redis, tags' bookkeeping included). An in-process
    /// store only ever holds its own version, so there it is [`Cache::clear`].
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails; some keys may be gone by then.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set("a", &1, None).await?;
    /// assert_eq!(caches.memory().clear_all_versions().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn clear_all_versions(&self) -> Result<u64, CacheError> {
        let result = self.inner.store.clear_all_versions().await;
        self.counted(Operation::Clear, result)
    }

    /// Checks that the backend answers (Redis: `PING`, tried even while failing fast,
    /// so a readiness probe sees recovery at once). In-process and disabled caches are
    /// always reachable.
    ///
    /// # Errors
    /// [`CacheError`] when Redis cannot be reached or does not answer in time.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// for cache in caches.iter() {
    ///     cache.ping().await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ping(&self) -> Result<(), CacheError> {
        let result = self.inner.store.ping().await;
        self.counted(Operation::Ping, result)
    }
}
