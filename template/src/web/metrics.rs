//! `GET /metrics` and the middleware that counts every request for it.
//!
//! [`track_requests`] wraps the whole app, so the duration covers every other
//! middleware, and labels each request with its route template (`/items/{id}`), its
//! method and its status; see [`crate::metrics::http`]. `/metrics` itself answers 404
//! when `METRICS_ENABLED=false`.

use std::cell::RefCell;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, web};

use crate::context::AppContext;
use crate::metrics::{CONTENT_TYPE, Metrics};
use crate::web::errors;

/// Mounts `/metrics`. `Application::build` calls it, whatever the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics)));
}

/// Every series of this service, in the Prometheus text format.
async fn metrics(context: web::Data<AppContext>, request: HttpRequest) -> HttpResponse {
    match context.metrics.render() {
        Some(text) => HttpResponse::Ok().content_type(CONTENT_TYPE).body(text),
        None => errors::not_found(request).await,
    }
}

thread_local! {
    /// The route template of the request [`track_requests`] is handing inward, set only
    /// while its `next.call` runs: the request span, created inside that call on the same
    /// thread, reads it instead of searching the routing table a second time.
    static HANDED_IN: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Calls `f` with `request`'s route template (`None`: no route matches its path), the
/// one [`track_requests`] looked up when it is handing this request inward, else a fresh
/// lookup.
pub fn with_route<R>(request: &ServiceRequest, f: impl FnOnce(Option<&str>) -> R) -> R {
    HANDED_IN.with_borrow(|handed_in| match handed_in {
        Some(route) => f(route.as_deref()),
        None => f(request.match_pattern().as_deref()),
    })
}

/// Middleware (`from_fn`, around everything else): counts the request and its duration
/// under its route template, method and status.
pub async fn track_requests(
    metrics: Metrics,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(http) = metrics.http() else {
        return next.call(request).await;
    };
    let started = Instant::now();
    let method = request.method().clone();
    HANDED_IN.set(Some(request.match_pattern()));
    let response = next.call(request);
    // Taken back before anything awaits, so no other request can see it.
    let route = HANDED_IN.take().flatten();
    let outcome = response.await;
    let status = match &outcome {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    http.observe(
        route.as_deref(),
        method.as_str(),
        status.as_u16(),
        started.elapsed(),
    );
    outcome
}
