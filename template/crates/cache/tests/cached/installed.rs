//! The caches a test installs for the decorated functions, one test at a time.

use service_cache::{CacheSettings, Caches, configure_caches};
#[cfg(feature = "redis")]
use service_cache::{RedisSettings, Secret, test_support::RedisServer};
use tokio::sync::{Mutex, MutexGuard};

/// Held while a test uses the caches it installed.
static ONE_TEST_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Where the persistent alias lives in a test.
pub enum Backing {
    /// A second in-process store.
    InProcess,
    /// A real Redis server, stopped when this is dropped.
    #[cfg(feature = "redis")]
    Redis(RedisServer),
}

impl Backing {
    /// Every backing this build has: in-process, and Redis with the `redis` feature.
    pub fn all() -> Vec<Self> {
        vec![
            Self::InProcess,
            #[cfg(feature = "redis")]
            Self::Redis(RedisServer::start()),
        ]
    }

    /// Installs caches on this backing, keys under `prefix`, for the free functions and
    /// so for `#[cached]`; the guard keeps other tests from installing theirs meanwhile.
    pub async fn install(&self, prefix: &str) -> (MutexGuard<'static, ()>, Caches) {
        let guard = ONE_TEST_AT_A_TIME.lock().await;
        let settings = CacheSettings {
            prefix: prefix.to_owned(),
            #[cfg(feature = "redis")]
            redis: match self {
                Self::InProcess => RedisSettings::default(),
                Self::Redis(server) => RedisSettings {
                    url: Some(Secret::new(server.url())),
                    ..RedisSettings::default()
                },
            },
            ..CacheSettings::default()
        };
        (guard, configure_caches(&settings))
    }

    /// The Redis server, if the persistent alias is on one.
    #[cfg(feature = "redis")]
    pub fn redis(&self) -> Option<&RedisServer> {
        match self {
            Self::InProcess => None,
            Self::Redis(server) => Some(server),
        }
    }
}
