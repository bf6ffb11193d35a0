//! The `web` mode: an actix-web server with health and readiness probes, JSON errors,
//! request ids, Prometheus metrics on `/metrics`{% if cache %}, endpoint caching{% endif %} and a graceful stop on
//! SIGTERM or ctrl-c.
//!
//! [`Application`] binds and assembles the server and [`routes`] holds the handlers.
//! [`errors`] defines the JSON error shape and [`json`] the JSON bodies routes read.
//! [`run`] is what `<binary> web` calls after the shared start-up in `command.rs`.

pub mod application;
pub mod client_timeouts;
pub mod errors;
pub mod head_as_get;
pub mod json;
pub mod metrics;
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
    let application = Application::build(&context)?;
    before_serving(&context).await;
    application.run_until_stopped(shutdown).await
}
{%- if cache %}

/// Start-up work between binding and serving: the example's repository starts empty,
/// so the answers an earlier run cached for it are dropped (remove this with the
/// stand-in repository).
async fn before_serving(context: &AppContext) {
    context.items.forget_cached(&context.caches).await;
}
{%- else %}

/// Start-up work between binding and serving (none yet).
async fn before_serving(_context: &AppContext) {}
{%- endif %}
