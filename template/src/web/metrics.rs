//! `GET /metrics` and the middleware that counts every request for it.
//!
//! [`track_requests`] wraps the whole app, so the duration covers every other
//! middleware, and labels each request with its route template (`/items/{id}`), its
//! method and its status; see [`crate::metrics::http`]. `/metrics` itself answers 404
//! when `METRICS_ENABLED=false`.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, web};

use crate::context::AppContext;
use crate::metrics::{CONTENT_TYPE, Metrics};
use crate::web::errors;
use crate::web::routes::{self, RouteTemplate};

/// Mounts `/metrics`. `Application::build` calls it, whatever the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(routes::resource("/metrics").route(web::get().to(metrics)));
}

/// Every series of this service, in the Prometheus text format.
async fn metrics(context: web::Data<AppContext>, request: HttpRequest) -> HttpResponse {
    match context.metrics.render() {
        Some(text) => HttpResponse::Ok().content_type(CONTENT_TYPE).body(text),
        None => errors::not_found(request).await,
    }
}

/// The route template `request` was routed to: its resource's [`RouteTemplate`], else
/// (a resource made without it) a fresh match; `None` when no route matched.
fn route_of(request: &HttpRequest) -> Option<Cow<'static, str>> {
    match request.app_data::<RouteTemplate>() {
        Some(template) => Some(Cow::Borrowed(template.0)),
        None => request.match_pattern().map(Cow::Owned),
    }
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
    let outcome = next.call(request).await;
    let (status, route) = match &outcome {
        Ok(response) => (response.status(), route_of(response.request())),
        // A service failed before it answered: its route is not known here.
        Err(error) => (error.as_response_error().status_code(), None),
    };
    http.observe(
        route.as_deref(),
        method.as_str(),
        status.as_u16(),
        started.elapsed(),
    );
    outcome
}
