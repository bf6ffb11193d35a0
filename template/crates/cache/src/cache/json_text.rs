//! One key's value as JSON text, undecoded: [`Cache::get_json`] and [`Cache::set_raw`]
//! for callers that pass JSON on as it is (an HTTP body, the CLI), and
//! [`Cache::get_raw`] for whatever text is stored.

use std::sync::Arc;
use std::time::Duration;

use super::Cache;
use crate::CacheError;
use crate::stats::Operation;

impl Cache {
    /// The stored JSON text under `key`, to send on as it is (an HTTP body, say) without
    /// decoding it: `None` if there is none or it expired.
    ///
    /// The text is always JSON. Values in an in-process store were written by this
    /// process through [`Cache::set`] or [`Cache::set_raw`], so they are served as
    /// they are. Redis can be written by anyone (`redis-cli SET`), so the Redis store
    /// checks text as it reads it from there (once: not again when its L1 answers),
    /// without building anything; text that is not JSON is a miss, logged and removed, as
    /// in [`Cache::get`].
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.persistent();
    /// assert_eq!(cache.get_json("item:3").await?, None);
    /// cache.set_raw("item:3", r#"{"name":"pen"}"#, None).await?;
    /// assert_eq!(cache.get_json("item:3").await?.as_deref(), Some(r#"{"name":"pen"}"#));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_json(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        // Every store hands out JSON only: in-process text was serialised by this
        // process, and the Redis store checks what it reads before passing it on.
        let Some(json) = self.read(key).await? else {
            return Ok(None);
        };
        self.inner.counters.hit(Operation::Get);
        Ok(Some(json))
    }

    /// The stored text under `key`, undecoded: what `redis-cli GET` would show. On Redis
    /// it is read from Redis itself (never from the L1) and may be text that is not JSON,
    /// written by another program; [`Cache::get_json`] never returns such text.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set("point", &(1, 2), None).await?;
    /// assert_eq!(caches.memory().get_raw("point").await?.as_deref(), Some("[1,2]"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_raw(&self, key: &str) -> Result<Option<String>, CacheError> {
        let result = self.inner.store.get_text(key).await;
        let json = self.count_read(result)?;
        if json.is_some() {
            self.inner.counters.hit(Operation::Get);
        }
        Ok(json.map(|json| json.to_string()))
    }

    /// Stores JSON text as it is (after checking that it is JSON): for tools such as
    /// the CLI that hold values as text.
    ///
    /// # Errors
    /// [`CacheError::InvalidJson`] if `json` is not JSON, otherwise as [`Cache::set`].
    ///
    /// ```
    /// # use service_cache::{CacheError, CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set_raw("flags", r#"{"beta":true}"#, None).await?;
    /// assert_eq!(caches.memory().get::<serde_json::Value>("flags").await?.unwrap()["beta"], true);
    /// assert!(matches!(caches.memory().set_raw("flags", "{beta", None).await, Err(CacheError::InvalidJson(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_raw(
        &self,
        key: &str,
        json: &str,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let result = async {
            serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(CacheError::InvalidJson)?;
            self.write(key, json, ttl).await
        }
        .await;
        self.counted(Operation::Set, result)
    }
}
