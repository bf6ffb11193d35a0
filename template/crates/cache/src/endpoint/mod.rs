//! Endpoint caching as actix-web middleware: cache a resource's `GET` answers and drop
//! them when the resource changes, without a line of caching code in the handlers.
//!
//! ```
//! # use actix_web::{HttpResponse, web};
//! # use service_cache::endpoint::EndpointCache;
//! # async fn get_item() -> HttpResponse { HttpResponse::Ok().finish() }
//! # async fn put_item() -> HttpResponse { HttpResponse::Ok().finish() }
//! # async fn delete_item() -> HttpResponse { HttpResponse::NoContent().finish() }
//! web::resource("/items/{id}")
//!     .wrap(EndpointCache::new("items:{id}").param::<u64>("id").invalidates("items:list"))
//!     .route(web::get().to(get_item)) // read through the cache, `x-cache: hit|miss`
//!     .route(web::put().to(put_item)) // then delete `items:{id}` and `items:list`
//!     .route(web::delete().to(delete_item));
//! ```
//!
//! - `GET`: the key is the template with the request's path parameters filled in. A
//!   cached body is answered at once (`200`, `application/json`, `x-cache: hit`) and the
//!   handler does not run. Otherwise the handler runs; a `200` JSON answer is stored
//!   under the key for the route's TTL (the alias default unless [`EndpointCache::ttl`]
//!   says otherwise) and goes out with `x-cache: miss`. Other statuses are never stored,
//!   nor is an answer meant for its own client only: one that sets a cookie, says
//!   `Cache-Control: private` or `no-store`, or has a `Vary` (but on `Accept-Encoding`);
//!   it goes to its client as it is, `x-cache: miss`, and the refusal is logged at debug.
//!   Requests that miss one key at the same moment wait for the first one's answer
//!   instead of all running the handler (no stampede on the database behind it).
//! - Every cached `GET` answer, hit or miss, carries an `ETag` derived from its body. A
//!   request whose `If-None-Match` names it gets `304 Not Modified` with no body, from
//!   the cache. [`EndpointCache::max_age`] adds `Cache-Control: max-age=…`; by default
//!   there is none, so nothing is kept by clients unless a route asks for it.
//! - Freshness: with [`EndpointCache::stale_while_revalidate`], an answer older than the
//!   TTL but within that window is served at once (`x-cache: stale`) while one
//!   background run of the handler per key refreshes it; with
//!   [`EndpointCache::stale_if_error`], when the handler fails (a `5xx` or an error)
//!   and the stored answer is within that window past its TTL, the stored answer is
//!   served instead (`x-cache: stale`), and the failure is logged and counted.
//! - Tags: [`EndpointCache::tag`] tags a route's answers from its path parameters
//!   (`owner:{owner_id}`), and [`EndpointCache::invalidates_tag`] on a route removes
//!   every answer carrying a tag after a write, wherever it is cached.
//! - `POST`, `PUT`, `PATCH`, `DELETE`: the handler runs first; then, whatever it
//!   answered (a failed or `404` write too: dropping a key is never wrong), the key, the
//!   extra keys ([`EndpointCache::invalidates`]), the key patterns
//!   ([`EndpointCache::invalidates_matching`]) and the tags
//!   ([`EndpointCache::invalidates_tag`]) are removed before the response leaves, so
//!   the client's next `GET` cannot see the old value. A method no route of the resource
//!   takes (routing's `405`) removes nothing, so no client can empty the cache with
//!   one; a request dropped once its handler started (cut off when the shutdown grace
//!   runs out, or by a timeout) still has its removals run, in the background.
//! - It fails open: when the cache backend errors (Redis down), the request is served by
//!   the handler as if nothing were cached and the error is logged.
//!
//! The key comes from the path alone: wrap only resources whose `GET` answer does not
//! depend on the query string, on headers or on who is asking (a per-user answer cached
//! this way would be served to everyone). The cached value is the response body's JSON
//! text, so the direct cache API (`Cache::get::<Item>("items:42")`) and the CLI read the
//! same entry.
//!
//! [`EndpointCache`] (this file) is the builder a route declares; `middleware` runs it on
//! each request and reads through on `GET`, `invalidation` removes what a write
//! changed, `shareable` tells which answers may be stored for everyone, `key_template`
//! turns `items:{id}` into `items:42`, and `validators` makes the `ETag` and answers
//! `If-None-Match`.

mod invalidation;
mod key_template;
mod middleware;
mod shareable;
mod validators;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use actix_web::dev::{Path, Url};
use actix_web::http::header::{HeaderName, HeaderValue};

pub use middleware::EndpointCacheMiddleware;

use crate::{Alias, Policy};
use key_template::{KeyError, KeyTemplate};

/// The response header that tells whether a `GET` was answered from the cache.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The content type of a cached answer, built once rather than parsed per hit.
pub(super) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Turns a raw path parameter into its canonical text, `None` when it does not parse.
type Canonicalize = fn(&str) -> Option<String>;

/// Middleware factory: caches a resource's `GET` answers and invalidates them on writes.
///
/// Build one per resource with [`EndpointCache::new`] and pass it to `Resource::wrap`.
/// The caches come from the app data: register a `web::Data<Caches>` on the `App`.
#[derive(Debug, Clone)]
pub struct EndpointCache {
    /// Template of the key the `GET` answer is stored under, e.g. `items:{id}`.
    key: KeyTemplate,
    /// Which cache holds the answers.
    alias: Alias,
    /// How long an answer stays cached; `None` means the alias's default TTL.
    ttl: Option<Duration>,
    /// Path parameters that are parsed before they go into a key, so `/items/042` and
    /// `/items/42` share one entry.
    params: Vec<(String, Canonicalize)>,
    /// More keys to delete after every write.
    extra_keys: Vec<KeyTemplate>,
    /// Glob patterns (`*`, `?`) of keys to delete after every write.
    patterns: Vec<KeyTemplate>,
    /// `Cache-Control` of the answers; `None` (the default) sends none, so clients and
    /// proxies keep nothing unless a route says so.
    cache_control: Option<HeaderValue>,
    /// After the TTL: served at once while the handler refreshes the answer.
    stale_while_revalidate: Duration,
    /// After the TTL: served when the handler fails.
    stale_if_error: Duration,
    /// Tags of the answers (templates).
    tags: Vec<KeyTemplate>,
    /// Tags removed after every write (templates).
    invalidated_tags: Vec<KeyTemplate>,
}

impl EndpointCache {
    /// Caches under `key`, a template whose `{name}` parts are replaced by the route's
    /// path parameters: `"items:{id}"` on `/items/{id}` gives `items:42`.
    ///
    /// # Panics
    /// If the template has an unclosed `{`, a stray `}` or an empty `{}`: a mistake in
    /// the code, so it panics when the routes are built and any test that starts the
    /// app finds it.
    pub fn new(key: &str) -> Self {
        Self {
            key: KeyTemplate::parse(key),
            alias: Alias::Persistent,
            ttl: None,
            params: Vec::new(),
            extra_keys: Vec::new(),
            patterns: Vec::new(),
            cache_control: None,
            stale_while_revalidate: Duration::ZERO,
            stale_if_error: Duration::ZERO,
            tags: Vec::new(),
            invalidated_tags: Vec::new(),
        }
    }

    /// Keeps answers for `ttl` instead of the alias's default TTL.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Lets clients and proxies keep the answers for `max_age` too
    /// (`Cache-Control: max-age=…`, in whole seconds). Without it no `Cache-Control` is
    /// sent: they may still revalidate with the `ETag` every answer carries.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        let value = format!("max-age={}", max_age.as_secs());
        self.cache_control = HeaderValue::from_str(&value).ok();
        self
    }

    /// Serves an answer for `window` past its TTL at once, marked `x-cache: stale`, while
    /// one background run of the handler per key (however many requests arrive)
    /// refreshes it.
    #[must_use]
    pub fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.stale_while_revalidate = window;
        self
    }

    /// Serves an answer for `window` past its TTL, marked `x-cache: stale`, when the
    /// handler fails to produce a new one (a `5xx` answer or an error); the failure is
    /// logged and counted. Past the window the failure goes to the client as it is.
    #[must_use]
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = window;
        self
    }

    /// Tags the answers with `tag`, a template like [`EndpointCache::new`]'s
    /// (`"owner:{owner_id}"`), so a write anywhere can drop them all with
    /// [`EndpointCache::invalidates_tag`] or `Cache::invalidate_tag`.
    #[must_use]
    pub fn tag(mut self, tag: &str) -> Self {
        self.tags.push(KeyTemplate::parse(tag));
        self
    }

    /// Also removes every answer tagged `tag` (a template) after every write, e.g.
    /// `"owner:{owner_id}"` on a route that changes an owner.
    #[must_use]
    pub fn invalidates_tag(mut self, tag: &str) -> Self {
        self.invalidated_tags.push(KeyTemplate::parse(tag));
        self
    }

    /// Uses another cache alias than `persistent`.
    #[must_use]
    pub fn alias(mut self, alias: Alias) -> Self {
        self.alias = alias;
        self
    }

    /// Parses the path parameter `name` as a `T` before it goes into a key, so every
    /// spelling of one value (`042`, `+42`, `42`) shares one cache entry. A value that
    /// does not parse skips the cache; the handler answers it (typically with 400).
    #[must_use]
    pub fn param<T: FromStr + fmt::Display>(mut self, name: &str) -> Self {
        self.params.push((name.to_owned(), |raw| {
            raw.parse::<T>().ok().map(|value| value.to_string())
        }));
        self
    }

    /// Also deletes `key` (a template, like [`EndpointCache::new`]'s) after every write,
    /// e.g. a listing that contains the changed resource.
    #[must_use]
    pub fn invalidates(mut self, key: &str) -> Self {
        self.extra_keys.push(KeyTemplate::parse(key));
        self
    }

    /// Also deletes every key matching `pattern` (a template; `*` matches any run of
    /// characters, `?` one) after every write, e.g. `"items:{id}:*"` for a
    /// resource's sub-resources. Works on every backend; on Redis it scans, never `KEYS`.
    #[must_use]
    pub fn invalidates_matching(mut self, pattern: &str) -> Self {
        self.patterns.push(KeyTemplate::parse(pattern));
        self
    }

    /// The policy of this request's answer: the route's TTL and windows, and its tags
    /// filled in from the path.
    fn policy(&self, path: &Path<Url>) -> Result<Policy, (&KeyTemplate, KeyError)> {
        let mut policy = Policy::from(self.ttl)
            .stale_while_revalidate(self.stale_while_revalidate)
            .stale_if_error(self.stale_if_error);
        for template in &self.tags {
            let tag = self
                .render(template, path, false)
                .map_err(|error| (template, error))?;
            policy = policy.tag(tag);
        }
        Ok(policy)
    }

    fn render(
        &self,
        template: &KeyTemplate,
        path: &Path<Url>,
        for_pattern: bool,
    ) -> Result<String, KeyError> {
        template.render(|name| {
            let raw = path
                .get(name)
                .ok_or_else(|| KeyError::UnknownParam(name.to_owned()))?;
            let value = match self.params.iter().find(|(param, _)| param == name) {
                Some((_, canonicalize)) => {
                    canonicalize(raw).ok_or_else(|| KeyError::Unparsable(name.to_owned()))?
                }
                None => raw.to_owned(),
            };
            // A path value such as `*` must not widen a pattern into "every key".
            if for_pattern && value.contains(['*', '?']) {
                return Err(KeyError::GlobInValue(name.to_owned()));
            }
            Ok(value)
        })
    }
}
