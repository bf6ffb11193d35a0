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
//! - Keys beyond the path: a placeholder may name a query parameter the route declares
//!   ([`EndpointCache::query_param`], [`EndpointCache::query`]: defaults filled in,
//!   typed ones canonical, undeclared ones ignored) or a request header
//!   ([`EndpointCache::vary_on`]: normalised, and answers that `Vary` on it stored).
//!   Their values are escaped (`%XX`), so no client can write key or pattern syntax. On
//!   a write such a placeholder stands for every value: the route's key is removed as a
//!   pattern, every page of it.
//! - A request's `Cache-Control: no-cache` runs the handler and stores its answer,
//!   `no-store` runs it and stores nothing ([`EndpointCache::honour_request_no_cache`]);
//!   [`EndpointCache::store_if`] and [`EndpointCache::ttl_from`] let the route decide
//!   which answers are stored, and for how long.
//!
//! The key holds the path parameters and what the route declares, nothing else: wrap
//! only resources whose `GET` answer depends on nothing more, and never on who is asking
//! (a per-user answer cached this way would be served to everyone). The cached value is
//! the response body's JSON text, so the direct cache API
//! (`Cache::get::<Item>("items:42")`) and the CLI read the same entry.
//!
//! [`EndpointCache`] (this file) is the builder a route declares; `middleware` runs it on
//! each request and reads through on `GET`, `invalidation` removes what a write
//! changed, `shareable` tells which answers may be stored for everyone, `key_template`
//! turns `items:{id}` into `items:42`, `key_inputs` reads the declared query parameters
//! and headers, `request_directives` a request's `no-cache`/`no-store`, `store_rules`
//! holds `store_if` and `ttl_from`, and `validators` makes the `ETag` and answers
//! `If-None-Match`.

mod invalidation;
mod key_inputs;
mod key_template;
mod middleware;
mod request_directives;
mod shareable;
mod store_rules;
mod validators;

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Path, Url};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;

pub use middleware::EndpointCacheMiddleware;

use crate::{Alias, Policy};
use key_inputs::{Query, QueryParam};
use key_template::{KeyError, KeyTemplate};
use store_rules::StoreRules;

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
    /// Query parameters that are part of the key, in declared order.
    query: Vec<QueryParam>,
    /// Request headers that are part of the key, in declared order.
    vary: Vec<HeaderName>,
    /// `Vary` naming them, sent with every answer; `None` when there are none.
    vary_header: Option<HeaderValue>,
    /// Whether a request's `Cache-Control: no-cache` or `no-store` bypasses the cache.
    honour_request_no_cache: bool,
    /// Which answers are stored, and for how long.
    store_rules: StoreRules,
}

/// Where the values of a template's placeholders come from.
enum Values<'a> {
    /// A `GET`: its path, query and headers.
    Read {
        path: &'a Path<Url>,
        query: &'a Query,
        headers: &'a HeaderMap,
    },
    /// A write: its path only. A placeholder naming a declared query parameter or header
    /// stands for every value, `*`, so the route's own key becomes a pattern that drops
    /// the answers for every page and every header value.
    Write { path: &'a Path<Url> },
}

impl EndpointCache {
    /// Caches under `key`, a template whose `{name}` parts are replaced by the route's
    /// path parameters: `"items:{id}"` on `/items/{id}` gives `items:42`; and by the
    /// query parameters and headers declared with [`EndpointCache::query_param`],
    /// [`EndpointCache::query`] and [`EndpointCache::vary_on`].
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
            query: Vec::new(),
            vary: Vec::new(),
            vary_header: None,
            honour_request_no_cache: true,
            store_rules: StoreRules::default(),
        }
    }

    /// Makes the query parameter `name` part of the key, `default` when a request does
    /// not give it: `"items:list:{sort}"` with `.query("sort", "name")` caches
    /// `/items?sort=id` and `/items?sort=name` apart and `/items` with the latter. Its
    /// value goes into the key escaped (see [`EndpointCache::query_param`]). Query
    /// parameters not declared never reach a key: declare every one the handler reads.
    ///
    /// # Panics
    /// If the key template has no `{name}`, or `name` is declared twice: a mistake in the
    /// code, caught when the routes are built.
    #[must_use]
    pub fn query(self, name: &str, default: &str) -> Self {
        self.declare_query(name, key_inputs::escape(default.as_bytes()), None)
    }

    /// Makes the query parameter `name` part of the key, parsed as a `T`, `default` when
    /// a request does not give it: with `"items:page:{page}:{per_page}"`,
    /// `.query_param::<u32>("page", 1).query_param::<u32>("per_page", 20)` caches each
    /// page apart, and `/items`, `/items?page=1` and `/items?per_page=20&page=01` share
    /// one entry, `items:page:1:20`. A request whose value does not parse, or that gives
    /// the parameter twice, skips the cache: the handler answers it (typically `400`).
    ///
    /// Every value from the query string is escaped before it goes into a key: bytes
    /// outside `A-Z a-z 0-9 - . _ ~` become `%XX`, so no value holds the `:` between a
    /// key's parts nor the `*` or `?` of an invalidation pattern.
    ///
    /// # Panics
    /// As [`EndpointCache::query`].
    #[must_use]
    pub fn query_param<T: FromStr + fmt::Display>(self, name: &str, default: T) -> Self {
        let default = key_inputs::escape(default.to_string().as_bytes());
        self.declare_query(
            name,
            default,
            Some(|raw| raw.parse::<T>().ok().map(|value| value.to_string())),
        )
    }

    fn declare_query(
        mut self,
        name: &str,
        default: String,
        canonicalize: Option<Canonicalize>,
    ) -> Self {
        self.assert_declarable(name, "query parameter");
        self.query.push(QueryParam {
            name: name.to_owned(),
            default,
            canonicalize,
        });
        self
    }

    /// Makes the request header `name` part of the key: `"greeting:{accept-language}"`
    /// with `.vary_on("accept-language")` caches one answer per language list. The value
    /// is normalised (its items over all lines, trimmed, lowercased, joined with `,`;
    /// empty when absent) and escaped like a query value. Answers that say
    /// `Vary: Accept-Language` are then stored, and every answer says it.
    ///
    /// Each distinct value is an entry of its own: key on headers with few values.
    ///
    /// # Panics
    /// If `name` is not a header name, the key template has no `{name}` (in lower
    /// case), or `name` is declared twice: mistakes in the code, caught when the routes
    /// are built.
    #[must_use]
    pub fn vary_on(mut self, name: &str) -> Self {
        let header = HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|_| {
            panic!("EndpointCache::vary_on({name:?}): not a header name; write one like \"accept-language\"")
        });
        self.assert_declarable(header.as_str(), "header");
        self.vary.push(header);
        let names: Vec<&str> = self.vary.iter().map(HeaderName::as_str).collect();
        self.vary_header = HeaderValue::from_str(&names.join(", ")).ok();
        self
    }

    /// Panics unless `name` is a placeholder of the key template not declared yet.
    fn assert_declarable(&self, name: &str, kind: &str) {
        assert!(
            self.key.uses(name),
            "EndpointCache {}: the {kind} {name} is declared but the key template has no placeholder for it; add `:` and {name} in braces to the key, or the answers for all its values would share one entry",
            self.key
        );
        assert!(
            !self.query.iter().any(|param| param.name == name)
                && !self.vary.iter().any(|header| header.as_str() == name),
            "EndpointCache {}: {name} is declared twice; declare each query parameter or header once",
            self.key
        );
    }

    /// Whether a request's `Cache-Control: no-cache` (or `Pragma: no-cache`) makes the
    /// handler answer it, storing the answer, and its `no-store` makes the handler answer
    /// it with nothing read or stored. On by default (RFC 9111): any client can already
    /// make the handler run by asking for an id that does not exist, so a rate limit,
    /// not the cache, is what bounds that; turn it off for a route whose handler is too
    /// dear to run on a client's say.
    #[must_use]
    pub fn honour_request_no_cache(mut self, honour: bool) -> Self {
        self.honour_request_no_cache = honour;
        self
    }

    /// Stores only the answers `store_if` accepts (given the answer's JSON text); the
    /// others go to their client (`x-cache: miss`) and are not stored, nor handed to
    /// requests waiting for the same key. E.g. not an empty page:
    /// `.store_if(|json| json.get() != "[]")`.
    #[must_use]
    pub fn store_if(
        mut self,
        store_if: impl Fn(&RawValue) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.store_rules.store_if = Some(Arc::new(store_if));
        self
    }

    /// Stores each answer fresh for the TTL `ttl_from` reads from its JSON text instead
    /// of the route's ([`EndpointCache::ttl`] or the alias default), which stays for
    /// answers it gives `None`; a zero TTL stores nothing. The stale windows follow the
    /// answer's own TTL. E.g. an offer cached until it ends, read from the body.
    #[must_use]
    pub fn ttl_from(
        mut self,
        ttl_from: impl Fn(&RawValue) -> Option<Duration> + Send + Sync + 'static,
    ) -> Self {
        self.store_rules.ttl_from = Some(Arc::new(ttl_from));
        self
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

    /// The policy of a `GET`'s answer: the route's TTL and windows, and its tags filled
    /// in from the request.
    fn policy(&self, values: &Values<'_>) -> Result<Policy, (&KeyTemplate, KeyError)> {
        let mut policy = Policy::from(self.ttl)
            .stale_while_revalidate(self.stale_while_revalidate)
            .stale_if_error(self.stale_if_error);
        for template in &self.tags {
            let (tag, _) = self
                .render(template, values, false)
                .map_err(|error| (template, error))?;
            policy = policy.tag(tag);
        }
        Ok(policy)
    }

    /// `template` filled in from `values`; with whether a placeholder stood for every
    /// value (`*`, a write's query parameter or header), which makes the result a pattern.
    fn render(
        &self,
        template: &KeyTemplate,
        values: &Values<'_>,
        for_pattern: bool,
    ) -> Result<(String, bool), KeyError> {
        let wildcard = Cell::new(false);
        let rendered = template.render(|name| {
            let declared_query = self.query.iter().find(|param| param.name == name);
            let declared_header = self.vary.iter().find(|header| header.as_str() == name);
            let path = match (values, declared_query, declared_header) {
                (Values::Read { query, .. }, Some(param), _) => return query.key_part(param),
                (Values::Read { headers, .. }, None, Some(header)) => {
                    return key_inputs::header_part(headers, header);
                }
                (Values::Write { .. }, Some(_), _) | (Values::Write { .. }, None, Some(_)) => {
                    wildcard.set(true);
                    return Ok("*".to_owned());
                }
                (Values::Read { path, .. } | Values::Write { path }, None, None) => path,
            };
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
        })?;
        Ok((rendered, wildcard.get()))
    }
}

#[cfg(test)]
mod tests {
    use super::EndpointCache;

    #[test]
    #[should_panic(expected = "no placeholder for it")]
    fn a_query_parameter_the_key_does_not_hold_is_caught_at_start_up() {
        let _ = EndpointCache::new("items:list").query_param::<u32>("page", 1);
    }

    #[test]
    #[should_panic(expected = "no placeholder for it")]
    fn a_header_the_key_does_not_hold_is_caught_at_start_up() {
        let _ = EndpointCache::new("greeting").vary_on("Accept-Language");
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn a_parameter_declared_twice_is_caught_at_start_up() {
        let _ = EndpointCache::new("items:{page}")
            .query("page", "1")
            .query_param::<u32>("page", 1);
    }

    #[test]
    #[should_panic(expected = "not a header name")]
    fn a_header_name_that_is_none_is_caught_at_start_up() {
        let _ = EndpointCache::new("greeting:{accept language}").vary_on("accept language");
    }
}
