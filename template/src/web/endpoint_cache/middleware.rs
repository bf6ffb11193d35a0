//! The per-request side of [`EndpointCache`]: read-through on `GET`, invalidation after
//! every write, both failing open.

use std::cell::RefCell;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderValue, IF_NONE_MATCH};
use actix_web::http::{Method, StatusCode};
use actix_web::{Error, HttpResponse, web};
use serde_json::value::RawValue;

use super::{APPLICATION_JSON, EndpointCache, X_CACHE, validators};
use crate::context::AppContext;
use crate::services::cache::{Backend, Cache};
use crate::web::errors::is_json;

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
            let Some(context) = request.app_data::<web::Data<AppContext>>() else {
                tracing::error!(
                    "EndpointCache needs web::Data<AppContext> in the app data; serving without the cache"
                );
                return service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_boxed_body);
            };
            let cache = context.caches.get(config.alias).clone();
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
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
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
    let (response, json) = match loaded {
        Ok(json) => (handled.into_inner(), json),
        Err(Uncached::Response(mut response)) => {
            tracing::debug!(key, "endpoint cache miss, not cacheable");
            response
                .headers_mut()
                .insert(X_CACHE, HeaderValue::from_static("miss"));
            return Ok(response);
        }
        Err(Uncached::Failed(error)) => return Err(error),
    };
    let outcome = if response.is_some() { "miss" } else { "hit" };
    tracing::debug!(key, "endpoint cache {outcome}");
    let etag = validators::etag(&json);
    let unchanged = if_none_match
        .as_ref()
        .is_some_and(|listed| validators::none_match_hits(listed, &etag));
    let mut response = match response {
        // The client holds this very answer: no body, from the cache either way.
        _ if unchanged => ServiceResponse::new(
            http_request,
            HttpResponse::new(StatusCode::NOT_MODIFIED).map_into_boxed_body(),
        ),
        Some(response) => response,
        None => {
            let mut response = HttpResponse::with_body(StatusCode::OK, json.as_bytes().to_vec());
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
    if response.status() != StatusCode::OK
        || !is_json(response.headers().get(CONTENT_TYPE))
        || !sized
    {
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

    // Whatever the handler answers, even an error or a 404: dropping a key is never
    // wrong, while keeping one after a write that half-happened, or for an item the
    // store no longer has, serves a stale answer until the TTL.
    let outcome = service.call(request).await;
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
    outcome.map(ServiceResponse::map_into_boxed_body)
}
