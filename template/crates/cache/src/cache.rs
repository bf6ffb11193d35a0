//! [`Cache`]: one alias's operations, whatever its backend, returning `Result` for the
//! callers who want to see errors, and counting hits, misses and errors as they go.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::policy::{Age, Policy};
use super::refresh::{Refresh, Refreshes};
use super::single_flight::SingleFlight;
use super::stats::{Counters, Operation, Outcome, StaleCounters, StaleStats};
use super::store::Store;
use super::{Alias, Backend, CacheError, CacheStats};

/// The longest TTL an entry gets; longer ones (`Duration::MAX` for "forever") are
/// shortened to it. Ten years is forever for a cache, and far from where Redis's or
/// `Instant`'s arithmetic would overflow.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::MAX_TTL;
///
/// assert_eq!(MAX_TTL, Duration::from_secs(10 * 365 * 24 * 60 * 60));
/// ```
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// One alias's cache: get it from [`Caches`](super::Caches).
///
/// Keys are the caller's own strings; the backend stores them under `CACHE_PREFIX`.
/// Values are any serde type, stored as JSON. A TTL of `None` means the alias's default
/// ([`Cache::default_ttl`]); TTLs are kept to the millisecond (rounded up) and capped at
/// [`MAX_TTL`]. Cloning is cheap and every clone is the same cache.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::{CacheSettings, Caches};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let caches = Caches::from_settings(&CacheSettings::default());
/// let cache = caches.memory();
///
/// cache.set("user:42", &vec!["admin", "staff"], Some(Duration::from_secs(60))).await?;
/// let roles: Option<Vec<String>> = cache.get("user:42").await?;
/// assert_eq!(roles, Some(vec!["admin".to_owned(), "staff".to_owned()]));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    /// Shared by every clone.
    inner: Arc<Inner>,
}

/// What a [`Cache`] and its clones share.
struct Inner {
    /// Which alias this is.
    alias: Alias,
    /// TTL of entries written without one.
    default_ttl: Duration,
    /// Where the values live.
    store: Store,
    /// Hits, misses and errors since the cache was built.
    counters: Counters,
    /// Loads in progress for [`Cache::get_or_set_with`].
    flights: SingleFlight,
    /// Background refreshes in progress for [`Cache::get_or_refresh_with`].
    refreshes: Refreshes,
    /// How stale entries were used.
    stale: StaleCounters,
}

impl Cache {
    pub(super) fn new(alias: Alias, default_ttl: Duration, store: Store) -> Self {
        let inner = Inner {
            alias,
            default_ttl,
            store,
            counters: Counters::default(),
            flights: SingleFlight::default(),
            refreshes: Refreshes::default(),
            stale: StaleCounters::default(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

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

    /// Cache-aside: the value under `key`, or else the result of `loader`, which is then
    /// stored for `ttl`.
    ///
    /// When many callers miss the same key at the same moment, only one runs its loader
    /// and the others receive its value (per process). If that loader fails, its caller
    /// gets the error and the next waiting caller runs its own loader. Cache failures
    /// never fail the call: a read error counts as a miss and a write error is logged.
    ///
    /// # Errors
    /// Only the loader's error.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// # async fn fetch_price_from_database(_id: u32) -> Result<u64, std::io::Error> { Ok(1999) }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), std::io::Error> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let price = caches
    ///     .persistent()
    ///     .get_or_set_with("price:7", Some(Duration::from_secs(30)), || fetch_price_from_database(7))
    ///     .await?;
    /// assert_eq!(price, 1999);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_or_set_with<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        loader: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match self.get(key).await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => log_swallowed(self.alias(), "get", key, &error),
        }
        self.inner
            .flights
            .run(key, || async {
                let value = loader().await?;
                if let Err(error) = self.set(key, &value, ttl).await {
                    log_swallowed(self.alias(), "set", key, &error);
                }
                Ok(value)
            })
            .await
    }

    /// Cache-aside with a [`Policy`]: fresh entries are hits; within the policy's
    /// stale-while-revalidate window the stale value is returned at once and one
    /// background task per key (however many callers arrive) runs `loader` and stores
    /// its value; later, `loader` runs as in [`Cache::get_or_set_with`] (one load per
    /// key), and if it fails while the entry is within the stale-if-error window, the
    /// stale value is returned instead of the error (logged and counted in
    /// [`Cache::stale_stats`]). The value is stored with the policy's tags.
    ///
    /// The loader may outlive the call (it runs in the background), so it must be
    /// `Send + 'static`: clone what it needs into it. Background refreshes run on the
    /// Tokio runtime of the call; outside one, a stale entry is answered and not
    /// refreshed until a load in the foreground replaces it.
    ///
    /// # Errors
    /// Only the loader's error, when no stale value may stand in for it.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches, Policy};
    /// # async fn fetch_rates() -> Result<Vec<f64>, std::io::Error> { Ok(vec![1.08]) }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), std::io::Error> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let policy = Policy::ttl(Duration::from_secs(60))
    ///     .stale_while_revalidate(Duration::from_secs(600))
    ///     .stale_if_error(Duration::from_secs(3600));
    /// let rates = caches.persistent().get_or_refresh_with("rates", &policy, fetch_rates).await?;
    /// assert_eq!(rates, [1.08]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_or_refresh_with<T, F, Fut, E>(
        &self,
        key: &str,
        policy: &Policy,
        loader: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let fallback = match self.get_aged::<T>(key, policy).await {
            Ok(Some((value, Age::Fresh))) => return Ok(value),
            Ok(Some((value, Age::Stale))) => {
                self.inner.stale.served_while_revalidating();
                if let Some(refresh) = self.begin_refresh(key) {
                    self.refresh_in_background(refresh, key, policy, loader);
                }
                return Ok(value);
            }
            Ok(Some((value, Age::Fallback))) => Some(value),
            Ok(None) => None,
            Err(error) => {
                log_swallowed(self.alias(), "get", key, &error);
                None
            }
        };
        let loaded = self
            .inner
            .flights
            .run(key, || async {
                let value = loader().await?;
                self.store_loaded(key, &value, policy).await;
                Ok(value)
            })
            .await;
        match (loaded, fallback) {
            (Err(error), Some(stale)) => {
                self.served_stale_on_error(key, &error);
                Ok(stale)
            }
            (loaded, _) => loaded,
        }
    }

    /// Cache-aside on JSON text, for callers that pass the value on without decoding
    /// it (the endpoint cache): the stored text under `key` as [`Cache::get_json`] reads
    /// it, or else the JSON that `loader` produces, which is then stored for `ttl`.
    ///
    /// As with [`Cache::get_or_set_with`], callers missing the same key at the same
    /// moment share one loader run, a failed loader fails only its own caller, and cache
    /// failures never fail the call.
    ///
    /// # Errors
    /// Only the loader's error.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// use serde_json::value::RawValue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), serde_json::Error> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let render = || async { RawValue::from_string(r#"{"total":3}"#.to_owned()) };
    /// let json = caches.memory().get_json_or_set_with("report", None, render).await?;
    /// assert_eq!(&*json, r#"{"total":3}"#);
    /// assert_eq!(caches.memory().get_json("report").await.unwrap(), Some(json));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_json_or_set_with<F, Fut, E>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        loader: F,
    ) -> Result<Arc<str>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Box<RawValue>, E>>,
    {
        match self.get_json(key).await {
            Ok(Some(json)) => return Ok(json),
            Ok(None) => {}
            Err(error) => log_swallowed(self.alias(), "get", key, &error),
        }
        self.inner
            .flights
            .run(key, || async {
                let json = loader().await?;
                // `RawValue` is JSON by construction, so it is stored without `set_raw`'s check.
                let result = self.write(key, json.get(), ttl).await;
                if let Err(error) = self.counted(Operation::Set, result) {
                    log_swallowed(self.alias(), "set", key, &error);
                }
                Ok(Arc::from(json.get()))
            })
            .await
    }

    /// How stale entries were used so far (see [`Cache::get_or_refresh_with`]).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.memory().stale_stats().refreshes, 0);
    /// ```
    pub fn stale_stats(&self) -> StaleStats {
        self.inner.stale.snapshot()
    }


    #[cfg(feature = "actix")]
    /// The JSON under `key` and where it stands in `policy`, counted as a hit or a miss
    /// (see `count_aged`).
    pub(crate) async fn get_json_aged(
        &self,
        key: &str,
        policy: &Policy,
    ) -> Result<Option<(Arc<str>, Age)>, CacheError> {
        let found = self.read_aged(key, policy).await?;
        self.count_aged(found.as_ref().map(|(_, age)| *age));
        Ok(found)
    }

    #[cfg(feature = "actix")]
    /// Cache-aside's load for the endpoint cache: callers missing `key` at once share
    /// one `loader` run, whose JSON is stored under `policy`.
    pub(crate) async fn load_json_with<F, Fut, E>(
        &self,
        key: &str,
        policy: &Policy,
        loader: F,
    ) -> Result<Arc<str>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Box<RawValue>, E>>,
    {
        self.inner
            .flights
            .run(key, || async {
                let json = loader().await?;
                self.store_json(key, json.get(), policy).await;
                Ok(Arc::from(json.get()))
            })
            .await
    }

    /// Stores JSON produced by a loader (`RawValue` or a serialised value, so JSON by
    /// construction) under `policy`; a failure is logged, not returned: the caller
    /// has its value either way.
    pub(crate) async fn store_json(&self, key: &str, json: &str, policy: &Policy) {
        let result = self.write_with(key, json, policy).await;
        if let Err(error) = self.counted(Operation::Set, result) {
            log_swallowed(self.alias(), "set", key, &error);
        }
    }

    /// The right to refresh `key` in the background, unless a refresh of it runs.
    pub(crate) fn begin_refresh(&self, key: &str) -> Option<Refresh> {
        self.inner.refreshes.begin(key)
    }


    #[cfg(feature = "actix")]
    /// Counts a stale answer given while a refresh runs (the endpoint cache's).
    pub(crate) fn count_stale_while_revalidate(&self) {
        self.inner.stale.served_while_revalidating();
    }

    /// Counts how a background refresh ended and logs a failure.
    pub(crate) fn refresh_ended(&self, key: &str, failure: Option<&dyn fmt::Display>) {
        self.inner.stale.refreshed(failure.is_none());
        if let Some(error) = failure {
            tracing::warn!(
                alias = %self.alias(), key, %error,
                "refreshing a stale cache entry failed; it is served until its stale window ends"
            );
        }
    }

    /// Logs and counts a failed load answered with a stale value instead.
    pub(crate) fn served_stale_on_error(&self, key: &str, error: &dyn fmt::Display) {
        self.inner.stale.served_on_error();
        tracing::warn!(
            alias = %self.alias(), key, %error,
            "loading failed; answering the stale cached value (stale-if-error)"
        );
    }

    /// Hits, misses, errors and L1 hits counted so far.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, CacheStats, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.get::<u8>("nothing").await?;
    /// cache.set("something", &1, None).await?;
    /// cache.get::<u8>("something").await?;
    /// assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1, errors: 0, l1_hits: 0 });
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            l1_hits: self.inner.store.l1_hits(),
            ..self.inner.counters.snapshot()
        }
    }

    /// How often `operation` ended with `outcome` so far (`/metrics` exports these).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches, Operation, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// let cache = caches.memory();
    /// cache.set("a", &1, None).await?;
    /// assert_eq!(cache.operations(Operation::Set, Outcome::Ok), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn operations(&self, operation: Operation, outcome: Outcome) -> u64 {
        self.inner.counters.count(operation, outcome)
    }

    /// Entries held in this process, expired ones not yet evicted included; `None` when
    /// the values live elsewhere (Redis) or caching is off.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let caches = Caches::from_settings(&CacheSettings::default());
    /// caches.memory().set("a", &1, None).await?;
    /// assert_eq!(caches.memory().entries(), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn entries(&self) -> Option<u64> {
        self.inner.store.entries()
    }

    #[cfg(feature = "redis")]
    /// The backend's own series for `/metrics` (Redis: command durations, breaker
    /// state, reconnects); none for the in-process store.
    pub fn backend_metrics(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.inner.store.metrics()
    }

    /// Where this alias keeps its values.
    ///
    /// ```
    /// # use service_cache::{Backend, CacheSettings, Caches};
    /// let settings = CacheSettings { enabled: false, ..CacheSettings::default() };
    /// assert_eq!(Caches::from_settings(&settings).memory().backend(), Backend::Disabled);
    /// ```
    pub fn backend(&self) -> Backend {
        self.inner.store.backend()
    }

    /// Which alias this is.
    ///
    /// ```
    /// # use service_cache::{Alias, CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.get(Alias::Persistent).alias(), Alias::Persistent);
    /// ```
    pub fn alias(&self) -> Alias {
        self.inner.alias
    }

    /// The TTL of entries written without one (`CACHE_DEFAULT_TTL` for `memory`,
    /// `CACHE_PERSISTENT_TTL` for `persistent`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use service_cache::{CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.memory().default_ttl(), Duration::from_secs(300));
    /// assert_eq!(caches.persistent().default_ttl(), Duration::from_secs(3600));
    /// ```
    pub fn default_ttl(&self) -> Duration {
        self.inner.default_ttl
    }

    /// Reads the stored JSON, counting absences as misses and failures as errors
    /// (the caller counts the hit once it knows the value is usable).
    async fn read(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let result = self.inner.store.get(key).await;
        self.count_read(result)
    }

    /// Counts a read's miss or error (a hit is counted once the value is known to be
    /// usable).
    fn count_read(
        &self,
        result: Result<Option<Arc<str>>, CacheError>,
    ) -> Result<Option<Arc<str>>, CacheError> {
        if let Ok(None) = result {
            self.inner.counters.miss(Operation::Get);
        }
        self.counted(Operation::Get, result)
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

    /// A stored value that does not decode is a miss: logged, and removed (only if it is
    /// still the same value) so that the next write replaces it cleanly.
    async fn discard_undecodable(&self, key: &str, json: &Arc<str>, error: &serde_json::Error) {
        self.inner.counters.miss(Operation::Get);
        tracing::warn!(
            alias = %self.alias(), key, %error,
            "a cached value is not JSON or no longer decodes as the requested type; treating it as a miss and removing it"
        );
        if let Err(error) = self.inner.store.remove_if_unchanged(key, json).await {
            self.inner.counters.error(Operation::Delete);
            log_swallowed(self.alias(), "remove undecodable value", key, &error);
        }
    }

    async fn write(&self, key: &str, json: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        let ttl = self.effective_ttl(ttl)?;
        self.inner.store.set(key, json, ttl).await
    }

    /// Writes `json` for `policy`'s fresh period plus its stale window, then its tags.
    async fn write_with(&self, key: &str, json: &str, policy: &Policy) -> Result<(), CacheError> {
        let fresh = self.effective_ttl(policy.fresh_for())?;
        let ttl = policy.stored_for(fresh).min(MAX_TTL);
        self.inner.store.set(key, json, ttl).await?;
        if policy.tags().is_empty() {
            return Ok(());
        }
        self.inner.store.tag(key, policy.tags(), ttl).await
    }

    /// The value under `key` decoded as `T`, and where it stands in `policy`.
    async fn get_aged<T: DeserializeOwned>(
        &self,
        key: &str,
        policy: &Policy,
    ) -> Result<Option<(T, Age)>, CacheError> {
        let Some((json, age)) = self.read_aged(key, policy).await? else {
            self.count_aged(None);
            return Ok(None);
        };
        match serde_json::from_str(&json) {
            Ok(value) => {
                self.count_aged(Some(age));
                Ok(Some((value, age)))
            }
            Err(error) => {
                self.discard_undecodable(key, &json, &error).await;
                Ok(None)
            }
        }
    }

    /// The stored JSON under `key` and its age in `policy`, counting only failures.
    /// Without stale windows every value read is fresh, and no TTL is asked for.
    async fn read_aged(
        &self,
        key: &str,
        policy: &Policy,
    ) -> Result<Option<(Arc<str>, Age)>, CacheError> {
        if policy.stale_window().is_zero() {
            let result = self.inner.store.get(key).await;
            let json = self.counted(Operation::Get, result)?;
            return Ok(json.map(|json| (json, Age::Fresh)));
        }
        let result = self.inner.store.get_with_ttl(key).await;
        let found = self.counted(Operation::Get, result)?;
        Ok(found.map(|(json, left)| (json, policy.age(left))))
    }

    /// Counts an aged read: fresh and stale values are hits; one past the
    /// stale-while-revalidate window is a miss, since a load follows.
    fn count_aged(&self, age: Option<Age>) {
        match age {
            Some(Age::Fresh | Age::Stale) => self.inner.counters.hit(Operation::Get),
            Some(Age::Fallback) | None => self.inner.counters.miss(Operation::Get),
        }
    }

    /// Stores a loaded value under `policy`, logging a failure.
    async fn store_loaded<T: Serialize>(&self, key: &str, value: &T, policy: &Policy) {
        match serde_json::to_string(value) {
            Ok(json) => self.store_json(key, &json, policy).await,
            Err(error) => {
                self.inner.counters.error(Operation::Set);
                log_swallowed(self.alias(), "set", key, &CacheError::Encode(error));
            }
        }
    }

    /// Runs `loader` on the current Tokio runtime and stores its value, holding
    /// `refresh` until it is done.
    fn refresh_in_background<T, F, Fut, E>(
        &self,
        refresh: Refresh,
        key: &str,
        policy: &Policy,
        loader: F,
    ) where
        T: Serialize + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!(alias = %self.alias(), key, "no Tokio runtime to refresh a stale entry on");
            return;
        };
        let cache = self.clone();
        let key = key.to_owned();
        let policy = policy.clone();
        runtime.spawn(async move {
            let _refresh = refresh;
            match loader().await {
                Ok(value) => {
                    cache.store_loaded(&key, &value, &policy).await;
                    cache.refresh_ended(&key, None);
                }
                Err(error) => cache.refresh_ended(&key, Some(&error)),
            }
        });
    }

    /// `ttl` or the default, rounded up to whole milliseconds (Redis's resolution, so a
    /// TTL means the same on every backend) and capped at [`MAX_TTL`].
    fn effective_ttl(&self, ttl: Option<Duration>) -> Result<Duration, CacheError> {
        let ttl = ttl.unwrap_or(self.inner.default_ttl);
        if ttl.is_zero() {
            return Err(CacheError::ZeroTtl);
        }
        let millis = u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        Ok(Duration::from_millis(millis).min(MAX_TTL))
    }

    /// Counts how `operation` ended and passes its result on.
    fn counted<T>(
        &self,
        operation: Operation,
        result: Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        self.inner.counters.finished(operation, result.is_ok());
        result
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("alias", &self.alias())
            .field("backend", &self.backend())
            .field("default_ttl", &self.default_ttl())
            .finish_non_exhaustive()
    }
}

/// Logs an error that a fail-open caller carries on from. Failures while Redis is
/// known to be down are only debug lines: the outage itself was logged once, when it
/// began.
pub(crate) fn log_swallowed(alias: Alias, action: &str, key: &str, error: &CacheError) {
    if matches!(error, CacheError::Backoff(_)) {
        tracing::debug!(%alias, action, key, %error, "cache operation skipped; carrying on without the cache");
    } else {
        tracing::warn!(%alias, action, key, %error, "cache operation failed; carrying on without the cache");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Cache, MAX_TTL};
    use crate::store::Store;
    use crate::{Alias, CacheError};

    fn disabled(default_ttl: Duration) -> Cache {
        Cache::new(Alias::Memory, default_ttl, Store::Disabled)
    }

    #[test]
    fn ttls_round_up_to_milliseconds_and_are_capped() {
        let cache = disabled(Duration::from_secs(5));
        assert_eq!(cache.effective_ttl(None).unwrap(), Duration::from_secs(5));
        assert_eq!(
            cache.effective_ttl(Some(Duration::from_micros(1))).unwrap(),
            Duration::from_millis(1)
        );
        assert_eq!(
            cache
                .effective_ttl(Some(Duration::from_micros(1_500)))
                .unwrap(),
            Duration::from_millis(2)
        );
        assert_eq!(cache.effective_ttl(Some(Duration::MAX)).unwrap(), MAX_TTL);
        assert!(matches!(
            cache.effective_ttl(Some(Duration::ZERO)),
            Err(CacheError::ZeroTtl)
        ));
    }

    #[tokio::test]
    async fn failed_operations_count_as_errors_not_misses() {
        let cache = disabled(Duration::from_secs(5));
        assert!(cache.set("key", &1, Some(Duration::ZERO)).await.is_err());
        assert!(cache.set_raw("key", "not json", None).await.is_err());
        let mut unencodable = std::collections::HashMap::new();
        unencodable.insert(vec![1u8], 1);
        assert!(matches!(
            cache.set("key", &unencodable, None).await,
            Err(CacheError::Encode(_))
        ));
        assert_eq!(cache.get::<u8>("key").await.unwrap(), None);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.errors), (0, 1, 3));
    }
}
