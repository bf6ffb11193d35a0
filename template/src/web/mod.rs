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
{%- if cache %}
use std::sync::Arc;
use std::time::Duration;
{%- endif %}

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

/// How long start-up waits for [`before_serving`]'s clean-up before it serves anyway:
/// on a large shared Redis its SCAN can outlast a readiness probe's patience.
const CLEAN_UP_WAIT: Duration = Duration::from_secs(2);

/// Start-up work between binding and serving: the example's repository starts empty,
/// so the answers an earlier run cached for it are dropped (remove this with the
/// stand-in repository). Bounded by [`CLEAN_UP_WAIT`]; past it the clean-up goes on in
/// the background while the service serves.
async fn before_serving(context: &AppContext) {
    let (items, caches) = (Arc::clone(&context.items), context.caches.clone());
    let clean_up = tokio::spawn(async move { items.forget_cached(&caches).await });
    if tokio::time::timeout(CLEAN_UP_WAIT, clean_up).await.is_err() {
        tracing::warn!(
            "dropping the cached items of an earlier run takes longer than {} s; serving meanwhile, it goes on in the background",
            CLEAN_UP_WAIT.as_secs()
        );
    }
}
{%- else %}

/// Start-up work between binding and serving (none yet).
async fn before_serving(_context: &AppContext) {}
{%- endif %}
