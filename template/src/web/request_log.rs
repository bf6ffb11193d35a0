//! One log line per request, and the request id in the `x-request-id` response header.
//!
//! `tracing-actix-web`'s `TracingLogger` opens a span per request that carries a fresh
//! `request_id` (and the method, route and client), so every log line written while the
//! request is handled names it. This middleware runs inside that span: it writes the
//! closing line with the status and the duration, and hands the id to the client so a
//! bug report can quote it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing_actix_web::RequestId;

/// The response header that carries the request id.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware (`from_fn`): logs the outcome and sets `x-request-id`. Must be wrapped
/// inside `TracingLogger`, which creates the id.
pub async fn request_log(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = request.extensions().get::<RequestId>().copied();
    let outcome = next.call(request).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &outcome {
        Ok(response) if response.status().is_server_error() => {
            let error = response.response().error().map(ToString::to_string);
            let status = response.status().as_u16();
            tracing::error!(status, elapsed_ms, error, "request failed");
        }
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::info!(status, elapsed_ms, "request completed");
        }
        Err(error) => tracing::error!(error = %error, elapsed_ms, "request failed"),
    }
    let mut response = outcome?;
    if let Some(id) = request_id
        && let Ok(value) = HeaderValue::from_str(&id.to_string())
    {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    Ok(response)
}
