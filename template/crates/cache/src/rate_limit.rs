//! [`RateLimit`]: an actix-web middleware that answers `429 Too Many Requests` to a
//! client past its budget of requests per window, counting on the `persistent` alias so
//! every replica sharing Redis shares the budget.
//!
//! - Windows: fixed (one counter per window, reset at its start: cheap, but a client may
//!   send up to twice the limit around a window's edge), or sliding (the previous
//!   window's count weighted by how much of it the sliding window still covers, plus the
//!   current one: Cloudflare's approximation, one more read per request).
//! - The client: its socket's address by default; behind a proxy, the address the
//!   proxy reports (`Forwarded`/`X-Forwarded-For`) only when [`RateLimit::trust_proxy`]
//!   says so, since any client can send those headers; or a request header such as an
//!   API key ([`RateLimit::key_header`]).
//! - Answers: `RateLimit-Policy`, `RateLimit-Limit`, `RateLimit-Remaining` and
//!   `RateLimit-Reset` (the IETF httpapi draft's fields) on every answer, and
//!   `Retry-After` on a `429`.
//! - Fails open: when the cache cannot count (Redis down), requests pass and the error
//!   is logged; a rate limit is a guard against abuse, not a reason to refuse everyone.
//!   With `CACHE_ENABLED=false` nothing is counted and nothing is limited.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::{Error, HttpResponse, web};

use crate::cache::log_swallowed;
use crate::{Alias, Backend, Caches};

/// Middleware factory: at most `limit` requests per client per `window`.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use service_cache::rate_limit::RateLimit;
///
/// let app = App::new().service(
///     web::resource("/login")
///         .wrap(RateLimit::per_minute("login", 10).sliding())
///         .route(web::post().to(HttpResponse::Ok)),
/// );
/// # drop(app);
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Names this limit's counters, so two limits never share a budget.
    name: String,
    limit: u64,
    window: Duration,
    sliding: bool,
    /// The request header that identifies the client instead of its address.
    key_header: Option<HeaderName>,
    /// Whether to believe `Forwarded`/`X-Forwarded-For` about the client's address.
    trust_proxy: bool,
}

impl RateLimit {
    /// At most `limit` requests per client per `window`, counted under `name`.
    ///
    /// # Panics
    /// If `limit` or `window` is zero: a mistake in the code, found when the routes are
    /// built.
    pub fn new(name: &str, limit: u64, window: Duration) -> Self {
        assert!(
            limit > 0,
            "a rate limit of zero requests refuses everything"
        );
        assert!(
            window >= Duration::from_millis(1),
            "a rate limit's window must be at least 1 ms"
        );
        Self {
            name: name.to_owned(),
            limit,
            window,
            sliding: false,
            key_header: None,
            trust_proxy: false,
        }
    }

    /// At most `limit` requests per client per second.
    pub fn per_second(name: &str, limit: u64) -> Self {
        Self::new(name, limit, Duration::from_secs(1))
    }

    /// At most `limit` requests per client per minute.
    pub fn per_minute(name: &str, limit: u64) -> Self {
        Self::new(name, limit, Duration::from_secs(60))
    }

    /// Counts over a sliding window instead of fixed ones.
    #[must_use]
    pub fn sliding(mut self) -> Self {
        self.sliding = true;
        self
    }

    /// Identifies the client by this request header (an API key, a user id set by an
    /// authenticating proxy); requests without it are counted by address.
    ///
    /// # Panics
    /// If `header` is not a valid header name.
    #[must_use]
    pub fn key_header(mut self, header: &str) -> Self {
        self.key_header =
            Some(HeaderName::from_bytes(header.as_bytes()).expect("a valid header name"));
        self
    }

    /// Believes `Forwarded` and `X-Forwarded-For` about the client's address: only
    /// behind a proxy that sets them (any client can send them).
    #[must_use]
    pub fn trust_proxy(mut self, trust: bool) -> Self {
        self.trust_proxy = trust;
        self
    }

    /// Who sent `request`.
    fn client(&self, request: &ServiceRequest) -> String {
        if let Some(value) = self
            .key_header
            .as_ref()
            .and_then(|header| request.headers().get(header))
            .and_then(|value| value.to_str().ok())
        {
            return format!("key:{value}");
        }
        let info = request.connection_info();
        let address = if self.trust_proxy {
            info.realip_remote_addr()
        } else {
            info.peer_addr()
        };
        // The address without its port: one client, however many connections.
        let host = address.map_or("unknown", |address| {
            address
                .parse::<std::net::SocketAddr>()
                .map_or(address, |_| {
                    address.rsplit_once(':').map_or(address, |(host, _)| host)
                })
        });
        format!("ip:{host}")
    }
}

/// What counting decided for one request.
struct Verdict {
    allowed: bool,
    remaining: u64,
    reset: Duration,
}

impl RateLimit {
    /// Counts `client`'s request in `caches`; `None` when it could not be counted.
    async fn count(&self, caches: &Caches, client: &str) -> Option<Verdict> {
        let cache = caches.get(Alias::Persistent);
        if cache.backend() == Backend::Disabled {
            return None;
        }
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        let index = now_ms / window_ms;
        let into = now_ms % window_ms;
        let key = |index: u64| format!("ratelimit:{}:{client}:{index}", self.name);
        // Kept two windows, so a sliding window can still read the previous one.
        let current = match cache.incr(&key(index), 1, Some(self.window * 2)).await {
            Ok(count) => u64::try_from(count).unwrap_or(0),
            Err(error) => {
                log_swallowed(Alias::Persistent, "rate limit", &key(index), &error);
                return None;
            }
        };
        let used = if self.sliding {
            let previous = cache
                .get::<u64>(&key(index.saturating_sub(1)))
                .await
                .ok()
                .flatten()
                .unwrap_or(0);
            let still_covered = (window_ms - into) as f64 / window_ms as f64;
            current + (previous as f64 * still_covered) as u64
        } else {
            current
        };
        Some(Verdict {
            allowed: used <= self.limit,
            remaining: self.limit.saturating_sub(used),
            reset: Duration::from_millis(window_ms - into),
        })
    }

    /// The `RateLimit-*` fields for `verdict`, and `Retry-After` when refused.
    fn headers(&self, verdict: &Verdict) -> Vec<(HeaderName, HeaderValue)> {
        let reset = verdict.reset.as_secs() + u64::from(verdict.reset.subsec_nanos() > 0);
        let mut headers = vec![
            (
                HeaderName::from_static("ratelimit-policy"),
                HeaderValue::from_str(&format!(
                    "{};w={}",
                    self.limit,
                    self.window.as_secs().max(1)
                ))
                .expect("digits and `;w=` make a valid header value"),
            ),
            (
                HeaderName::from_static("ratelimit-limit"),
                HeaderValue::from(self.limit),
            ),
            (
                HeaderName::from_static("ratelimit-remaining"),
                HeaderValue::from(verdict.remaining),
            ),
            (
                HeaderName::from_static("ratelimit-reset"),
                HeaderValue::from(reset),
            ),
        ];
        if !verdict.allowed {
            headers.push((RETRY_AFTER, HeaderValue::from(reset.max(1))));
        }
        headers
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = RateLimitMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitMiddleware {
            service: Rc::new(service),
            limit: Rc::new(self.clone()),
        }))
    }
}

/// The per-worker service [`RateLimit`] wraps around a resource or scope.
pub struct RateLimitMiddleware<S> {
    service: Rc<S>,
    limit: Rc<RateLimit>,
}

type BoxedResponse = Pin<Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, Error>>>>;

impl<S, B> Service<ServiceRequest> for RateLimitMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = BoxedResponse;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let (service, limit) = (Rc::clone(&self.service), Rc::clone(&self.limit));
        Box::pin(async move {
            let verdict = match request.app_data::<web::Data<Caches>>() {
                Some(caches) => {
                    let client = limit.client(&request);
                    limit.count(caches, &client).await
                }
                None => {
                    tracing::error!(
                        "RateLimit needs web::Data<Caches> in the app data; not limiting"
                    );
                    None
                }
            };
            let Some(verdict) = verdict else {
                return service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_boxed_body);
            };
            let mut response = if verdict.allowed {
                service.call(request).await?.map_into_boxed_body()
            } else {
                let refused = HttpResponse::new(StatusCode::TOO_MANY_REQUESTS);
                request.into_response(refused)
            };
            let headers = response.headers_mut();
            for (name, value) in limit.headers(&verdict) {
                headers.insert(name, value);
            }
            Ok(response)
        })
    }
}
