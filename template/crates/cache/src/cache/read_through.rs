//! The freshness state machine behind [`Cache::get_or_refresh_with`] and the endpoint
//! cache: one read of a key under a [`Policy`], and what follows from the entry's
//! [`Age`].
//!
//! - fresh: answered;
//! - stale (within stale-while-revalidate): answered, and the first caller to find it
//!   so gets a [`RefreshJob`] to spawn, which loads and stores the value in the
//!   background while holding the key's [`Refresh`];
//! - past that, absent, or unreadable: loaded, once per key however many callers miss
//!   together (single flight), and stored; if the load fails while a value within the
//!   stale-if-error window is at hand, and the caller says the error may be covered, that
//!   value answers instead.
//!
//! Spawning is the caller's part: a Tokio task needs `Send`, an actix request's future
//! is not, so [`Answer::Stale`] hands the job over and each caller spawns it on its own
//! runtime. Counting (hits, misses, stale answers, refreshes) and logging happen here.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{Cache, log_swallowed};
use crate::CacheError;
use crate::policy::{Age, Policy};
use crate::refresh::Refresh;
use crate::stats::Operation;

/// A value the machine reads and stores: any serde type, decoded from and encoded to
/// JSON, or [`JsonText`], passed on as it is.
pub(crate) trait CachedValue: Clone + Send + Sync + 'static {
    /// The value stored as `json`.
    ///
    /// # Errors
    /// When `json` does not decode as this type.
    fn decode(json: &Arc<str>) -> Result<Self, serde_json::Error>;

    /// The JSON to store.
    ///
    /// # Errors
    /// When the value cannot be JSON.
    fn encode(&self) -> Result<Cow<'_, str>, serde_json::Error>;

    /// The fresh period this value chose for itself, overriding its policy's TTL when it
    /// is stored; `None` (every value but an endpoint answer with a TTL of its own)
    /// keeps the policy's.
    fn fresh_for(&self) -> Option<Duration> {
        None
    }
}

impl<T> CachedValue for T
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn decode(json: &Arc<str>) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn encode(&self) -> Result<Cow<'_, str>, serde_json::Error> {
        serde_json::to_string(self).map(Cow::Owned)
    }
}

/// Stored JSON text, neither decoded when read nor checked when written: every store
/// hands out JSON only, and a loader makes it from a `RawValue`, JSON by construction.
/// A loader may give it a fresh period of its own (the endpoint cache's per-answer TTL);
/// a value read back has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonText(pub(crate) Arc<str>, pub(crate) Option<Duration>);

impl CachedValue for JsonText {
    fn decode(json: &Arc<str>) -> Result<Self, serde_json::Error> {
        Ok(Self(Arc::clone(json), None))
    }

    fn encode(&self) -> Result<Cow<'_, str>, serde_json::Error> {
        Ok(Cow::Borrowed(&self.0))
    }

    fn fresh_for(&self) -> Option<Duration> {
        self.1
    }
}

impl From<Box<RawValue>> for JsonText {
    fn from(json: Box<RawValue>) -> Self {
        Self(Arc::from(json.get()), None)
    }
}

impl Deref for JsonText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// What [`Cache::read_through`] answered with, and where the value came from.
pub(crate) enum Answer<V, F> {
    /// Fresh in the cache.
    Fresh(V),
    /// Stale, within stale-while-revalidate; with the background refresh to spawn when
    /// this call is the first to find it so (`None`: a refresh of the key runs already).
    Stale(V, Option<RefreshJob<F>>),
    /// Loaded by this call's loader, and stored.
    Loaded(V),
    /// Loaded by another call's loader, which ran at the same moment.
    Joined(V),
    /// The stale value, within stale-if-error, standing in for a failed load (logged
    /// and counted).
    StaleOnError(V),
}

impl<V, F> Answer<V, F> {
    /// The value, however it was found (a refresh job is dropped, unspawned).
    pub(crate) fn into_value(self) -> V {
        match self {
            Answer::Fresh(value)
            | Answer::Stale(value, _)
            | Answer::Loaded(value)
            | Answer::Joined(value)
            | Answer::StaleOnError(value) => value,
        }
    }
}

/// A background refresh of one stale key: runs the loader and stores its value. It
/// holds the key's [`Refresh`] until it ends or is dropped, so no other starts meanwhile.
pub(crate) struct RefreshJob<F> {
    /// The cache to store into.
    cache: Cache,
    /// The stale key.
    key: String,
    /// The policy its new value is stored under.
    policy: Policy,
    /// Makes the new value.
    loader: F,
    /// The key's only refresh.
    refresh: Refresh,
}

impl<F> RefreshJob<F> {
    /// Loads and stores the value, counting how the refresh ended and logging a
    /// failure. Spawn it on the caller's runtime: it is `Send` when the loader, its
    /// future and its value are.
    pub(crate) async fn run<V, Fut, E>(self)
    where
        V: CachedValue,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: fmt::Display,
    {
        let Self {
            cache,
            key,
            policy,
            loader,
            refresh,
        } = self;
        let lease = cache.lease(&key, &policy).await;
        match loader().await {
            Ok(value) => {
                cache.store_loaded(lease, &key, &value, &policy).await;
                cache.refresh_ended(&key, None);
            }
            Err(error) => cache.refresh_ended(&key, Some(&error)),
        }
        drop(refresh);
    }
}

impl Cache {
    /// The value under `key` by `policy`, or `loader`'s, as the [module](self) says.
    /// A stale value stands in for a failed load only when `covers(&error)` says so.
    /// Cache failures never fail the call: a read error is logged and reads as a miss,
    /// a write error is logged.
    ///
    /// # Errors
    /// Only the loader's error, when no stale value stands in for it.
    pub(crate) async fn read_through<V, F, Fut, E>(
        &self,
        key: &str,
        policy: &Policy,
        loader: F,
        covers: impl FnOnce(&E) -> bool,
    ) -> Result<Answer<V, F>, E>
    where
        V: CachedValue,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: fmt::Display,
    {
        // A value past stale-while-revalidate is kept in case the load fails.
        let error_fallback = match self.get_aged::<V>(key, policy).await {
            Ok(Some((value, Age::Fresh))) => return Ok(Answer::Fresh(value)),
            Ok(Some((value, Age::Stale))) => {
                self.inner.stale.served_while_revalidating();
                let job = self.inner.refreshes.begin(key).map(|refresh| RefreshJob {
                    cache: self.clone(),
                    key: key.to_owned(),
                    policy: policy.clone(),
                    loader,
                    refresh,
                });
                return Ok(Answer::Stale(value, job));
            }
            Ok(Some((value, Age::StaleIfError))) => Some(value),
            Ok(None) => None,
            Err(error) => {
                log_swallowed(self.alias(), "get", key, &error);
                None
            }
        };
        match (self.load_once(key, policy, loader).await, error_fallback) {
            (Ok((value, true)), _) => Ok(Answer::Loaded(value)),
            (Ok((value, false)), _) => Ok(Answer::Joined(value)),
            (Err(error), Some(stale)) if covers(&error) => {
                self.served_stale_on_error(key, &error);
                Ok(Answer::StaleOnError(stale))
            }
            (Err(error), _) => Err(error),
        }
    }

    /// The value under `key` and where it stands in `policy`. Fresh and stale values
    /// count as hits; one past stale-while-revalidate as a miss, since a load follows.
    /// A value that does not decode is a miss, logged and removed.
    async fn get_aged<V: CachedValue>(
        &self,
        key: &str,
        policy: &Policy,
    ) -> Result<Option<(V, Age)>, CacheError> {
        let Some((json, age)) = self.read_aged(key, policy).await? else {
            self.inner.counters.miss(Operation::Get);
            return Ok(None);
        };
        match V::decode(&json) {
            Ok(value) => {
                match age {
                    Age::Fresh | Age::Stale => self.inner.counters.hit(Operation::Get),
                    Age::StaleIfError => self.inner.counters.miss(Operation::Get),
                }
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

    /// Counts how a background refresh ended and logs a failure.
    fn refresh_ended(&self, key: &str, failure: Option<&dyn fmt::Display>) {
        self.inner.stale.refreshed(failure.is_none());
        if let Some(error) = failure {
            tracing::warn!(
                alias = %self.alias(), key, %error,
                "refreshing a stale cache entry failed; it is served until its stale window ends"
            );
        }
    }

    /// Logs and counts a failed load answered with a stale value instead.
    fn served_stale_on_error(&self, key: &str, error: &dyn fmt::Display) {
        self.inner.stale.served_on_error();
        tracing::warn!(
            alias = %self.alias(), key, %error,
            "loading failed; answering the stale cached value (stale-if-error)"
        );
    }
}
