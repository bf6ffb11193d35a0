//! `services::cache`: the service's two caches, `memory` and `persistent`.
//!
{%- if redis %}
//! `memory` always lives in this process. `persistent` lives in Redis when
//! `CACHE_REDIS_HOST` or `CACHE_REDIS_URL` is set, and otherwise in a second, separate
//! in-process store.
{%- else %}
//! `memory` lives in this process, and so does `persistent`, in a second, separate
//! store (this service was generated without Redis support).
{%- endif %}
//! Values are any serde type, stored as JSON; every entry expires (the alias's default
//! TTL from settings unless the caller gives one); keys live under `CACHE_PREFIX`; the
//! in-process stores are bounded by `CACHE_MEMORY_MAX_CAPACITY`; and `CACHE_ENABLED=false`
//! turns every operation into a no-op{% if redis %} that never touches Redis{% endif %}.
//!
//! There are two ways in:
//! - the free functions [`get_cached`], [`set_cached`], [`delete_cached`] and
//!   [`clear_cache`], and the atomic [`exists_cached`], [`incr_cached`] /
//!   [`decr_cached`] (counters), [`add_cached`] (store if absent) and [`take_cached`]
//!   (read and delete), use the caches that every entrypoint installs at start-up with
//!   [`configure_caches`]. They fail open: a cache error is logged and reads as a miss.
//! - a [`Caches`] handle, cheap to clone into `web::Data` or a test, gives each alias's
//!   [`Cache`], whose methods return `Result`, plus cache-aside
//!   ([`Cache::get_or_set_with`], one load per key however many callers miss at once;
//!   [`Cache::get_or_refresh_with`] adds stale-while-revalidate and stale-if-error from
//!   a [`Policy`]), tags ([`Cache::set_with`], [`Cache::invalidate_tag`]) and
//!   hit/miss/error statistics.
//!
//! Every key on Redis carries `CACHE_VERSION` after the prefix, so changing it on a
//! deploy leaves the old entries unreachable (they expire on their own, or
//! [`Cache::clear_all_versions`] removes them).
{%- if redis %}
//!
//! Redis is reached lazily (the service starts while Redis is down), every command is
//! bounded by `CACHE_REDIS_TIMEOUT_MS`, and the connection comes back by itself.
{%- endif %}
//!
//! ```
//! use {{crate_name}}::services::cache::{Alias, configure_caches, get_cached, set_cached};
//! use {{crate_name}}::settings::CacheSettings;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Every entrypoint does this at start-up with `settings.cache`.
//! let caches = configure_caches(&CacheSettings::default());
//!
//! set_cached("greeting", "hello", None, Alias::Memory).await;
//! let greeting: Option<String> = get_cached("greeting", Alias::Memory).await;
//! assert_eq!(greeting.as_deref(), Some("hello"));
//! assert_eq!(get_cached::<String>("greeting", Alias::Persistent).await, None, "aliases are separate");
//!
//! // The same caches through the handle, with errors visible.
//! assert_eq!(caches.memory().get::<String>("greeting").await?.as_deref(), Some("hello"));
//! # Ok(())
//! # }
//! ```

mod alias;
{%- if redis %}
mod breaker;
mod compression;
mod connection;
{%- endif %}
mod error;
mod glob;
mod global;
mod handle;
mod key_buffer;
{%- if redis %}
mod l1;
{%- endif %}
mod memory;
mod policy;
{%- if redis %}
mod redis;
mod redis_metrics;
{%- endif %}
mod refresh;
mod single_flight;
mod stats;
mod store;
mod tag_index;
{%- if redis %}
mod tracking;
{%- endif %}

use std::fmt;
use std::sync::Arc;

pub use alias::{Alias, UnknownAlias};
pub use error::CacheError;
pub use global::{
    add_cached, clear_cache, configure_caches, decr_cached, delete_cached, exists_cached,
    get_cached, incr_cached, install_caches, invalidate_tag, set_cached, take_cached,
};
pub use handle::{Cache, MAX_TTL};
{%- if web %}
pub(crate) use policy::Age;
{%- endif %}
pub use policy::Policy;
pub use refresh::Refresh;
pub use stats::{CacheStats, Operation, Outcome, StaleStats};
pub use store::Backend;

use crate::settings::CacheSettings;
use memory::MemoryStore;
use store::Store;

/// Both aliases' caches, built once from the settings.
///
/// Cloning is cheap (one reference count) and every clone shares the same stores, so
/// hand clones to `web::Data`, workers and tests freely.
///
/// ```
/// use {{crate_name}}::services::cache::{Alias, Caches};
/// use {{crate_name}}::settings::CacheSettings;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let caches = Caches::from_settings(&CacheSettings::default());
/// let shared = caches.clone();
/// caches.get(Alias::Memory).set("key", &1, None).await?;
/// assert_eq!(shared.memory().get::<i32>("key").await?, Some(1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Caches {
    /// Indexed by [`Alias::index`].
    aliases: Arc<[Cache; 2]>,
}

impl Caches {
    /// Builds both caches from the settings, without installing them for the free
    /// functions (that is [`configure_caches`]). Never fails and never waits: Redis is
    /// only contacted by the first operation that needs it, and needs no runtime yet.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use {{crate_name}}::services::cache::{Backend, Caches};
    /// use {{crate_name}}::settings::CacheSettings;
    ///
    /// let settings = CacheSettings { default_ttl: Duration::from_secs(60), ..CacheSettings::default() };
    /// let caches = Caches::from_settings(&settings);
    /// assert_eq!(caches.memory().default_ttl(), Duration::from_secs(60));
    /// assert_eq!(caches.memory().backend(), Backend::Memory);
    /// ```
    pub fn from_settings(settings: &CacheSettings) -> Self {
        let (memory, persistent) = if settings.enabled {
            (
                Store::Memory(MemoryStore::new(settings.memory_max_capacity)),
                persistent_store(settings),
            )
        } else {
            (Store::Disabled, Store::Disabled)
        };
        let aliases = [
            Cache::new(Alias::Memory, settings.default_ttl, memory),
            Cache::new(Alias::Persistent, settings.persistent_ttl, persistent),
        ];
        Self {
            aliases: Arc::new(aliases),
        }
    }

    /// The cache of `alias`.
    ///
    /// ```
    /// # use {{crate_name}}::services::cache::{Alias, Caches};
    /// # use {{crate_name}}::settings::CacheSettings;
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// let alias: Alias = "persistent".parse()?;
    /// assert_eq!(caches.get(alias).alias(), alias);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, alias: Alias) -> &Cache {
        &self.aliases[alias.index()]
    }

    /// The `memory` alias's cache.
    ///
    /// ```
    /// # use {{crate_name}}::services::cache::{Alias, Caches};
    /// # use {{crate_name}}::settings::CacheSettings;
    /// assert_eq!(Caches::from_settings(&CacheSettings::default()).memory().alias(), Alias::Memory);
    /// ```
    pub fn memory(&self) -> &Cache {
        self.get(Alias::Memory)
    }

    /// The `persistent` alias's cache.
    ///
    /// ```
    /// # use {{crate_name}}::services::cache::{Alias, Caches};
    /// # use {{crate_name}}::settings::CacheSettings;
    /// assert_eq!(Caches::from_settings(&CacheSettings::default()).persistent().alias(), Alias::Persistent);
    /// ```
    pub fn persistent(&self) -> &Cache {
        self.get(Alias::Persistent)
    }

    /// Both caches, in the order of [`Alias::ALL`] (for stats and readiness).
    ///
    /// ```
    /// # use {{crate_name}}::services::cache::Caches;
    /// # use {{crate_name}}::settings::CacheSettings;
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// let names: Vec<String> = caches.iter().map(|cache| cache.alias().to_string()).collect();
    /// assert_eq!(names, ["memory", "persistent"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &Cache> {
        self.aliases.iter()
    }
}

impl fmt::Debug for Caches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caches")
            .field("memory", self.memory())
            .field("persistent", self.persistent())
            .finish()
    }
}

/// The `persistent` alias's backend: Redis when configured, else its own in-process store.
fn persistent_store(settings: &CacheSettings) -> Store {
{%- if redis %}
    if let Some(mode) = settings.redis.mode() {
        return Store::Redis(Box::new(redis::RedisStore::new(
            &settings.redis,
            &mode,
            (&settings.prefix, &settings.version),
            (settings.persistent_l1_capacity, settings.persistent_l1_ttl),
            settings.compress_min_bytes,
        )));
    }
{%- endif %}
    Store::Memory(MemoryStore::new(settings.memory_max_capacity))
}
