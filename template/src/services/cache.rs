//! `services::cache`: the service's two caches, `memory` and `persistent`.
//!
//! The engine is the `service-cache` crate (`crates/cache`, whose README is the cache
//! manual); this module is where the service meets it. Every mode builds both aliases at
//! start-up from `settings.cache` (the `CACHE_*` variables: default TTLs, bounds, Redis,
//! `CACHE_ENABLED`) in `AppContext::build`, which also installs them for the free
//! functions, so `get_cached` and friends work anywhere without a handle.
//!
//! - `memory` is always in-process; `persistent` is Redis when `CACHE_REDIS_HOST` (or the
//!   URL, cluster or sentinel nodes) is set, else a second, separate in-process store.
//! - [`get_cached`], [`set_cached`], [`delete_cached`] and [`clear_cache`] (and the atomic
//!   `exists_cached`, `incr_cached`, `add_cached`, `take_cached`) fail open: a cache error
//!   is logged and reads as a miss.
//! - [`cached`] memoises an async function on the installed caches:
//!   `#[cached(alias = "persistent", ttl = "10m", key = "user:{id}")]` over an
//!   `async fn ... -> Result<T, E>` (one load per key, errors never stored).
//! - [`Caches`], in `AppContext`, gives each alias's [`Cache`], whose methods return
//!   `Result` and add cache-aside, tags, stale answers and statistics.
//!
//! ```
//! use {{crate_name}}::services::cache::{Alias, configure_caches, get_cached, set_cached};
//! use {{crate_name}}::settings::Settings;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::from_vars([("CACHE_DEFAULT_TTL", "60")])?;
//! configure_caches(&settings.cache); // what every mode's start-up does
//!
//! set_cached("greeting", "hello", None, Alias::Memory).await;
//! let greeting: Option<String> = get_cached("greeting", Alias::Memory).await;
//! assert_eq!(greeting.as_deref(), Some("hello"));
//! # Ok(())
//! # }
//! ```

pub use service_cache::{
    Alias, Backend, Cache, CacheError, CacheStats, Caches, MAX_TTL, Operation, Outcome, Policy,
    StaleStats, add_cached, cached, clear_cache, configure_caches, decr_cached, delete_cached,
    exists_cached, get_cached, get_or_set_cached, incr_cached, install_caches, invalidate_tag,
    set_cached, take_cached,
};
