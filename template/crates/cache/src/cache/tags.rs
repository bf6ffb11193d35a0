//! Tags: [`Cache::set_with`] stores a value under a [`Policy`] with its tags, and
//! [`Cache::invalidate_tag`] removes every entry carrying one.

use serde::Serialize;

use super::Cache;
use crate::stats::Operation;
use crate::{CacheError, Policy};

impl Cache {
    /// Stores `value` under `key` as `policy` says: for its fresh period plus its longer
    /// stale window, carrying its tags, so [`Cache::invalidate_tag`] removes it.
    ///
    /// # Errors
    /// As [`Cache::set`]; when a tag cannot be recorded the value is stored but the call
    /// fails, so the caller knows the tag may not reach it.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches, Policy};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.persistent();
    /// let owned_by_7 = Policy::ttl(Duration::from_secs(60)).tag("owner:7");
    /// cache.set_with("pet:1", "Rex", &owned_by_7).await?;
    /// cache.set_with("pet:2", "Tom", &owned_by_7).await?;
    /// cache.set("pet:3", "Kit", None).await?;
    /// assert_eq!(cache.invalidate_tag("owner:7").await?, 2);
    /// assert_eq!(cache.get::<String>("pet:1").await?, None);
    /// assert_eq!(cache.get::<String>("pet:3").await?.as_deref(), Some("Kit"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_with<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        policy: &Policy,
    ) -> Result<(), CacheError> {
        let result = async {
            let json = serde_json::to_string(value).map_err(CacheError::Encode)?;
            self.write_with(key, &json, policy).await
        }
        .await;
        self.counted(Operation::Set, result)
    }

    /// Removes every entry written with `tag` (by [`Cache::set_with`], cache-aside with
    /// a tagged [`Policy`], or the endpoint cache) and returns how many values went.
    /// An entry rewritten without the tag since goes too: one miss too many, never a
    /// stale answer.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails; some entries may be gone by then.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches, Policy};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.set_with("report:1", &1, &Policy::default().tag("team:a").tag("daily")).await?;
    /// assert_eq!(cache.invalidate_tag("daily").await?, 1);
    /// assert_eq!(cache.invalidate_tag("team:a").await?, 0, "already gone");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn invalidate_tag(&self, tag: &str) -> Result<u64, CacheError> {
        let result = self.inner.store.invalidate_tag(tag).await;
        self.counted(Operation::InvalidateTag, result)
    }
}
