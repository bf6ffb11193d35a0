//! `HEAD` wherever `GET` works, so that probes and link checkers using `HEAD` get the
//! same answer as `GET`, without its body.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// Middleware (`from_fn`): answers `HEAD` wherever `GET` is answered, as HTTP requires.
/// The request is routed as a `GET`; actix sends the headers (with the body's length)
/// and leaves the body out, because the connection knows the client asked for `HEAD`.
/// The log line still says `HEAD`: the request span is opened before this runs.
pub async fn head_as_get(
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if request.method() == Method::HEAD {
        request.head_mut().method = Method::GET;
    }
    next.call(request).await
}
