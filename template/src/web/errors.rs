//! Every error the API answers with is JSON: `{"error": "not_found", "message": "..."}`.
//!
//! Handlers return their own `thiserror` enums (see `routes::items::ItemError`) and
//! turn them into responses with [`json_error`]. The extractor configurations here give
//! bad paths, bad bodies and oversized bodies the same shape, and [`json_errors`] is the
//! safety net for anything else actix-web answers on its own (a 405 from a resource, an
//! error from a third-party extractor, …), so a client never parses a plain-text error.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;

use crate::web::client_timeouts;

/// The body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// A stable, machine-readable code derived from the status (`not_found`,
    /// `payload_too_large`, …).
    pub error: String,
    /// One sentence for people: what went wrong and, where it helps, how to fix it.
    pub message: &'a str,
}

/// A JSON error response with `status` and `message`.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: error_code(status),
        message,
    })
}

/// `Not Found` becomes `not_found`: the status's reason in snake case.
fn error_code(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// Extractor settings that give rejected paths, queries and bodies a JSON answer.
///
/// `body_limit_bytes` is `APP_BODY_LIMIT_BYTES`: larger bodies are refused with 413
/// before they are read in full.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, body_limit_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit_bytes)
            .error_handler(json_body_error),
    )
    .app_data(web::PayloadConfig::default().limit(body_limit_bytes))
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error));
}

fn json_body_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let (status, message) = match &error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the {limit}-byte limit (APP_BODY_LIMIT_BYTES)"
            ),
        ),
        JsonPayloadError::ContentType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with the header content-type: application/json".to_owned(),
        ),
        JsonPayloadError::Deserialize(cause) => (
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON for this endpoint: {cause}"),
        ),
        JsonPayloadError::Payload(cause) if client_timeouts::is_body_timeout(cause) => {
            // The rest of the body may still be trickling in: close the connection
            // rather than read it.
            let mut response = json_error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time (APP_REQUEST_BODY_TIMEOUT_MS)",
            );
            response
                .head_mut()
                .set_connection_type(ConnectionType::Close);
            return InternalError::from_response(error, response).into();
        }
        other => (
            other.status_code(),
            format!("the body could not be read: {other}"),
        ),
    };
    InternalError::from_response(error, json_error(status, &message)).into()
}

fn path_error(error: PathError, _: &HttpRequest) -> actix_web::Error {
    let message = match &error {
        PathError::Deserialize(cause) => format!("invalid path parameter: {cause}"),
        other => format!("invalid path: {other}"),
    };
    InternalError::from_response(error, json_error(StatusCode::BAD_REQUEST, &message)).into()
}

fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = match &error {
        QueryPayloadError::Deserialize(cause) => format!("invalid query string: {cause}"),
        other => format!("invalid query string: {other}"),
    };
    InternalError::from_response(error, json_error(StatusCode::BAD_REQUEST, &message)).into()
}

/// The answer for routes that do not exist.
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    json_error(
        StatusCode::NOT_FOUND,
        &format!("no route for {} {}", request.method(), request.path()),
    )
}

/// Middleware: rewrites any error response that is not JSON yet (405 from a resource,
/// an error from a third-party extractor, …) into the JSON shape. Server errors keep
/// their details in the logs and tell the client nothing internal.
pub async fn json_errors(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(request).await?;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers().get(CONTENT_TYPE))
    {
        return Ok(response.map_into_boxed_body());
    }
    let message = if status.is_server_error() {
        "the server could not handle this request; the logs have the details".to_owned()
    } else {
        match response.response().error() {
            Some(error) => error.to_string(),
            None => status
                .canonical_reason()
                .unwrap_or("request refused")
                .to_owned(),
        }
    };
    let (request, original) = response.into_parts();
    let mut replacement = json_error(status, &message);
    // Keep headers that carry meaning for the client, such as `allow` on a 405 (which
    // gains HEAD where GET is allowed: `head_as_get` answers it).
    for (name, value) in original.headers() {
        if name == ALLOW {
            replacement.headers_mut().append(ALLOW, with_head(value));
        } else if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            replacement
                .headers_mut()
                .append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(request, replacement))
}

/// An `allow` header's value with `HEAD` added when `GET` is there.
fn with_head(allow: &HeaderValue) -> HeaderValue {
    let Ok(methods) = allow.to_str() else {
        return allow.clone();
    };
    let listed: Vec<&str> = methods.split(',').map(str::trim).collect();
    if listed.contains(&"GET") && !listed.contains(&"HEAD") {
        HeaderValue::from_str(&format!("{methods}, HEAD")).unwrap_or_else(|_| allow.clone())
    } else {
        allow.clone()
    }
}

/// Whether a `content-type` header says JSON.
pub(crate) fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}
