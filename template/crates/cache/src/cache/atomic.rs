//! Atomic operations, safe under concurrent callers in this process and in others
//! sharing Redis: [`Cache::exists`], counters ([`Cache::incr`], [`Cache::decr`]), store
//! if absent ([`Cache::add`], [`Cache::add_raw`]) and read-and-delete ([`Cache::take`],
//! [`Cache::take_json`]).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use crate::CacheError;
use crate::stats::Operation;

impl Cache {
    /// Whether `key` holds a value that has not expired, without reading it. Counts as a
    /// read: a hit when it does, a miss when not. Disabled caches hold nothing (`false`).
    ///
    /// A value that is there may still fail to decode as the type a later [`Cache::get`]
    /// asks for; `exists` only says that something is stored.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// assert!(!cache.exists("seen:42").await?);
    /// cache.set("seen:42", &true, None).await?;
    /// assert!(cache.exists("seen:42").await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let result = self.inner.store.exists(key).await;
        match result {
            Ok(true) => self.inner.counters.hit(Operation::Exists),
            Ok(false) => self.inner.counters.miss(Operation::Exists),
            Err(_) => {}
        }
        self.counted(Operation::Exists, result)
    }

    /// Adds `by` to the counter under `key` and returns the new count, atomically: of
    /// many concurrent calls, in this process or in others sharing Redis, none is lost.
    ///
    /// A counter that does not exist (or expired) starts at zero and lives for `ttl`
    /// (`None`: the alias's default) from its first increment; later increments keep
    /// that deadline, so `incr(key, 1, Some(minute))` counts per fixed window, as a
    /// rate limit wants. Read it with [`Cache::get::<i64>`](Cache::get). On Redis this
    /// is `INCRBY` plus `PEXPIRE` in one script. Disabled caches keep nothing, so every
    /// call sees a fresh counter and answers `by`.
    ///
    /// # Errors
    /// [`CacheError::NotACounter`] if the key holds something other than a whole number
    /// or the count would overflow `i64`, [`CacheError::ZeroTtl`], or a backend failure.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheError, CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.persistent();
    /// let window = Some(Duration::from_secs(60));
    /// assert_eq!(cache.incr("requests:10.0.0.1", 1, window).await?, 1);
    /// assert_eq!(cache.incr("requests:10.0.0.1", 1, window).await?, 2);
    /// assert_eq!(cache.get::<i64>("requests:10.0.0.1").await?, Some(2));
    /// cache.set("name", "Ada", None).await?;
    /// assert!(matches!(cache.incr("name", 1, None).await, Err(CacheError::NotACounter)));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64, CacheError> {
        let result = async {
            let ttl = self.effective_ttl(ttl)?;
            self.inner.store.incr(key, by, ttl).await
        }
        .await;
        self.counted(Operation::Incr, result)
    }

    /// Subtracts `by` from the counter under `key`: [`Cache::incr`] with `-by`, with
    /// the same TTL rules. Counters may go below zero.
    ///
    /// # Errors
    /// As [`Cache::incr`] (`by` = `i64::MIN` cannot be negated: [`CacheError::NotACounter`]).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.incr("seats", 10, None).await?;
    /// assert_eq!(cache.decr("seats", 3, None).await?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn decr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64, CacheError> {
        match by.checked_neg() {
            Some(negated) => self.incr(key, negated, ttl).await,
            None => self.counted(Operation::Incr, Err(CacheError::NotACounter)),
        }
    }

    /// Stores `value` under `key` for `ttl` (`None`: the alias's default) only if `key`
    /// holds no value, and says whether it stored: of many concurrent calls for one key,
    /// exactly one gets `true`. For idempotency keys, one-time tokens and cheap locks
    /// (release one with [`Cache::delete`]; the TTL frees it if its holder dies). On
    /// Redis this is `SET NX PX`. Disabled caches store nothing and answer `false`.
    ///
    /// # Errors
    /// As [`Cache::set`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.persistent();
    /// let lease = Some(Duration::from_secs(30));
    /// assert!(cache.add("lock:report", "worker-1", lease).await?);
    /// assert!(!cache.add("lock:report", "worker-2", lease).await?, "held by worker-1");
    /// assert_eq!(cache.get::<String>("lock:report").await?.as_deref(), Some("worker-1"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn add<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let result = async {
            let json = serde_json::to_string(value).map_err(CacheError::Encode)?;
            let ttl = self.effective_ttl(ttl)?;
            self.inner.store.add(key, &json, ttl).await
        }
        .await;
        self.counted(Operation::Add, result)
    }

    /// [`Cache::add`] for JSON text (checked first), as [`Cache::set_raw`] is for
    /// [`Cache::set`].
    ///
    /// # Errors
    /// [`CacheError::InvalidJson`] if `json` is not JSON, otherwise as [`Cache::add`].
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// assert!(caches.memory().add_raw("job:7", r#"{"state":"queued"}"#, None).await?);
    /// assert!(!caches.memory().add_raw("job:7", r#"{"state":"again"}"#, None).await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn add_raw(
        &self,
        key: &str,
        json: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let result = async {
            serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(CacheError::InvalidJson)?;
            let ttl = self.effective_ttl(ttl)?;
            self.inner.store.add(key, json, ttl).await
        }
        .await;
        self.counted(Operation::Add, result)
    }

    /// Removes `key` and returns the value it held, atomically: of many concurrent
    /// calls, exactly one gets the value (one-time tokens). On Redis this is `GETDEL`.
    /// A value that does not decode as `T` is gone all the same, and is a miss (logged).
    /// Counts as a read. Disabled caches hold nothing (`None`).
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
    /// cache.set("magic-link:x7", &42_u64, None).await?;
    /// assert_eq!(cache.take::<u64>("magic-link:x7").await?, Some(42));
    /// assert_eq!(cache.take::<u64>("magic-link:x7").await?, None, "used up");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn take<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        let Some(json) = self.take_stored(key).await? else {
            return Ok(None);
        };
        match serde_json::from_str(&json) {
            Ok(value) => {
                self.inner.counters.hit(Operation::Take);
                Ok(Some(value))
            }
            Err(error) => {
                self.count_taken_undecodable(key, &error);
                Ok(None)
            }
        }
    }

    /// [`Cache::take`] as JSON text, undecoded; text that is not JSON (written to Redis
    /// by hand) is gone all the same, and is a miss.
    ///
    /// # Errors
    /// [`CacheError`] when the backend fails.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set_raw("ticket", r#"{"seat": "12A"}"#, None).await?;
    /// assert_eq!(caches.memory().take_json("ticket").await?.as_deref(), Some(r#"{"seat": "12A"}"#));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn take_json(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let Some(json) = self.take_stored(key).await? else {
            return Ok(None);
        };
        if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&json) {
            self.count_taken_undecodable(key, &error);
            return Ok(None);
        }
        self.inner.counters.hit(Operation::Take);
        Ok(Some(json))
    }

    /// Takes the stored JSON, counting absences as misses and failures as errors.
    async fn take_stored(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let result = self.inner.store.take(key).await;
        if let Ok(None) = result {
            self.inner.counters.miss(Operation::Take);
        }
        self.counted(Operation::Take, result)
    }

    /// A taken value that does not decode: a miss, logged; it is gone already.
    fn count_taken_undecodable(&self, key: &str, error: &serde_json::Error) {
        self.inner.counters.miss(Operation::Take);
        tracing::warn!(
            alias = %self.alias(), key, %error,
            "a taken value is not JSON or does not decode as the requested type; it is removed and counts as a miss"
        );
    }
}
