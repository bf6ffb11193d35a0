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
//! - Answers: `RateLimit-Policy: "name";q=limit;w=seconds` and
//!   `RateLimit: "name";r=remaining;t=seconds-to-reset` (the IETF httpapi draft's two
//!   fields, draft 09) on every answer, and `Retry-After` on a `429`.
//! - Fails open: when the cache cannot count (Redis down), requests pass and the error
//!   is logged; a rate limit is a guard against abuse, not a reason to refuse everyone.
//!   With `CACHE_ENABLED=false` nothing is counted and nothing is limited.
//! - Without Redis (the persistent alias in process) the counts live in the middleware's
//!   own [`local`] counters rather than in cache entries, so a request pays a hash and a
//!   short lock.

mod local;

use std::future::{Future, Ready, ready};
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::{Error, HttpResponse, web};

#[cfg(feature = "redis")]
use crate::cache::log_swallowed;
use crate::{Alias, Backend, Caches};
use local::{Client, LocalCounters};

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
    /// Names this limit's counters on Redis, so two limits never share a budget (in
    /// process each limit has counters of its own).
    #[cfg(feature = "redis")]
    name: String,
    limit: u64,
    window: Duration,
    sliding: bool,
    /// The request header that identifies the client instead of its address.
    key_header: Option<HeaderName>,
    /// Whether to believe `Forwarded`/`X-Forwarded-For` about the client's address.
    trust_proxy: bool,
    /// `RateLimit-Policy`, the same on every answer.
    policy: HeaderValue,
    /// The start of every `RateLimit` field: `"name";r=`.
    state_prefix: String,
    /// The counts of this process, when the persistent alias is in process; shared by
    /// every worker's copy of the middleware.
    local: Arc<LocalCounters>,
}

impl RateLimit {
    /// At most `limit` requests per client per `window`, counted under `name`.
    ///
    /// # Panics
    /// If `limit` or `window` is zero, or `name` is not printable ASCII without quotes
    /// and backslashes (it is sent as a header's quoted string): a mistake in the code,
    /// found when the routes are built.
    pub fn new(name: &str, limit: u64, window: Duration) -> Self {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|byte| (b' '..=b'~').contains(&byte) && byte != b'"' && byte != b'\\'),
            "a rate limit's name must be printable ASCII without quotes or backslashes: {name:?}"
        );
        assert!(
            limit > 0,
            "a rate limit of zero requests refuses everything"
        );
        assert!(
            window >= Duration::from_millis(1),
            "a rate limit's window must be at least 1 ms"
        );
        let policy = format!("\"{name}\";q={limit};w={}", window.as_secs().max(1));
        Self {
            #[cfg(feature = "redis")]
            name: name.to_owned(),
            limit,
            window,
            sliding: false,
            key_header: None,
            trust_proxy: false,
            state_prefix: format!("\"{name}\";r="),
            policy: HeaderValue::from_str(&policy)
                .expect("digits and `;w=` make a valid header value"),
            local: Arc::default(),
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
    fn client(&self, request: &ServiceRequest) -> Client {
        if let Some(value) = self
            .key_header
            .as_ref()
            .and_then(|header| request.headers().get(header))
            .and_then(|value| value.to_str().ok())
        {
            return Client::Key(value.to_owned());
        }
        let address = if self.trust_proxy {
            let info = request.connection_info();
            // With or without a port, IPv6 in brackets or not.
            info.realip_remote_addr().and_then(|address| {
                address
                    .parse::<std::net::SocketAddr>()
                    .map(|socket| socket.ip())
                    .or_else(|_| address.trim_matches(['[', ']']).parse::<IpAddr>())
                    .ok()
            })
        } else {
            request.peer_addr().map(|socket| socket.ip())
        };
        address.map_or(Client::Unknown, Client::Address)
    }
}

/// What counting decided for one request.
struct Verdict {
    allowed: bool,
    remaining: u64,
    reset: Duration,
}

impl RateLimit {
    /// Counts `client`'s request; `None` when it could not be counted.
    async fn count(&self, caches: &Caches, client: &Client) -> Option<Verdict> {
        let cache = caches.get(Alias::Persistent);
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        let index = now_ms / window_ms;
        let into = now_ms % window_ms;
        let (current, previous) = match cache.backend() {
            Backend::Disabled => return None,
            Backend::Memory => self.local.count(client, index),
            #[cfg(feature = "redis")]
            Backend::Redis => {
                let key = |index: u64| format!("ratelimit:{}:{client}:{index}", self.name);
                // Kept two windows, so a sliding window can still read the previous one.
                let current = match cache.incr(&key(index), 1, Some(self.window * 2)).await {
                    Ok(count) => u64::try_from(count).unwrap_or(0),
                    Err(error) => {
                        log_swallowed(Alias::Persistent, "rate limit", &key(index), &error);
                        return None;
                    }
                };
                let previous = if self.sliding {
                    let key = key(index.saturating_sub(1));
                    cache.get::<u64>(&key).await.ok().flatten().unwrap_or(0)
                } else {
                    0
                };
                (current, previous)
            }
        };
        let used = if self.sliding {
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

    /// The draft's fields for `verdict`, and `Retry-After` when refused.
    fn headers(&self, verdict: &Verdict) -> [Option<(HeaderName, HeaderValue)>; 3] {
        let reset = verdict.reset.as_secs() + u64::from(verdict.reset.subsec_nanos() > 0);
        // Built by hand: `format!` cost more than the rest of the limiter.
        let mut state = String::with_capacity(self.state_prefix.len() + 24);
        state.push_str(&self.state_prefix);
        push_number(&mut state, verdict.remaining);
        state.push_str(";t=");
        push_number(&mut state, reset);
        [
            Some((
                HeaderName::from_static("ratelimit-policy"),
                self.policy.clone(),
            )),
            HeaderValue::from_str(&state)
                .ok()
                .map(|state| (HeaderName::from_static("ratelimit"), state)),
            (!verdict.allowed).then(|| (RETRY_AFTER, HeaderValue::from(reset.max(1)))),
        ]
    }
}

/// Appends `number` in decimal.
fn push_number(text: &mut String, number: u64) {
    let mut digits = [0_u8; 20];
    let mut at = digits.len();
    let mut rest = number;
    loop {
        at -= 1;
        // A digit: below 10, so it fits a u8.
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    text.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
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
            for (name, value) in limit.headers(&verdict).into_iter().flatten() {
                headers.insert(name, value);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::push_number;

    #[test]
    fn numbers_are_written_in_decimal() {
        for number in [0, 7, 10, 4_096, u64::MAX] {
            let mut text = String::from("r=");
            push_number(&mut text, number);
            assert_eq!(text, format!("r={number}"));
        }
    }
}
