//! Cache-aside: the value under a key, or else a loader's, stored for the next caller;
//! one load per key however many callers miss it at once.
//!
//! - [`Cache::get_or_set_with`]: typed values for a TTL;
//! - [`Cache::get_or_refresh_with`]: typed values under a [`Policy`], with
//!   stale-while-revalidate and stale-if-error (the [`read_through`](super::read_through)
//!   machine, refreshing on the caller's Tokio runtime);
//! - [`Cache::get_json_or_set_with`]: JSON text passed on undecoded.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::read_through::{Answer, JsonText};
use super::{Cache, log_swallowed};
use crate::Policy;

impl Cache {
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
        let policy = Policy::fresh_for_or_default(ttl);
        let (value, _) = self.load_once(key, &policy, loader).await?;
        Ok(value)
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
        let answer = self.read_through(key, policy, loader, |_: &E| true).await?;
        let Answer::Stale(value, Some(refresh)) = answer else {
            return Ok(answer.into_value());
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(refresh.run());
            }
            Err(_) => {
                tracing::debug!(alias = %self.alias(), key, "no Tokio runtime to refresh a stale entry on");
            }
        }
        Ok(value)
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
        // `RawValue` is JSON by construction, so it is stored without `set_raw`'s check;
        // as `JsonText`, the endpoint cache's loads, so the two share a load of one key.
        let policy = Policy::fresh_for_or_default(ttl);
        let load = || async { loader().await.map(JsonText::from) };
        let (json, _) = self.load_once(key, &policy, load).await?;
        Ok(json.0)
    }
}
