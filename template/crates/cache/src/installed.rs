//! The process-wide caches behind [`get_cached`], [`set_cached`], [`delete_cached`],
//! [`clear_cache`], the atomic operations [`exists_cached`], [`incr_cached`],
//! [`decr_cached`], [`add_cached`] and [`take_cached`], and cache-aside
//! [`get_or_set_cached`] (which `#[cached]` expands to), installed by
//! [`configure_caches`] when an entrypoint starts.
//!
//! These functions fail open: an error is logged and reads as a miss (or a no-op for
//! writes; `get_or_set_cached` then runs its loader), so a cache outage never becomes a
//! failed request. For the atomic operations
//! that means: `exists` answers `false`, `incr`/`decr` `None`, `add` `false` (not
//! stored) and `take` `None`. Used before `configure_caches`, they log one error saying
//! how to fix it and behave the same way.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::log_swallowed;
use super::{Alias, Cache, Caches};
use crate::settings::CacheSettings;

/// What the free functions say when nothing is installed.
const NOT_CONFIGURED: &str = "caches are not configured: call services::cache::configure_caches(&settings.cache) at start-up";

/// The caches every free function uses.
static INSTALLED: InstalledCaches = InstalledCaches::new();

/// Builds the caches from `settings`, installs them for the free functions (replacing
/// any installed before: the last call wins) and returns a handle to the same caches.
///
/// Every entrypoint calls this at start-up; it never fails and never waits for Redis.
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, get_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let caches = configure_caches(&CacheSettings::default());
/// caches.memory().set("answer", &42, None).await?;
/// assert_eq!(get_cached::<i32>("answer", Alias::Memory).await, Some(42));
/// # Ok(())
/// # }
/// ```
pub fn configure_caches(settings: &CacheSettings) -> Caches {
    let caches = Caches::from_settings(settings);
    install_caches(caches.clone());
    caches
}

/// Makes `caches` the ones the free functions use (replacing any installed before).
/// `AppContext::build` calls it with the context's caches, so the free functions and
/// the context share one set of caches.
pub fn install_caches(caches: Caches) {
    tracing::info!(
        memory = %caches.memory().backend(),
        persistent = %caches.persistent().backend(),
        "caches configured"
    );
    INSTALLED.install(caches);
}

/// The value under `key` in `alias`, or `None` (also when the cache fails: logged).
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, get_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// let user: Option<(u32, String)> = get_cached("user:1", Alias::Persistent).await;
/// assert_eq!(user, None);
/// # }
/// ```
pub async fn get_cached<T: DeserializeOwned>(key: &str, alias: Alias) -> Option<T> {
    INSTALLED.get_cached(key, alias).await
}

/// Stores `value` under `key` in `alias` for `ttl` (`None`: the alias's default TTL).
/// A failure is logged, never returned.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::{Alias, CacheSettings, configure_caches, get_cached, set_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// set_cached("user:1", &(1, "Ada"), Some(Duration::from_secs(60)), Alias::Persistent).await;
/// let user: Option<(u32, String)> = get_cached("user:1", Alias::Persistent).await;
/// assert_eq!(user, Some((1, "Ada".to_owned())));
/// # }
/// ```
pub async fn set_cached<T: Serialize + ?Sized>(
    key: &str,
    value: &T,
    ttl: Option<Duration>,
    alias: Alias,
) {
    INSTALLED.set_cached(key, value, ttl, alias).await;
}

/// Removes `key` from `alias`. A failure is logged, never returned.
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, delete_cached, get_cached, set_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// set_cached("token", "abc", None, Alias::Memory).await;
/// delete_cached("token", Alias::Memory).await;
/// assert_eq!(get_cached::<String>("token", Alias::Memory).await, None);
/// # }
/// ```
pub async fn delete_cached(key: &str, alias: Alias) {
    INSTALLED.delete_cached(key, alias).await;
}

/// Removes every value of `alias` (on Redis: only this service's prefix). A failure is
/// logged, never returned.
///
/// ```
/// use service_cache::{Alias, CacheSettings, clear_cache, configure_caches, get_cached, set_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// set_cached("a", &1, None, Alias::Memory).await;
/// clear_cache(Alias::Memory).await;
/// assert_eq!(get_cached::<i32>("a", Alias::Memory).await, None);
/// # }
/// ```
pub async fn clear_cache(alias: Alias) {
    INSTALLED.clear_cache(alias).await;
}

/// Removes every entry of `alias` that carries `tag` (see [`Cache::invalidate_tag`]).
/// A failure is logged, never returned.
///
/// ```
/// use service_cache::{Alias, CacheSettings, Policy, configure_caches, get_cached, invalidate_tag};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let caches = configure_caches(&CacheSettings::default());
/// caches.memory().set_with("order:9", &9, &Policy::default().tag("customer:4")).await?;
/// invalidate_tag("customer:4", Alias::Memory).await;
/// assert_eq!(get_cached::<u32>("order:9", Alias::Memory).await, None);
/// # Ok(())
/// # }
/// ```
pub async fn invalidate_tag(tag: &str, alias: Alias) {
    INSTALLED.invalidate_tag(tag, alias).await;
}

/// Whether `key` holds a value in `alias` (see [`Cache::exists`]); `false` also when
/// the cache fails (logged).
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, exists_cached, set_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// assert!(!exists_cached("seen:1", Alias::Memory).await);
/// set_cached("seen:1", &true, None, Alias::Memory).await;
/// assert!(exists_cached("seen:1", Alias::Memory).await);
/// # }
/// ```
pub async fn exists_cached(key: &str, alias: Alias) -> bool {
    INSTALLED.exists_cached(key, alias).await
}

/// Adds `by` to the counter under `key` in `alias` and returns the new count (see
/// [`Cache::incr`]: a new counter lives for `ttl`, later increments keep its deadline).
/// `None` when the cache fails or the key holds no counter (logged): a rate limit built
/// on it lets the request through.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::{Alias, CacheSettings, configure_caches, incr_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// let minute = Some(Duration::from_secs(60));
/// let count = incr_cached("login:ada", 1, minute, Alias::Persistent).await;
/// assert_eq!(count, Some(1));
/// let too_many = count.is_some_and(|count| count > 5);
/// assert!(!too_many);
/// # }
/// ```
pub async fn incr_cached(key: &str, by: i64, ttl: Option<Duration>, alias: Alias) -> Option<i64> {
    INSTALLED.incr_cached(key, by, ttl, alias).await
}

/// Subtracts `by` from the counter under `key` in `alias` (see [`Cache::decr`]); `None`
/// when the cache fails or the key holds no counter (logged).
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, decr_cached, incr_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// incr_cached("stock:pen", 3, None, Alias::Memory).await;
/// assert_eq!(decr_cached("stock:pen", 1, None, Alias::Memory).await, Some(2));
/// # }
/// ```
pub async fn decr_cached(key: &str, by: i64, ttl: Option<Duration>, alias: Alias) -> Option<i64> {
    INSTALLED.decr_cached(key, by, ttl, alias).await
}

/// Stores `value` under `key` in `alias` only if the key holds nothing, and says whether
/// it stored (see [`Cache::add`]). When the cache fails the answer is `false`, "not
/// stored" (logged): a caller that only proceeds on `true` (a lock, an idempotency key)
/// holds back rather than risk running twice.
///
/// ```
/// use service_cache::{Alias, CacheSettings, add_cached, configure_caches};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// assert!(add_cached("payment:abc", "accepted", None, Alias::Persistent).await);
/// assert!(!add_cached("payment:abc", "accepted", None, Alias::Persistent).await, "a replay");
/// # }
/// ```
pub async fn add_cached<T: Serialize + ?Sized>(
    key: &str,
    value: &T,
    ttl: Option<Duration>,
    alias: Alias,
) -> bool {
    INSTALLED.add_cached(key, value, ttl, alias).await
}

/// Removes `key` from `alias` and returns the value it held (see [`Cache::take`]);
/// `None` also when the cache fails (logged).
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, set_cached, take_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// set_cached("token:9", "ada", None, Alias::Persistent).await;
/// assert_eq!(take_cached::<String>("token:9", Alias::Persistent).await.as_deref(), Some("ada"));
/// assert_eq!(take_cached::<String>("token:9", Alias::Persistent).await, None);
/// # }
/// ```
pub async fn take_cached<T: DeserializeOwned>(key: &str, alias: Alias) -> Option<T> {
    INSTALLED.take_cached(key, alias).await
}

/// Cache-aside on the installed caches: the value under `key` in `alias`, or else the
/// result of `loader`, which is then stored for `ttl` (`None`: the alias's default TTL).
/// [`Cache::get_or_set_with`] on the installed cache, so callers missing the same key
/// at once share one load, and an error of the loader is returned, never stored.
/// `#[cached]` (feature `macros`) expands to a call of this function.
///
/// It fails open like the other free functions: before [`configure_caches`] it logs
/// once how to fix that and runs `loader` on every call.
///
/// # Errors
/// Only the loader's error.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::{Alias, CacheSettings, configure_caches, get_or_set_cached};
///
/// # async fn fetch_user_from_database(id: u32) -> Result<String, std::io::Error> { Ok(format!("user {id}")) }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), std::io::Error> {
/// configure_caches(&CacheSettings::default());
/// let ten_minutes = Some(Duration::from_secs(600));
/// let user = get_or_set_cached("user:7", ten_minutes, Alias::Persistent, || fetch_user_from_database(7)).await?;
/// assert_eq!(user, "user 7");
/// # Ok(())
/// # }
/// ```
pub async fn get_or_set_cached<T, F, Fut, E>(
    key: &str,
    ttl: Option<Duration>,
    alias: Alias,
    loader: F,
) -> Result<T, E>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    INSTALLED.get_or_set_cached(key, ttl, alias, loader).await
}

/// A replaceable place for the installed caches. The free functions use the one static
/// instance; tests use their own so they cannot disturb each other.
/// The values under `keys` in `alias`, in the order asked; all `None` when the cache
/// fails (logged). One round trip on Redis.
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, get_many_cached, set_many_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// set_many_cached(&[("a", 1), ("c", 3)], None, Alias::Memory).await;
/// let values: Vec<Option<i32>> = get_many_cached(&["a", "b", "c"], Alias::Memory).await;
/// assert_eq!(values, [Some(1), None, Some(3)]);
/// # }
/// ```
pub async fn get_many_cached<T: DeserializeOwned>(keys: &[&str], alias: Alias) -> Vec<Option<T>> {
    INSTALLED.get_many_cached(keys, alias).await
}

/// Stores every `(key, value)` in `alias` for `ttl` (`None`: the alias's default TTL).
/// A failure is logged, never returned.
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, get_cached, set_many_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// set_many_cached(&[("x", "one"), ("y", "two")], None, Alias::Memory).await;
/// assert_eq!(get_cached::<String>("y", Alias::Memory).await.as_deref(), Some("two"));
/// # }
/// ```
pub async fn set_many_cached<T: Serialize>(
    entries: &[(&str, T)],
    ttl: Option<Duration>,
    alias: Alias,
) {
    INSTALLED.set_many_cached(entries, ttl, alias).await;
}

/// Removes `keys` from `alias`. A failure is logged, never returned.
///
/// ```
/// use service_cache::{Alias, CacheSettings, configure_caches, delete_many_cached, get_cached, set_many_cached};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// configure_caches(&CacheSettings::default());
/// set_many_cached(&[("p", 1), ("q", 2)], None, Alias::Memory).await;
/// delete_many_cached(&["p", "q"], Alias::Memory).await;
/// assert_eq!(get_cached::<i32>("p", Alias::Memory).await, None);
/// # }
/// ```
pub async fn delete_many_cached(keys: &[&str], alias: Alias) {
    INSTALLED.delete_many_cached(keys, alias).await;
}

struct InstalledCaches {
    /// The installed caches, `None` until `configure_caches` runs.
    caches: RwLock<Option<Caches>>,
    /// Whether the "not configured" error was logged already (it is logged once).
    reported_missing: AtomicBool,
}

impl InstalledCaches {
    const fn new() -> Self {
        Self {
            caches: RwLock::new(None),
            reported_missing: AtomicBool::new(false),
        }
    }

    fn install(&self, caches: Caches) {
        *self.caches.write().unwrap_or_else(PoisonError::into_inner) = Some(caches);
    }

    /// The installed cache of `alias`, cloned out so no lock is held across an await.
    fn cache(&self, alias: Alias) -> Option<Cache> {
        let installed = self.caches.read().unwrap_or_else(PoisonError::into_inner);
        let cache = installed.as_ref().map(|caches| caches.get(alias).clone());
        drop(installed);
        if cache.is_none() {
            if self.reported_missing.swap(true, Ordering::Relaxed) {
                tracing::debug!(%alias, "{NOT_CONFIGURED}");
            } else {
                tracing::error!(%alias, "{NOT_CONFIGURED}");
            }
        }
        cache
    }

    async fn get_cached<T: DeserializeOwned>(&self, key: &str, alias: Alias) -> Option<T> {
        match self.cache(alias)?.get(key).await {
            Ok(value) => value,
            Err(error) => {
                log_swallowed(alias, "get", key, &error);
                None
            }
        }
    }

    async fn set_cached<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
        alias: Alias,
    ) {
        if let Some(cache) = self.cache(alias)
            && let Err(error) = cache.set(key, value, ttl).await
        {
            log_swallowed(alias, "set", key, &error);
        }
    }

    async fn delete_cached(&self, key: &str, alias: Alias) {
        if let Some(cache) = self.cache(alias)
            && let Err(error) = cache.delete(key).await
        {
            log_swallowed(alias, "delete", key, &error);
        }
    }

    async fn exists_cached(&self, key: &str, alias: Alias) -> bool {
        let Some(cache) = self.cache(alias) else {
            return false;
        };
        match cache.exists(key).await {
            Ok(found) => found,
            Err(error) => {
                log_swallowed(alias, "exists", key, &error);
                false
            }
        }
    }

    async fn incr_cached(
        &self,
        key: &str,
        by: i64,
        ttl: Option<Duration>,
        alias: Alias,
    ) -> Option<i64> {
        match self.cache(alias)?.incr(key, by, ttl).await {
            Ok(count) => Some(count),
            Err(error) => {
                log_swallowed(alias, "incr", key, &error);
                None
            }
        }
    }

    async fn decr_cached(
        &self,
        key: &str,
        by: i64,
        ttl: Option<Duration>,
        alias: Alias,
    ) -> Option<i64> {
        match self.cache(alias)?.decr(key, by, ttl).await {
            Ok(count) => Some(count),
            Err(error) => {
                log_swallowed(alias, "decr", key, &error);
                None
            }
        }
    }

    async fn add_cached<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
        alias: Alias,
    ) -> bool {
        let Some(cache) = self.cache(alias) else {
            return false;
        };
        match cache.add(key, value, ttl).await {
            Ok(stored) => stored,
            Err(error) => {
                log_swallowed(alias, "add", key, &error);
                false
            }
        }
    }

    async fn take_cached<T: DeserializeOwned>(&self, key: &str, alias: Alias) -> Option<T> {
        match self.cache(alias)?.take(key).await {
            Ok(value) => value,
            Err(error) => {
                log_swallowed(alias, "take", key, &error);
                None
            }
        }
    }

    async fn get_many_cached<T: DeserializeOwned>(
        &self,
        keys: &[&str],
        alias: Alias,
    ) -> Vec<Option<T>> {
        let Some(cache) = self.cache(alias) else {
            return keys.iter().map(|_| None).collect();
        };
        match cache.get_many(keys).await {
            Ok(values) => values,
            Err(error) => {
                log_swallowed(alias, "get many", &keys.join(" "), &error);
                keys.iter().map(|_| None).collect()
            }
        }
    }

    async fn set_many_cached<T: Serialize>(
        &self,
        entries: &[(&str, T)],
        ttl: Option<Duration>,
        alias: Alias,
    ) {
        if let Some(cache) = self.cache(alias)
            && let Err(error) = cache.set_many(entries, ttl).await
        {
            let keys: Vec<&str> = entries.iter().map(|(key, _)| *key).collect();
            log_swallowed(alias, "set many", &keys.join(" "), &error);
        }
    }

    async fn delete_many_cached(&self, keys: &[&str], alias: Alias) {
        if let Some(cache) = self.cache(alias)
            && let Err(error) = cache.delete_many(keys).await
        {
            log_swallowed(alias, "delete many", &keys.join(" "), &error);
        }
    }

    async fn get_or_set_cached<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        alias: Alias,
        loader: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match self.cache(alias) {
            Some(cache) => cache.get_or_set_with(key, ttl, loader).await,
            None => loader().await,
        }
    }

    async fn invalidate_tag(&self, tag: &str, alias: Alias) {
        if let Some(cache) = self.cache(alias)
            && let Err(error) = cache.invalidate_tag(tag).await
        {
            log_swallowed(alias, "invalidate tag", tag, &error);
        }
    }

    async fn clear_cache(&self, alias: Alias) {
        if let Some(cache) = self.cache(alias)
            && let Err(error) = cache.clear().await
        {
            log_swallowed(alias, "clear", "*", &error);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{InstalledCaches, NOT_CONFIGURED};
    use crate::settings::CacheSettings;
    use crate::test_support::{CapturedLogs, capture_logs};
    use crate::{Alias, Caches};

    fn lines(logs: &CapturedLogs) -> Vec<String> {
        logs.text().lines().map(str::to_owned).collect()
    }

    #[tokio::test]
    async fn before_configuration_everything_misses_and_one_error_says_how_to_fix_it() {
        let (_guard, logs) = capture_logs();
        let installed = InstalledCaches::new();
        installed.set_cached("key", &1, None, Alias::Memory).await;
        assert_eq!(
            installed.get_cached::<i32>("key", Alias::Memory).await,
            None
        );
        installed.delete_cached("key", Alias::Persistent).await;
        installed.clear_cache(Alias::Persistent).await;
        let lines = lines(&logs);
        let errors: Vec<&String> = lines.iter().filter(|line| line.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{lines:#?}");
        assert!(errors[0].contains(NOT_CONFIGURED), "{lines:#?}");
    }

    #[tokio::test]
    async fn cache_aside_before_configuration_runs_the_loader_every_time() {
        let (_guard, logs) = capture_logs();
        let installed = InstalledCaches::new();
        let mut loads = 0;
        for _ in 0..2 {
            let value = installed
                .get_or_set_cached("key", None, Alias::Memory, || {
                    loads += 1;
                    async { Ok::<_, std::convert::Infallible>(7) }
                })
                .await;
            assert_eq!(value, Ok(7));
        }
        assert_eq!(loads, 2, "nothing to keep the value in");
        let lines = lines(&logs);
        let errors = lines.iter().filter(|line| line.contains("ERROR")).count();
        assert_eq!(errors, 1, "{lines:#?}");
        installed.install(Caches::from_settings(&CacheSettings::default()));
        for _ in 0..2 {
            let value = installed
                .get_or_set_cached("key", None, Alias::Memory, || {
                    loads += 1;
                    async { Ok::<_, std::convert::Infallible>(8) }
                })
                .await;
            assert_eq!(value, Ok(8));
        }
        assert_eq!(loads, 3, "installed: the second call is a hit");
    }

    #[tokio::test]
    async fn the_last_installed_caches_win() {
        let installed = InstalledCaches::new();
        let first = Caches::from_settings(&CacheSettings::default());
        let second = Caches::from_settings(&CacheSettings::default());
        installed.install(first.clone());
        installed
            .set_cached("key", "first", None, Alias::Memory)
            .await;
        installed.install(second.clone());
        assert_eq!(
            installed.get_cached::<String>("key", Alias::Memory).await,
            None
        );
        installed
            .set_cached("key", "second", None, Alias::Memory)
            .await;
        assert_eq!(
            first
                .memory()
                .get::<String>("key")
                .await
                .unwrap()
                .as_deref(),
            Some("first")
        );
        assert_eq!(
            second
                .memory()
                .get::<String>("key")
                .await
                .unwrap()
                .as_deref(),
            Some("second")
        );
    }

    #[tokio::test]
    async fn failures_are_logged_and_swallowed() {
        let (_guard, logs) = capture_logs();
        let installed = InstalledCaches::new();
        installed.install(Caches::from_settings(&CacheSettings::default()));
        installed
            .set_cached("key", &1, Some(Duration::ZERO), Alias::Memory)
            .await;
        assert_eq!(
            installed.get_cached::<i32>("key", Alias::Memory).await,
            None
        );
        let lines = lines(&logs);
        assert!(
            lines
                .iter()
                .any(|line| line.contains("WARN") && line.contains("at least 1 ms")),
            "{lines:#?}"
        );
    }

    #[tokio::test]
    async fn the_atomic_operations_fail_open_as_documented() {
        let installed = InstalledCaches::new();
        // Not configured: absent, no count, not stored, nothing taken.
        assert!(!installed.exists_cached("key", Alias::Memory).await);
        assert_eq!(
            installed.incr_cached("key", 1, None, Alias::Memory).await,
            None
        );
        assert!(!installed.add_cached("key", &1, None, Alias::Memory).await);
        assert_eq!(
            installed.take_cached::<i32>("key", Alias::Memory).await,
            None
        );

        installed.install(Caches::from_settings(&CacheSettings::default()));
        assert!(
            installed
                .add_cached("key", "text", None, Alias::Memory)
                .await
        );
        assert!(installed.exists_cached("key", Alias::Memory).await);
        // Failures: a key that holds no counter, a zero TTL.
        assert_eq!(
            installed.incr_cached("key", 1, None, Alias::Memory).await,
            None
        );
        assert_eq!(
            installed.decr_cached("key", 1, None, Alias::Memory).await,
            None
        );
        assert!(
            !installed
                .add_cached("other", &1, Some(Duration::ZERO), Alias::Memory)
                .await
        );
        assert_eq!(
            installed.incr_cached("n", 2, None, Alias::Memory).await,
            Some(2)
        );
        assert_eq!(
            installed.decr_cached("n", 3, None, Alias::Memory).await,
            Some(-1)
        );
        assert_eq!(
            installed
                .take_cached::<String>("key", Alias::Memory)
                .await
                .as_deref(),
            Some("text")
        );
        assert!(!installed.exists_cached("key", Alias::Memory).await);
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn on_an_unreachable_redis_the_atomic_operations_fail_open() {
        // A port nothing listens on: every command is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = CacheSettings {
            redis: crate::settings::RedisSettings {
                url: Some(crate::settings::Secret::new(format!(
                    "redis://127.0.0.1:{port}"
                ))),
                ..crate::settings::RedisSettings::default()
            },
            ..CacheSettings::default()
        };
        let installed = InstalledCaches::new();
        let caches = Caches::from_settings(&settings);
        installed.install(caches.clone());
        assert!(!installed.exists_cached("key", Alias::Persistent).await);
        assert_eq!(
            installed
                .incr_cached("key", 1, None, Alias::Persistent)
                .await,
            None
        );
        assert!(
            !installed
                .add_cached("key", &1, None, Alias::Persistent)
                .await,
            "not stored"
        );
        assert_eq!(
            installed.take_cached::<i32>("key", Alias::Persistent).await,
            None
        );
        assert_eq!(caches.persistent().stats().errors, 4);
    }

    #[tokio::test]
    async fn the_free_functions_use_what_configure_caches_installed() {
        // The only test in this binary that touches the process-wide caches.
        let caches = super::configure_caches(&CacheSettings {
            prefix: "global-test".into(),
            ..CacheSettings::default()
        });
        super::set_cached("key", &[1, 2], None, Alias::Persistent).await;
        assert_eq!(
            caches.persistent().get::<Vec<i32>>("key").await.unwrap(),
            Some(vec![1, 2])
        );
        assert_eq!(
            super::get_cached::<Vec<i32>>("key", Alias::Persistent).await,
            Some(vec![1, 2])
        );
        assert_eq!(
            super::get_cached::<Vec<i32>>("key", Alias::Memory).await,
            None
        );
        super::delete_cached("key", Alias::Persistent).await;
        assert_eq!(
            caches.persistent().get::<Vec<i32>>("key").await.unwrap(),
            None
        );
        super::set_cached("other", "x", None, Alias::Memory).await;
        super::clear_cache(Alias::Memory).await;
        assert_eq!(caches.memory().stats().hits, 0);
        assert_eq!(caches.memory().get::<String>("other").await.unwrap(), None);
    }
}
