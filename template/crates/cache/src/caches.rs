//! [`Caches`]: both aliases' caches, built once from [`CacheSettings`].

use std::fmt;
use std::sync::Arc;

use crate::memory::MemoryStore;
use crate::settings::CacheSettings;
use crate::store::Backing;
use crate::{Alias, Cache};

/// Both aliases' caches, built once from the settings.
///
/// Cloning is cheap (one reference count) and every clone shares the same stores, so
/// hand clones to `web::Data`, workers and tests freely.
///
/// ```
/// use service_cache::{Alias, CacheSettings, Caches};
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
    /// functions (that is [`configure_caches`](crate::configure_caches)). Never fails
    /// and never waits: Redis is only contacted by the first operation that needs it,
    /// and needs no runtime yet.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use service_cache::{Backend, CacheSettings, Caches};
    ///
    /// let settings = CacheSettings { default_ttl: Duration::from_secs(60), ..CacheSettings::default() };
    /// let caches = Caches::from_settings(&settings);
    /// assert_eq!(caches.memory().default_ttl(), Duration::from_secs(60));
    /// assert_eq!(caches.memory().backend(), Backend::Memory);
    /// ```
    pub fn from_settings(settings: &CacheSettings) -> Self {
        let (memory, persistent) = if settings.enabled {
            (
                Backing::Memory(MemoryStore::new(settings.memory_max_capacity)),
                persistent_store(settings),
            )
        } else {
            (Backing::Disabled, Backing::Disabled)
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
    /// # use service_cache::{Alias, CacheSettings, Caches};
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
    /// # use service_cache::{Alias, CacheSettings, Caches};
    /// assert_eq!(Caches::from_settings(&CacheSettings::default()).memory().alias(), Alias::Memory);
    /// ```
    pub fn memory(&self) -> &Cache {
        self.get(Alias::Memory)
    }

    /// The `persistent` alias's cache.
    ///
    /// ```
    /// # use service_cache::{Alias, CacheSettings, Caches};
    /// assert_eq!(Caches::from_settings(&CacheSettings::default()).persistent().alias(), Alias::Persistent);
    /// ```
    pub fn persistent(&self) -> &Cache {
        self.get(Alias::Persistent)
    }

    /// Both caches, in the order of [`Alias::ALL`] (for stats and readiness).
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
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
fn persistent_store(settings: &CacheSettings) -> Backing {
    #[cfg(feature = "redis")]
    if let Some(mode) = settings.redis.mode() {
        return Backing::Redis(Box::new(crate::redis::RedisStore::new(
            &settings.redis,
            &mode,
            (&settings.prefix, &settings.version),
            (settings.persistent_l1_capacity, settings.persistent_l1_ttl),
            settings.compress_min_bytes,
        )));
    }
    Backing::Memory(MemoryStore::new(settings.memory_max_capacity))
}
