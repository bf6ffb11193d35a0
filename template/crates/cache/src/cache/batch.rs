//! Batches: [`Cache::get_many`], [`Cache::set_many`] and [`Cache::delete_many`], one
//! round trip for many keys on Redis (one per node on a Cluster) where single calls
//! would take one each.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use crate::CacheError;
use crate::stats::Operation;

impl Cache {
    /// The values under `keys`, in the order asked: `None` for a key that is absent,
    /// expired, or holds something that does not decode as `T` (logged). Each key counts
    /// as one read (a hit or a miss); on Redis the L1 answers the keys it holds and one
    /// `MGET` the rest.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails (then no key is answered).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.persistent();
    /// cache.set_many(&[("price:1", 10), ("price:3", 30)], None).await?;
    /// let prices: Vec<Option<u32>> = cache.get_many(&["price:1", "price:2", "price:3"]).await?;
    /// assert_eq!(prices, [Some(10), None, Some(30)]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_many<T: DeserializeOwned>(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Option<T>>, CacheError> {
        let result = self.inner.store.get_many(keys).await;
        let stored = self.counted(Operation::Get, result)?;
        let mut values = Vec::with_capacity(keys.len());
        for (key, json) in keys.iter().zip(stored) {
            let value = match json {
                None => None,
                Some(json) => match serde_json::from_str(&json) {
                    Ok(value) => Some(value),
                    Err(error) => {
                        self.discard_undecodable(key, &json, &error).await;
                        values.push(None);
                        continue;
                    }
                },
            };
            match value {
                Some(_) => self.inner.counters.hit(Operation::Get),
                None => self.inner.counters.miss(Operation::Get),
            }
            values.push(value);
        }
        Ok(values)
    }

    /// Stores every `(key, value)` for `ttl` (`None`: the alias's default), in one
    /// round trip on Redis (one per node on a Cluster). Not atomic: after a failure some
    /// may be stored; the keys' old values are then removed as soon as Redis answers
    /// ([`CacheError::Queued`]).
    ///
    /// # Errors
    /// [`CacheError::Encode`] for a value that cannot be JSON (nothing is stored), or a
    /// backend failure.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let entries = [("a", "first"), ("b", "second")];
    /// caches.memory().set_many(&entries, Some(Duration::from_secs(60))).await?;
    /// assert_eq!(caches.memory().get::<String>("b").await?.as_deref(), Some("second"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_many<T: Serialize>(
        &self,
        entries: &[(&str, T)],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let result = async {
            let ttl = self.effective_ttl(ttl)?;
            let encoded = entries
                .iter()
                .map(|(key, value)| Ok((*key, serde_json::to_string(value)?)))
                .collect::<Result<Vec<_>, serde_json::Error>>()
                .map_err(CacheError::Encode)?;
            self.inner.store.set_many(&encoded, ttl).await
        }
        .await;
        self.counted(Operation::Set, result)
    }

    /// Removes `keys`; how many of them held a value.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails (the removals are then kept and sent as
    /// soon as Redis answers: [`CacheError::Queued`]).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.set_many(&[("a", 1), ("b", 2)], None).await?;
    /// assert_eq!(cache.delete_many(&["a", "b", "never-set"]).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_many(&self, keys: &[&str]) -> Result<u64, CacheError> {
        let result = self.inner.store.delete_many(keys).await;
        self.counted(Operation::Delete, result)
    }
}
