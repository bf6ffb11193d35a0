//! The `web` mode: an actix-web server with health and readiness probes, JSON errors,
//! request ids{% if cache %}, endpoint caching{% endif %} and a graceful stop on SIGTERM or ctrl-c.
//!
//! [`Application`] binds and assembles the server and [`routes`] holds the handlers.
{%- if cache %}
//! [`endpoint_cache`] is the middleware that caches `GET` answers and invalidates them
//! on writes.
{%- endif %}
//! [`errors`] defines the JSON error shape. [`run`] is what `<binary> web` calls after
//! the shared start-up in `command.rs`.

pub mod application;
{%- if cache %}
pub mod endpoint_cache;
{%- endif %}
pub mod errors;
pub mod request_log;
pub mod routes;

use std::future::Future;

pub use application::Application;

use crate::context::AppContext;

/// Serves HTTP on `APP_HOST:APP_PORT` until `shutdown` completes, then stops gracefully
/// and returns `Ok`.
///
/// # Errors
/// When the address cannot be bound or the server fails.
pub async fn run(context: AppContext, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    Application::build(&context)?
        .run_until_stopped(shutdown)
        .await
}
