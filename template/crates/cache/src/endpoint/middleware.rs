//! The per-request side of [`EndpointCache`]: read-through on `GET` here, invalidation
//! after a routed write in `invalidation`, both failing open.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_NONE_MATCH, VARY,
};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{Error, HttpRequest, HttpResponse, web};
use serde_json::value::RawValue;

use super::key_inputs::Query;
use super::request_directives::{self, Bypass};
use super::store_rules::Verdict;
use super::{
    APPLICATION_JSON, EndpointCache, Values, X_CACHE, invalidation, shareable, validators,
};
use crate::cache::{Answer, JsonText};
use crate::{Backend, Cache, Caches};

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
                read_through(&service, &config, &cache, request).await
            } else if [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&method) {
                invalidation::invalidate_after(&*service, &config, &cache, request).await
            } else {
                service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_boxed_body)
            }
        })
    }
}

/// A `GET`: answered by the cache's read-through machine (fresh, stale, or the handler's
/// answer, shared with requests that miss the key at the same moment), marked `x-cache`.
async fn read_through<S, B>(
    service: &Rc<S>,
    config: &Rc<EndpointCache>,
    cache: &Cache,
    request: ServiceRequest,
) -> Result<ServiceResponse<BoxBody>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
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
    let bypass = if config.honour_request_no_cache {
        request_directives::bypass(request.headers())
    } else {
        Bypass::None
    };
    if bypass == Bypass::ReadAndWrite {
        tracing::debug!(
            "the request says Cache-Control: no-store; the cache is neither read nor written"
        );
        let mut response = service.call(request).await?.map_into_boxed_body();
        response
            .headers_mut()
            .insert(X_CACHE, HeaderValue::from_static("miss"));
        return Ok(response);
    }
    let rendered = Query::parse(request.query_string(), &config.query)
        .map_err(|error| (&config.key, error))
        .and_then(|query| {
            let values = Values::Read {
                path: request.match_info(),
                query: &query,
                headers: request.headers(),
            };
            let (key, _) = config
                .render(&config.key, &values, false)
                .map_err(|error| (&config.key, error))?;
            Ok((key, config.policy(&values)?))
        });
    let (key, policy) = match rendered {
        Ok(rendered) => rendered,
        Err((template, error)) => {
            error.log(template);
            return service
                .call(request)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
    };
    // A hit answers without the handler, so it needs its own handle on the request.
    let http_request = request.request().clone();
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
    let answer = |response, json: &JsonText, outcome| {
        respond(
            config,
            http_request.clone(),
            if_none_match.as_ref(),
            response,
            json,
            outcome,
        )
    };
    // The handler's own response, kept when this request is the one that ran it.
    let handled = Rc::new(RefCell::new(None));
    // Runs the handler for this request: on a miss, at most once per key at a time
    // (requests that miss together wait for the first one's answer instead of all
    // hitting the handler); for a stale answer, in the background once it has gone out.
    let load = {
        let (service, handled) = (Rc::clone(service), Rc::clone(&handled));
        let config = Rc::clone(config);
        move || async move {
            let response = service.call(request).await.map_err(Uncached::Failed)?;
            let (response, json) = cacheable_body(response, &config.vary).await?;
            let fresh_for = match config.store_rules.verdict(&json) {
                Verdict::Store(fresh_for) => fresh_for,
                Verdict::Skip => return Err(Uncached::Declined(response)),
            };
            *handled.borrow_mut() = Some(response);
            Ok::<_, Uncached>(JsonText(JsonText::from(json).0, fresh_for))
        }
    };
    if bypass == Bypass::Read {
        // No read and no joining a load that may have begun before this request.
        return match cache.reload(&key, &policy, load).await {
            Ok(json) => {
                tracing::debug!(key, "endpoint cache skipped for Cache-Control: no-cache");
                Ok(answer(handled.take(), &json, "miss"))
            }
            Err(uncached) => uncached.into_response(&key),
        };
    }
    // A handler's failure (not a 404 or a 400) may be covered by a stale answer.
    match cache
        .read_through(&key, &policy, load, Uncached::is_failure)
        .await
    {
        Ok(Answer::Fresh(json)) => {
            tracing::debug!(key, "endpoint cache hit");
            Ok(answer(None, &json, "hit"))
        }
        Ok(Answer::Stale(json, refresh)) => {
            tracing::debug!(key, "endpoint cache stale hit");
            if let Some(refresh) = refresh {
                actix_web::rt::spawn(refresh.run());
            }
            Ok(answer(None, &json, "stale"))
        }
        Ok(Answer::Loaded(json)) => {
            tracing::debug!(key, "endpoint cache miss");
            Ok(answer(handled.take(), &json, "miss"))
        }
        // Another request's handler run answered this one: a hit.
        Ok(Answer::Joined(json)) => {
            tracing::debug!(key, "endpoint cache hit");
            Ok(answer(None, &json, "hit"))
        }
        Ok(Answer::StaleOnError(json)) => Ok(answer(None, &json, "stale")),
        Err(uncached) => uncached.into_response(&key),
    }
}

/// A cached body as actix sends it: the bytes stay in the cache's `Arc`, so a hit sends
/// them without a copy.
struct SharedBody(Arc<str>);

impl AsRef<[u8]> for SharedBody {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The answer for a cached body: the handler's own `response` when this request ran
/// it, else one built from `json`; `304` with no body when `If-None-Match` names its
/// `ETag`. Marked with `x-cache: {outcome}`, the `ETag` and the route's `Cache-Control`.
fn respond(
    config: &EndpointCache,
    http_request: HttpRequest,
    if_none_match: Option<&HeaderValue>,
    response: Option<ServiceResponse<BoxBody>>,
    json: &JsonText,
    outcome: &'static str,
) -> ServiceResponse<BoxBody> {
    let etag = validators::etag(json);
    let unchanged = if_none_match.is_some_and(|listed| validators::none_match_hits(listed, &etag));
    let mut response = match response {
        // The client holds this very answer: no body, from the cache either way.
        _ if unchanged => ServiceResponse::new(
            http_request,
            HttpResponse::new(StatusCode::NOT_MODIFIED).map_into_boxed_body(),
        ),
        Some(response) => response,
        None => {
            // The body is the cache's own copy, shared, not copied.
            let body = Bytes::from_owner(SharedBody(Arc::clone(&json.0)));
            let mut response = HttpResponse::with_body(StatusCode::OK, body);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, APPLICATION_JSON);
            ServiceResponse::new(http_request, response.map_into_boxed_body())
        }
    };
    let headers = response.headers_mut();
    headers.insert(X_CACHE, HeaderValue::from_static(outcome));
    headers.insert(ETAG, etag);
    if let Some(cache_control) = &config.cache_control {
        headers.insert(CACHE_CONTROL, cache_control.clone());
    }
    // Clients and proxies must key on the same headers as this cache: every answer
    // names them, a handler's own `Vary` lines are kept.
    if let Some(vary) = &config.vary_header {
        let listed = shareable::list_items(headers, &VARY).collect::<Vec<_>>();
        let all_listed = config.vary.iter().all(|name| {
            listed
                .iter()
                .any(|item| item.eq_ignore_ascii_case(name.as_str().as_bytes()))
        });
        if !all_listed {
            headers.append(VARY, vary.clone());
        }
    }
    response
}

/// Why a handler's answer was not cached.
enum Uncached {
    /// Not a `200` JSON answer with a body of known size: passed on as it is.
    Response(ServiceResponse<BoxBody>),
    /// A `200` JSON answer meant for its own client only (a cookie, `private`,
    /// `no-store`, `Vary`): passed on as it is, never stored nor handed to requests
    /// waiting on the same key (they run the handler for themselves).
    Unshareable(ServiceResponse<BoxBody>, shareable::Refusal),
    /// A `200` JSON answer the route's `store_if` declined (or its `ttl_from` gave a
    /// zero TTL): passed on as it is, neither stored nor handed to waiting requests.
    Declined(ServiceResponse<BoxBody>),
    /// The handler's service failed outright.
    Failed(Error),
}

impl Uncached {
    /// Whether the handler failed (an error or a `5xx`), so a stale answer may stand in;
    /// a `404` or a `400` is an answer, not a failure.
    fn is_failure(&self) -> bool {
        match self {
            Uncached::Response(response) => response.status().is_server_error(),
            Uncached::Unshareable(..) | Uncached::Declined(_) => false,
            Uncached::Failed(_) => true,
        }
    }

    /// The response to send for a `GET` under `key` whose answer was not cached.
    fn into_response(self, key: &str) -> Result<ServiceResponse<BoxBody>, Error> {
        let mut response = match self {
            Uncached::Response(response) => {
                tracing::debug!(key, "endpoint cache miss, not cacheable");
                response
            }
            Uncached::Unshareable(response, refusal) => {
                tracing::debug!(key, %refusal, "endpoint cache miss, not stored: the answer is for its own client only");
                response
            }
            Uncached::Declined(response) => {
                tracing::debug!(
                    key,
                    "endpoint cache miss, not stored: the route's store_if or ttl_from declined it"
                );
                response
            }
            Uncached::Failed(error) => return Err(error),
        };
        response
            .headers_mut()
            .insert(X_CACHE, HeaderValue::from_static("miss"));
        Ok(response)
    }
}

impl fmt::Display for Uncached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uncached::Response(response) => {
                write!(f, "the handler answered {} (not cached)", response.status())
            }
            Uncached::Unshareable(_, refusal) => {
                write!(f, "the answer is not stored: {refusal}")
            }
            Uncached::Declined(_) => f.write_str("the route declined to store the answer"),
            Uncached::Failed(error) => write!(f, "the handler failed: {error}"),
        }
    }
}

/// Splits a `200` JSON answer that may be shared (see `shareable`) into the response
/// (body intact) and its JSON for the cache.
async fn cacheable_body<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
    keyed: &[HeaderName],
) -> Result<(ServiceResponse<BoxBody>, Box<RawValue>), Uncached> {
    // A streamed body would have to be held in memory in full; it is served uncached.
    let sized = matches!(response.response().body().size(), BodySize::Sized(_));
    if response.status() != StatusCode::OK
        || !is_json(response.headers().get(CONTENT_TYPE))
        || !sized
    {
        return Err(Uncached::Response(response.map_into_boxed_body()));
    }
    // A `Vary` on a header the key does not hold (but `Accept-Encoding`) keeps the
    // answer out.
    if let Some(refusal) = shareable::refusal(response.headers(), keyed) {
        return Err(Uncached::Unshareable(
            response.map_into_boxed_body(),
            refusal,
        ));
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

/// Whether a `Content-Type` says JSON.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use actix_web::body::{BoxBody, MessageBody};
    use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
    use actix_web::http::StatusCode;
    use actix_web::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH, SET_COOKIE, VARY};
    use actix_web::{App, Error, HttpResponse, test, web};
    use serde_json::json;

    use crate::endpoint::{EndpointCache, X_CACHE};
    use crate::{CacheSettings, Caches};

    const HOUR: Duration = Duration::from_secs(3600);

    /// What the handler does: how often it ran, and the status it answers with.
    #[derive(Clone)]
    struct Source {
        calls: Rc<Cell<u32>>,
        status: Rc<Cell<StatusCode>>,
    }

    impl Source {
        fn new() -> Self {
            Self {
                calls: Rc::new(Cell::new(0)),
                status: Rc::new(Cell::new(StatusCode::OK)),
            }
        }
    }

    /// An app with `GET /items/{id}` behind `cache`, whose handler counts its call,
    /// pauses 50 ms and answers `{"call": n}` with the source's status.
    fn app(
        caches: &Caches,
        cache: EndpointCache,
        source: &Source,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<BoxBody>,
            Error = Error,
            InitError = (),
        > + use<>,
    > {
        let source = source.clone();
        let handler = move || {
            let source = source.clone();
            async move {
                let call = source.calls.get() + 1;
                source.calls.set(call);
                tokio::time::sleep(Duration::from_millis(50)).await;
                HttpResponse::build(source.status.get()).json(json!({ "call": call }))
            }
        };
        App::new().app_data(web::Data::new(caches.clone())).service(
            web::resource("/items/{id}")
                .wrap(cache)
                .route(web::get().to(handler)),
        )
    }

    /// Status, `x-cache` and body of a `GET` of `$path` from `$app`.
    macro_rules! get {
        ($app:expr, $path:expr) => {
            async {
                let request = test::TestRequest::get().uri($path).to_request();
                let response = test::call_service($app, request).await;
                let status = response.status();
                let x_cache = response
                    .headers()
                    .get(X_CACHE)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                let body = test::read_body(response).await;
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                (status, x_cache, body)
            }
        };
    }

    #[actix_web::test]
    async fn a_hit_sends_the_cached_bytes_without_copying_them() {
        let (caches, source) = (
            Caches::from_settings(&CacheSettings::default()),
            Source::new(),
        );
        let app = test::init_service(app(&caches, EndpointCache::new("items:{id}"), &source)).await;
        assert_eq!(get!(&app, "/items/1").await.1, "miss");
        let hit =
            test::call_service(&app, test::TestRequest::get().uri("/items/1").to_request()).await;
        assert_eq!(hit.headers().get(X_CACHE).unwrap(), "hit");
        let body = MessageBody::try_into_bytes(hit.into_body()).expect("a body in one piece");
        let cached = caches
            .persistent()
            .get_json("items:1")
            .await
            .unwrap()
            .expect("cached");
        assert_eq!(
            body.as_ptr(),
            cached.as_ptr(),
            "the answer's body is the cache's copy itself"
        );
    }

    #[actix_web::test]
    async fn a_hit_skips_the_handler_and_names_its_etag() {
        let (caches, source) = (
            Caches::from_settings(&CacheSettings::default()),
            Source::new(),
        );
        let app = test::init_service(app(&caches, EndpointCache::new("items:{id}"), &source)).await;
        assert_eq!(
            get!(&app, "/items/1").await,
            (StatusCode::OK, "miss".into(), json!({ "call": 1 }))
        );
        assert_eq!(
            get!(&app, "/items/1").await,
            (StatusCode::OK, "hit".into(), json!({ "call": 1 }))
        );
        assert_eq!(source.calls.get(), 1);

        let request = || test::TestRequest::get().uri("/items/1");
        let etag = test::call_service(&app, request().to_request())
            .await
            .headers()
            .get(ETAG)
            .unwrap()
            .clone();
        let unchanged = test::call_service(
            &app,
            request().insert_header((IF_NONE_MATCH, etag)).to_request(),
        )
        .await;
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(unchanged.headers().get(X_CACHE).unwrap(), "hit");
    }

    #[actix_web::test]
    async fn requests_that_miss_together_share_one_handler_run() {
        let (caches, source) = (
            Caches::from_settings(&CacheSettings::default()),
            Source::new(),
        );
        let app = test::init_service(app(&caches, EndpointCache::new("items:{id}"), &source)).await;
        let (a, b, c) = tokio::join!(
            get!(&app, "/items/1"),
            get!(&app, "/items/1"),
            get!(&app, "/items/1")
        );
        let mut outcomes = [a.1, b.1, c.1];
        outcomes.sort();
        assert_eq!(
            outcomes,
            ["hit", "hit", "miss"],
            "one ran the handler, the others joined it"
        );
        assert!(
            [a.2, b.2, c.2]
                .iter()
                .all(|body| *body == json!({ "call": 1 }))
        );
        assert_eq!(source.calls.get(), 1);

        source.status.set(StatusCode::NOT_FOUND);
        assert_eq!(get!(&app, "/items/2").await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            get!(&app, "/items/2").await.1,
            "miss",
            "a 404 is not cached"
        );
    }

    #[actix_web::test]
    async fn an_answer_for_its_own_client_only_goes_out_as_it_is_and_is_never_stored() {
        let caches = Caches::from_settings(&CacheSettings::default());
        let calls = Rc::new(Cell::new(0));
        // `/answers/{kind}` answers 200 JSON with the header `kind` names.
        let handler = {
            let calls = Rc::clone(&calls);
            move |kind: web::Path<String>| {
                calls.set(calls.get() + 1);
                let mut response = HttpResponse::Ok();
                match kind.as_str() {
                    "cookie" => response.insert_header((SET_COOKIE, "session=s3cret; HttpOnly")),
                    "private" => response.insert_header((CACHE_CONTROL, "max-age=60, private")),
                    "no-store" => response.insert_header((CACHE_CONTROL, "no-store")),
                    "vary" => response.insert_header((VARY, "Accept-Encoding, Authorization")),
                    "encoding" => response.insert_header((VARY, "Accept-Encoding")),
                    _ => &mut response,
                };
                async move { response.json(json!({ "for": "me" })) }
            }
        };
        let app = test::init_service(
            App::new().app_data(web::Data::new(caches.clone())).service(
                web::resource("/answers/{kind}")
                    .wrap(EndpointCache::new("answers:{kind}"))
                    .route(web::get().to(handler)),
            ),
        )
        .await;
        let get = |kind: &str| {
            let request = test::TestRequest::get()
                .uri(&format!("/answers/{kind}"))
                .to_request();
            test::call_service(&app, request)
        };

        for (kind, header, value) in [
            ("cookie", SET_COOKIE, "session=s3cret; HttpOnly"),
            ("private", CACHE_CONTROL, "max-age=60, private"),
            ("no-store", CACHE_CONTROL, "no-store"),
            ("vary", VARY, "Accept-Encoding, Authorization"),
        ] {
            let before = calls.get();
            // Two at once: the second does not get the first one's answer either.
            let (first, second) = tokio::join!(get(kind), get(kind));
            for response in [first, second] {
                assert_eq!(response.status(), StatusCode::OK, "{kind}");
                assert_eq!(response.headers().get(X_CACHE).unwrap(), "miss", "{kind}");
                assert_eq!(response.headers().get(&header).unwrap(), value, "{kind}");
                assert_eq!(test::read_body(response).await, r#"{"for":"me"}"#, "{kind}");
            }
            assert_eq!(get(kind).await.headers().get(X_CACHE).unwrap(), "miss");
            assert_eq!(
                calls.get(),
                before + 3,
                "{kind}: the handler ran every time"
            );
            let key = format!("answers:{kind}");
            assert_eq!(caches.persistent().get_raw(&key).await.unwrap(), None);
        }

        // `Vary: Accept-Encoding` alone, and no such header at all, are shared.
        for kind in ["encoding", "plain"] {
            assert_eq!(get(kind).await.headers().get(X_CACHE).unwrap(), "miss");
            assert_eq!(get(kind).await.headers().get(X_CACHE).unwrap(), "hit");
        }
    }

    #[actix_web::test]
    async fn a_stale_answer_goes_out_at_once_while_one_refresh_runs() {
        let (caches, source) = (
            Caches::from_settings(&CacheSettings::default()),
            Source::new(),
        );
        let cache = EndpointCache::new("items:{id}")
            .ttl(Duration::from_secs(1))
            .stale_while_revalidate(HOUR);
        let app = test::init_service(app(&caches, cache, &source)).await;
        assert_eq!(get!(&app, "/items/1").await.1, "miss");
        tokio::time::sleep(Duration::from_millis(1_100)).await;

        let (a, b) = tokio::join!(get!(&app, "/items/1"), get!(&app, "/items/1"));
        for answer in [a, b] {
            assert_eq!(
                answer,
                (StatusCode::OK, "stale".into(), json!({ "call": 1 }))
            );
        }
        // The refresh (a 50 ms handler) stored a value fresh for a second.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            get!(&app, "/items/1").await,
            (StatusCode::OK, "hit".into(), json!({ "call": 2 }))
        );
        assert_eq!(source.calls.get(), 2, "exactly one refresh ran");
        let stale = caches.persistent().stale_stats();
        assert_eq!((stale.stale_while_revalidate, stale.refreshes), (2, 1));
    }

    #[actix_web::test]
    async fn a_stale_answer_covers_a_failing_handler_but_not_a_404() {
        let (caches, source) = (
            Caches::from_settings(&CacheSettings::default()),
            Source::new(),
        );
        let cache = EndpointCache::new("items:{id}")
            .ttl(Duration::from_millis(100))
            .stale_if_error(HOUR);
        let app = test::init_service(app(&caches, cache, &source)).await;
        assert_eq!(get!(&app, "/items/1").await.1, "miss");
        tokio::time::sleep(Duration::from_millis(200)).await;

        source.status.set(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            get!(&app, "/items/1").await,
            (StatusCode::OK, "stale".into(), json!({ "call": 1 }))
        );
        assert_eq!(caches.persistent().stale_stats().stale_if_error, 1);
        source.status.set(StatusCode::NOT_FOUND);
        assert_eq!(
            get!(&app, "/items/1").await,
            (StatusCode::NOT_FOUND, "miss".into(), json!({ "call": 3 }))
        );
        source.status.set(StatusCode::OK);
        assert_eq!(
            get!(&app, "/items/1").await,
            (StatusCode::OK, "miss".into(), json!({ "call": 4 }))
        );
        assert_eq!(caches.persistent().stale_stats().stale_if_error, 1);
    }
    #[actix_web::test]
    async fn a_request_that_says_no_cache_reaches_the_handler_and_its_answer_is_stored() {
        let (caches, source) = (
            Caches::from_settings(&CacheSettings::default()),
            Source::new(),
        );
        let app = test::init_service(app(&caches, EndpointCache::new("items:{id}"), &source)).await;
        assert_eq!(get!(&app, "/items/1").await.1, "miss");
        let no_cache = test::TestRequest::get()
            .uri("/items/1")
            .insert_header((CACHE_CONTROL, "no-cache"))
            .to_request();
        let response = test::call_service(&app, no_cache).await;
        assert_eq!(response.headers().get(X_CACHE).unwrap(), "miss");
        assert!(response.headers().contains_key(ETAG));
        assert_eq!(source.calls.get(), 2, "the handler ran again");
        assert_eq!(
            get!(&app, "/items/1").await,
            (StatusCode::OK, "hit".into(), json!({ "call": 2 })),
            "its answer was stored"
        );
    }

    #[actix_web::test]
    async fn a_declined_answer_is_not_handed_to_requests_waiting_on_its_key() {
        let (caches, source) = (
            Caches::from_settings(&CacheSettings::default()),
            Source::new(),
        );
        let cache = EndpointCache::new("items:{id}").store_if(|json| json.get() != r#"{"call":1}"#);
        let app = test::init_service(app(&caches, cache, &source)).await;
        let (a, b) = tokio::join!(get!(&app, "/items/1"), get!(&app, "/items/1"));
        assert_eq!((a.1.as_str(), b.1.as_str()), ("miss", "miss"));
        assert_ne!(a.2, b.2, "each ran the handler for itself");
        assert_eq!(source.calls.get(), 2);
        assert_eq!(get!(&app, "/items/1").await.1, "hit", "call 2 was stored");
    }
}
