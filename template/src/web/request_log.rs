//! One log line per request, and the request id in the `x-request-id` response header.
//!
//! `tracing-actix-web`'s `TracingLogger` opens a span per request; [`RequestSpan`] gives
//! it four fields: a fresh `request_id`, the `method`, the `route` template and the
//! `path` (never the query string, which may carry a token). Every log line written
//! while the request is handled carries them. [`request_log`] runs inside that span: it
//! writes the closing line with the status and the duration, and hands the id to the
//! client so a bug report can quote it.
//!
//! Levels: a request is `info`, a server error `error`; the probes (`/health`, `/ready`)
//! and scrapes (`/metrics`) are `debug`, since an orchestrator or Prometheus calls them
//! every few seconds, except a `503` from `/ready`, which is a `warn`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The response header that carries the request id.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The probe paths and the metrics scrape, logged at `debug`.
pub const PROBES: [&str; 3] = ["/health", "/ready", "/metrics"];

/// The request span: `TracingLogger<RequestSpan>` in `Application::build`.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().copied();
        // The route template (`/items/{id}`) groups requests; unmatched paths have none.
        // Finding it matches the path against every route again (the regex of a route
        // with parameters), so it is worked out only when the span is recorded: inside
        // the macro, whose fields are evaluated only then.
        tracing::info_span!(
            "request",
            request_id = request_id.map(tracing::field::display),
            method = %request.method(),
            route = request.match_pattern().as_deref(),
            path = request.path(),
        )
    }

    // The closing line is written by `request_log`, with the status and the duration.
    fn on_request_end<B: MessageBody>(_: Span, _: &Result<ServiceResponse<B>, Error>) {}
}

/// Middleware (`from_fn`): logs the outcome and sets `x-request-id`. Must be wrapped
/// inside `TracingLogger`, which creates the id.
pub async fn request_log(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = request.extensions().get::<RequestId>().copied();
    let probe = PROBES.contains(&request.path());
    let outcome = next.call(request).await;
    // Milliseconds with two decimals: 0.38, not 0.38255100000000003.
    let elapsed_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    match &outcome {
        Ok(response) if probe => {
            let status = response.status().as_u16();
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                tracing::warn!(status, elapsed_ms, "probe answered not ready");
            } else {
                tracing::debug!(status, elapsed_ms, "request completed");
            }
        }
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
