//! `service-cache`: a service's two caches, `memory` and `persistent`.
//!
//! `memory` always lives in this process. `persistent` lives in Redis when one is
//! configured (`CACHE_REDIS_HOST`, `CACHE_REDIS_URL`, cluster or sentinel nodes; the
//! `redis` feature), and otherwise in a second, separate in-process store.
//! Values are any serde type, stored as JSON; every entry expires (the alias's default
//! TTL from settings unless the caller gives one); keys live under `CACHE_PREFIX`; the
//! in-process stores are bounded by `CACHE_MEMORY_MAX_CAPACITY`; and `CACHE_ENABLED=false`
//! turns every operation into a no-op that never touches Redis.
//!
//! There are two ways in:
//! - the free functions [`get_cached`], [`set_cached`], [`delete_cached`] and
//!   [`clear_cache`], and the atomic [`exists_cached`], [`incr_cached`] /
//!   [`decr_cached`] (counters), [`add_cached`] (store if absent) and [`take_cached`]
//!   (read and delete), and cache-aside [`get_or_set_cached`] (also as the attribute
//!   `#[cached]`, feature `macros`), use the caches installed at start-up with
//!   [`configure_caches`] or [`install_caches`]. They fail open: a cache error is logged
//!   and reads as a miss.
//! - a [`Caches`] handle, cheap to clone into `web::Data` or a test, gives each alias's
//!   [`Cache`], whose methods return `Result`, plus cache-aside
//!   ([`Cache::get_or_set_with`], one load per key however many callers miss at once;
//!   [`Cache::get_or_refresh_with`] adds stale-while-revalidate and stale-if-error from
//!   a [`Policy`]), tags ([`Cache::set_with`], [`Cache::invalidate_tag`]) and
//!   hit/miss/error statistics.
//!
//! Every key on Redis carries `CACHE_VERSION` after the prefix, so changing it on a
//! deploy leaves the old entries unreachable (they expire on their own, or
//! [`Cache::clear_all_versions`] removes them). Redis is reached lazily (a service
//! starts while Redis is down), every command is bounded by `CACHE_REDIS_TIMEOUT_MS`,
//! and the connection comes back by itself.
//!
//! ```
//! use service_cache::{Alias, CacheSettings, configure_caches, get_cached, set_cached};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A service does this once at start-up, with the settings read from CACHE_*.
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
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `redis` | the persistent alias on Redis: one server, Cluster, Sentinel, TLS, the L1, compression |
//! | `actix` | [`EndpointCache`](endpoint::EndpointCache): read-through and invalidation for actix-web resources |
//! | `prometheus` | [`CacheCollector`](metrics::CacheCollector): the caches' series for a Prometheus registry |
//! | `cli` | [`CacheCommand`](cli::CacheCommand): `cache get/set/delete/clear/stats/...` for a clap command line |
//! | `macros` | [`cached`]: `#[cached(alias = "persistent", ttl = "10m", key = "user:{id}")]` on an async fn |
//! | `test-support` | [`test_support`]: real Redis servers, clusters and sentinels for tests, and a log capture |
//!
//! # Layout
//!
//! - [`settings`]: `CACHE_*` and `CACHE_REDIS_*` read and checked ([`CacheSettings`], [`Secret`]).
//! - `alias`: [`Alias`], the name of one of the two caches.
//! - `caches`: [`Caches`], both aliases built from the settings.
//! - `cache`: [`Cache`], one alias's handle: its state, statistics and shared helpers.
//! - `cache/typed`: get, set and delete a serde value.
//! - `cache/json_text`: the same for JSON text, undecoded.
//! - `cache/atomic`: exists, counters, store-if-absent and read-and-delete.
//! - `cache/tags`: writes carrying a policy's tags, and invalidating a tag.
//! - `cache/maintenance`: deleting by pattern, clearing an alias, pinging its backend.
//! - `cache/cache_aside`: the value under a key or a loader's, one load per key.
//! - `cache/read_through`: the freshness state machine of cache-aside and the endpoint.
//! - `installed`: the process-wide caches behind [`get_cached`] and the other free functions.
//! - `policy`: [`Policy`], an entry's TTL, stale windows and tags, and its age.
//! - `refresh`: [`Refresh`], at most one background refresh per key.
//! - `single_flight`: at most one load per key, its value shared with every waiter.
//! - `stats`: hit, miss and error counters ([`CacheStats`], [`StaleStats`]).
//! - `error`: [`CacheError`].
//! - `store`: [`Backend`], and what an alias keeps its values in.
//! - `memory`: the in-process store.
//! - `tag_index`: the in-process store's tags.
//! - `glob`: pattern matching for `delete_matching`.
//! - `key_buffer`: key formatting without allocation.
//! - `redis` (feature `redis`): the Redis store.
//! - `connection`: reaching one server, a Cluster or Sentinel's primary, with TLS.
//! - `breaker`: failing fast while Redis is down.
//! - `l1`: the in-process copy of hot Redis entries.
//! - `tracking`: Redis client tracking, which keeps the L1 coherent.
//! - `compression`: LZ4 for large values in Redis.
//! - `redis_metrics`: the Redis store's Prometheus series.
//! - [`endpoint`] (feature `actix`): [`EndpointCache`](endpoint::EndpointCache), for actix-web routes.
//! - [`rate_limit`] (feature `actix`): [`RateLimit`](rate_limit::RateLimit), a shared request budget per client.
//! - [`metrics`] (feature `prometheus`): [`CacheCollector`](metrics::CacheCollector).
//! - [`cli`] (feature `cli`): [`CacheCommand`](cli::CacheCommand), `cache …` for a clap command line.
//! - [`test_support`] (feature `test-support`): real Redis servers for tests, and a log capture.

mod alias;
#[cfg(feature = "redis")]
mod breaker;
mod cache;
mod caches;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "redis")]
mod compression;
#[cfg(feature = "redis")]
mod connection;
#[cfg(feature = "actix")]
pub mod endpoint;
mod error;
mod glob;
mod installed;
mod key_buffer;
#[cfg(feature = "redis")]
mod l1;
mod lease;
mod memory;
#[cfg(feature = "prometheus")]
pub mod metrics;
mod policy;
#[cfg(feature = "actix")]
pub mod rate_limit;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_metrics;
mod refresh;
pub mod settings;
mod single_flight;
mod stats;
mod store;
mod tag_index;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
mod token;
#[cfg(feature = "redis")]
mod tracking;

pub use alias::{Alias, UnknownAlias};
pub use cache::{Cache, LockGuard, MAX_TTL};
pub use caches::Caches;
pub use error::CacheError;
pub use installed::{
    add_cached, clear_cache, configure_caches, decr_cached, delete_cached, delete_many_cached,
    exists_cached, get_cached, get_many_cached, get_or_set_cached, incr_cached, install_caches,
    invalidate_tag, set_cached, set_many_cached, take_cached,
};
pub use policy::Policy;
#[cfg(feature = "redis")]
pub use redis::MAX_PENDING_INVALIDATIONS;
pub use refresh::Refresh;
/// Cache-aside for an async function: its `Ok` values are kept in the installed caches
/// under a key made of its arguments (feature `macros`).
///
/// `#[cached(alias = "persistent", ttl = "10m", key = "user:{id}")]` turns the function
/// into [`get_or_set_cached`] with its body as the loader: a hit returns the stored
/// value without running the body; on a miss the body runs once per key however many
/// callers miss at once, and its `Ok` value is stored for the TTL. An `Err` is returned
/// to its caller and never stored. Like the other free functions it fails open: a cache
/// error reads as a miss, and before [`configure_caches`] the body runs every time.
///
/// - `key` (required): text and `{name}` placeholders, each an argument of the function
///   formatted with `Display` (`{{` and `}}` are literal braces). Name every argument
///   the result depends on: two calls with the same key share one value.
/// - `alias`: `"memory"` (the default) or `"persistent"`.
/// - `ttl`: `"500ms"`, `"30s"`, `"10m"` or `"1h"`; left out, the alias's default TTL.
///
/// The function must be `async` and return `Result<T, E>` (spelt `Result`, as in
/// `anyhow::Result<T>`), with `T: Serialize + DeserializeOwned + Clone + Send + Sync`;
/// for a load that cannot fail, return `Result<T, std::convert::Infallible>`. Methods
/// (`&self`) work too. Any other use is a compile error at the token at fault, with the
/// fix: an unknown placeholder, a TTL without its unit, an unknown alias.
///
/// The expansion names the engine `::service_cache`, so the service depends on it
/// under that name (the template's manifest does).
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// use service_cache::{CacheSettings, cached, configure_caches};
///
/// static QUERIES: AtomicU32 = AtomicU32::new(0);
///
/// # async fn fetch_user_from_database(user_id: u32) -> Result<String, std::io::Error> {
/// #     QUERIES.fetch_add(1, Ordering::Relaxed);
/// #     Ok(format!("user {user_id}"))
/// # }
/// #[cached(alias = "persistent", ttl = "10m", key = "user:{user_id}")]
/// async fn get_user_data(user_id: u32) -> Result<String, std::io::Error> {
///     // Expensive operation here
///     fetch_user_from_database(user_id).await
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), std::io::Error> {
/// configure_caches(&CacheSettings::default()); // every mode's start-up does this
/// assert_eq!(get_user_data(7).await?, "user 7");
/// assert_eq!(get_user_data(7).await?, "user 7");
/// assert_eq!(QUERIES.load(Ordering::Relaxed), 1, "the second call is a hit");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "macros")]
pub use service_cache_macros::cached;
pub use settings::{CachePreset, CacheSettings, Secret};
#[cfg(feature = "redis")]
pub use settings::{NodeAddress, RedisMode, RedisSettings};
pub use stats::{CacheStats, Operation, Outcome, StaleStats};
pub use store::Backend;
