//! Typed access to one key: [`Cache::get`], [`Cache::set`] and [`Cache::delete`], with
//! values of any serde type stored as JSON.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use crate::CacheError;
use crate::stats::Operation;

impl Cache {
    /// The value under `key`, or `None` if there is none, it expired, or it no longer
    /// decodes as `T` (such a value is logged and removed, so the next write replaces it
    /// cleanly).
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails (Redis unreachable or slow).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// assert_eq!(cache.get::<u32>("visits").await?, None);
    /// cache.set("visits", &7, None).await?;
    /// assert_eq!(cache.get::<u32>("visits").await?, Some(7));
    /// assert_eq!(cache.get::<String>("visits").await?, None, "7 is not a string");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        let Some(json) = self.read(key).await? else {
            return Ok(None);
        };
        match serde_json::from_str(&json) {
            Ok(value) => {
                self.inner.counters.hit(Operation::Get);
                Ok(Some(value))
            }
            Err(error) => {
                self.discard_undecodable(key, &json, &error).await;
                Ok(None)
            }
        }
    }

    /// Stores `value` under `key` for `ttl` (`None`: the alias's default), replacing
    /// any previous value and its TTL.
    ///
    /// # Errors
    /// [`CacheError::Encode`] if `value` cannot be JSON, [`CacheError::ZeroTtl`] for a
    /// zero TTL, or a backend failure.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    /// struct Profile { name: String, tags: Vec<String> }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let profile = Profile { name: "Ada".into(), tags: vec!["math".into()] };
    /// caches.persistent().set("profile:1", &profile, Some(Duration::from_millis(1500))).await?;
    /// assert_eq!(caches.persistent().get("profile:1").await?, Some(profile));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let result = async {
            let json = serde_json::to_string(value).map_err(CacheError::Encode)?;
            self.write(key, &json, ttl).await
        }
        .await;
        self.counted(Operation::Set, result)
    }

    /// Removes `key`; `true` if it held a value.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set("session:9", "token", None).await?;
    /// assert!(caches.memory().delete("session:9").await?);
    /// assert!(!caches.memory().delete("session:9").await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let result = self.inner.store.delete(key).await;
        self.counted(Operation::Delete, result)
    }
}
