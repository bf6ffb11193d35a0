//! Endpoint caching as actix-web middleware: cache a resource's `GET` answers and drop
//! them when the resource changes, without a line of caching code in the handlers.
//!
//! ```
//! # use actix_web::{HttpResponse, web};
//! # use {{crate_name}}::web::endpoint_cache::EndpointCache;
//! # async fn get_item() -> HttpResponse { HttpResponse::Ok().finish() }
//! # async fn put_item() -> HttpResponse { HttpResponse::Ok().finish() }
//! # async fn delete_item() -> HttpResponse { HttpResponse::NoContent().finish() }
//! web::resource("/items/{id}")
//!     .wrap(EndpointCache::new("items:{id}").param::<u64>("id").invalidates("items:list"))
//!     .route(web::get().to(get_item)) // read through the cache, `x-cache: hit|miss`
//!     .route(web::put().to(put_item)) // on 2xx: delete `items:{id}` and `items:list`
//!     .route(web::delete().to(delete_item));
//! ```
//!
//! - `GET`: the key is the template with the request's path parameters filled in. A
//!   cached body is answered at once (`200`, `application/json`, `x-cache: hit`) and the
//!   handler does not run. Otherwise the handler runs; a `200` JSON answer is stored
//!   under the key for the route's TTL (the alias default unless [`EndpointCache::ttl`]
//!   says otherwise) and goes out with `x-cache: miss`. Other statuses are never stored.
//!   Requests that miss one key at the same moment wait for the first one's answer
//!   instead of all running the handler (no stampede on the database behind it).
//! - `POST`, `PUT`, `PATCH`, `DELETE`: the handler runs first; only when it succeeds
//!   (2xx) are the key, the extra keys ([`EndpointCache::invalidates`]) and the key
//!   patterns ([`EndpointCache::invalidates_matching`]) deleted, before the response
//!   leaves, so the client's next `GET` cannot see the old value.
//! - It fails open: when the cache backend errors (Redis down), the request is served by
//!   the handler as if nothing were cached and the error is logged.
//!
//! The key comes from the path alone: wrap only resources whose `GET` answer does not
//! depend on the query string, on headers or on who is asking (a per-user answer cached
//! this way would be served to everyone). The cached value is the response body's JSON
//! text, so the direct cache API (`Cache::get::<Item>("items:42")`) and the CLI read the
//! same entry.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{
    Path, Service, ServiceRequest, ServiceResponse, Transform, Url, forward_ready,
};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{Error, HttpResponse, web};
use serde_json::value::RawValue;

use crate::services::cache::{Alias, Backend, Cache, Caches};

/// The response header that tells whether a `GET` was answered from the cache.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The content type of a cached answer, built once rather than parsed per hit.
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Turns a raw path parameter into its canonical text, `None` when it does not parse.
type Canonicalize = fn(&str) -> Option<String>;

/// Middleware factory: caches a resource's `GET` answers and invalidates them on writes.
///
/// Build one per resource with [`EndpointCache::new`] and pass it to `Resource::wrap`.
/// The caches come from the `web::Data<Caches>` that `Application::build` registers.
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
    /// More keys to delete after a successful write.
    extra_keys: Vec<KeyTemplate>,
    /// Glob patterns (`*`, `?`) of keys to delete after a successful write.
    patterns: Vec<KeyTemplate>,
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
        }
    }

    /// Keeps answers for `ttl` instead of the alias's default TTL.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
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

    /// Also deletes `key` (a template, like [`EndpointCache::new`]'s) after a successful
    /// write, e.g. a listing that contains the changed resource.
    #[must_use]
    pub fn invalidates(mut self, key: &str) -> Self {
        self.extra_keys.push(KeyTemplate::parse(key));
        self
    }

    /// Also deletes every key matching `pattern` (a template; `*` matches any run of
    /// characters, `?` one) after a successful write, e.g. `"items:{id}:*"` for a
    /// resource's sub-resources. Works on every backend; on Redis it scans, never `KEYS`.
    #[must_use]
    pub fn invalidates_matching(mut self, pattern: &str) -> Self {
        self.patterns.push(KeyTemplate::parse(pattern));
        self
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

impl<S, B> Transform<S, ServiceRequest> for EndpointCache
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = EndpointCacheMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(EndpointCacheMiddleware {
            service: Rc::new(service),
            config: Rc::new(self.clone()),
        }))
    }
}

/// The per-worker service [`EndpointCache`] wraps around a resource.
pub struct EndpointCacheMiddleware<S> {
    /// The resource's own service (its routes and handlers).
    service: Rc<S>,
    /// The settings this middleware was built from.
    config: Rc<EndpointCache>,
}

type BoxedResponse = Pin<Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, Error>>>>;

impl<S, B> Service<ServiceRequest> for EndpointCacheMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = BoxedResponse;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = Rc::clone(&self.config);
        Box::pin(async move {
            let Some(caches) = request.app_data::<web::Data<Caches>>() else {
                tracing::error!(
                    "EndpointCache needs web::Data<Caches> in the app data; serving without the cache"
                );
                return service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_boxed_body);
            };
            let cache = caches.get(config.alias).clone();
            let method = request.method().clone();
            if method == Method::GET {
                read_through(&*service, &config, &cache, request).await
            } else if [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&method) {
                invalidate_after(&*service, &config, &cache, request).await
            } else {
                service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_boxed_body)
            }
        })
    }
}

async fn read_through<S, B>(
    service: &S,
    config: &EndpointCache,
    cache: &Cache,
    request: ServiceRequest,
) -> Result<ServiceResponse<BoxBody>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    if cache.backend() == Backend::Disabled {
        // CACHE_ENABLED=false: no reads, no writes, and no waiting on other requests.
        let mut response = service.call(request).await?.map_into_boxed_body();
        response
            .headers_mut()
            .insert(X_CACHE, HeaderValue::from_static("miss"));
        return Ok(response);
    }
    let key = match config.render(&config.key, request.match_info(), false) {
        Ok(key) => key,
        Err(error) => {
            error.log(&config.key);
            return service
                .call(request)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
    };
    // A hit answers without the handler, so it needs its own handle on the request.
    let http_request = request.request().clone();
    // The handler's own response, kept when this request is the one that ran it.
    let handled = RefCell::new(None);
    // A hit is the stored text, served as it is. On a miss the handler runs at most once
    // per key at a time: requests that miss together wait for the first one's answer
    // instead of all hitting the handler.
    let loaded = cache
        .get_json_or_set_with(&key, config.ttl, || async {
            let response = service.call(request).await.map_err(Uncached::Failed)?;
            let (response, json) = cacheable_body(response).await?;
            *handled.borrow_mut() = Some(response);
            Ok::<_, Uncached>(json)
        })
        .await;
    let mut response = match loaded {
        Ok(json) => match handled.into_inner() {
            Some(response) => response,
            None => {
                tracing::debug!(key, "endpoint cache hit");
                let mut response =
                    HttpResponse::with_body(StatusCode::OK, json.as_bytes().to_vec());
                let headers = response.headers_mut();
                headers.insert(CONTENT_TYPE, APPLICATION_JSON);
                headers.insert(X_CACHE, HeaderValue::from_static("hit"));
                return Ok(ServiceResponse::new(
                    http_request,
                    response.map_into_boxed_body(),
                ));
            }
        },
        Err(Uncached::Response(response)) => response,
        Err(Uncached::Failed(error)) => return Err(error),
    };
    tracing::debug!(key, "endpoint cache miss");
    response
        .headers_mut()
        .insert(X_CACHE, HeaderValue::from_static("miss"));
    Ok(response)
}

/// Why a handler's answer was not cached.
enum Uncached {
    /// Not a `200` JSON answer with a body of known size: passed on as it is.
    Response(ServiceResponse<BoxBody>),
    /// The handler's service failed outright.
    Failed(Error),
}

/// Splits a `200` JSON answer into the response (body intact) and its JSON for the cache.
async fn cacheable_body<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> Result<(ServiceResponse<BoxBody>, Box<RawValue>), Uncached> {
    // A streamed body would have to be held in memory in full; it is served uncached.
    let sized = matches!(response.response().body().size(), BodySize::Sized(_));
    if response.status() != StatusCode::OK || !is_json(&response) || !sized {
        return Err(Uncached::Response(response.map_into_boxed_body()));
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.map_err(|error| {
        Uncached::Failed(actix_web::error::ErrorInternalServerError(error.into()))
    })?;
    let json = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| RawValue::from_string(text.to_owned()).ok());
    let response = ServiceResponse::new(request, head.set_body(BoxBody::new(bytes)));
    match json {
        Some(json) => Ok((response, json)),
        None => {
            tracing::warn!("a response labelled JSON is not valid JSON, so it was not cached");
            Err(Uncached::Response(response))
        }
    }
}

async fn invalidate_after<S, B>(
    service: &S,
    config: &EndpointCache,
    cache: &Cache,
    request: ServiceRequest,
) -> Result<ServiceResponse<BoxBody>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    // Keys are worked out before the handler runs because it takes the request.
    let path = request.match_info();
    let keys: Vec<_> = std::iter::once(&config.key)
        .chain(&config.extra_keys)
        .map(|template| (template, config.render(template, path, false)))
        .collect();
    let patterns: Vec<_> = config
        .patterns
        .iter()
        .map(|template| (template, config.render(template, path, true)))
        .collect();

    let response = service.call(request).await?;
    if !response.status().is_success() {
        return Ok(response.map_into_boxed_body());
    }
    for (template, key) in keys {
        match key {
            Ok(key) => match cache.delete(&key).await {
                Ok(_) => tracing::debug!(key, "endpoint cache entry invalidated"),
                Err(error) => {
                    tracing::warn!(key, error = %error, "cache invalidation failed; the entry lives until its TTL")
                }
            },
            Err(error) => error.log(template),
        }
    }
    for (template, pattern) in patterns {
        match pattern {
            Ok(pattern) => match cache.delete_matching(&pattern).await {
                Ok(count) => tracing::debug!(pattern, count, "endpoint cache entries invalidated"),
                Err(error) => {
                    tracing::warn!(pattern, error = %error, "cache invalidation failed; the entries live until their TTL");
                }
            },
            Err(error) => error.log(template),
        }
    }
    Ok(response.map_into_boxed_body())
}

fn is_json<B>(response: &ServiceResponse<B>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// Why a key could not be built for one request.
#[derive(Debug)]
enum KeyError {
    /// The template names a parameter the route does not have: a bug in the route set-up.
    UnknownParam(String),
    /// A parameter declared with [`EndpointCache::param`] did not parse.
    Unparsable(String),
    /// A value meant for a pattern contains glob characters.
    GlobInValue(String),
}

impl KeyError {
    fn log(&self, template: &KeyTemplate) {
        match self {
            Self::UnknownParam(name) => tracing::error!(
                template = %template,
                "EndpointCache key template uses {name}, which is not a path parameter of this route; the cache is skipped"
            ),
            Self::Unparsable(name) => {
                tracing::debug!(template = %template, "path parameter {name} does not parse; the cache is skipped")
            }
            Self::GlobInValue(name) => tracing::warn!(
                template = %template,
                "path parameter {name} contains glob characters, so this pattern was not used for invalidation"
            ),
        }
    }
}

/// A key with `{name}` placeholders, checked once when the route is built.
#[derive(Debug, Clone)]
struct KeyTemplate {
    /// The template as written, for log lines.
    text: String,
    /// Literal text and placeholders, in order.
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Param(String),
}

impl KeyTemplate {
    fn parse(text: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match (rest.find('{'), rest.find('}')) {
                (Some(open), Some(close)) if open < close => {
                    let name = &rest[open + 1..close];
                    assert!(
                        !name.is_empty() && !name.contains('{'),
                        "EndpointCache key template {text:?} has an empty or nested placeholder"
                    );
                    if open > 0 {
                        parts.push(Part::Literal(rest[..open].to_owned()));
                    }
                    parts.push(Part::Param(name.to_owned()));
                    rest = &rest[close + 1..];
                }
                (None, None) => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
                _ => panic!("EndpointCache key template {text:?} has an unmatched brace"),
            }
        }
        Self {
            text: text.to_owned(),
            parts,
        }
    }

    fn render(
        &self,
        mut value_of: impl FnMut(&str) -> Result<String, KeyError>,
    ) -> Result<String, KeyError> {
        let mut key = String::with_capacity(self.text.len() + 8);
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::Param(name) => key.push_str(&value_of(name)?),
            }
        }
        Ok(key)
    }
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyError, KeyTemplate};

    fn render(template: &str, id: &str) -> Result<String, KeyError> {
        KeyTemplate::parse(template).render(|name| match name {
            "id" => Ok(id.to_owned()),
            other => Err(KeyError::UnknownParam(other.to_owned())),
        })
    }

    #[test]
    fn placeholders_are_filled_in_and_literals_kept() {
        assert_eq!(render("items:{id}", "42").unwrap(), "items:42");
        assert_eq!(render("{id}", "7").unwrap(), "7");
        assert_eq!(
            render("items:{id}:parts:*", "1").unwrap(),
            "items:1:parts:*"
        );
        assert_eq!(render("items:list", "1").unwrap(), "items:list");
        assert!(
            matches!(render("users:{user}", "1"), Err(KeyError::UnknownParam(name)) if name == "user")
        );
    }

    #[test]
    #[should_panic(expected = "unmatched brace")]
    fn an_unclosed_placeholder_is_a_bug_caught_at_start_up() {
        KeyTemplate::parse("items:{id");
    }

    #[test]
    #[should_panic(expected = "empty or nested")]
    fn an_empty_placeholder_is_a_bug_caught_at_start_up() {
        KeyTemplate::parse("items:{}");
    }
}
