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
{%- if cache and database == "none" %}
use std::sync::Arc;
use std::time::Duration;
{%- endif %}
{%- if database != "none" %}

use anyhow::Context as _;
{%- endif %}

pub use application::Application;

use crate::context::AppContext;

/// Serves HTTP on `APP_HOST:APP_PORT` until `shutdown` completes, then stops gracefully
/// and returns `Ok`.
///
/// # Errors
/// When the address cannot be bound{% if database != "none" %}, the migrations cannot be applied{% endif %} or the server fails.
pub async fn run(context: AppContext, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let application = Application::build(&context)?;
    before_serving(&context).await?;
    application.run_until_stopped(shutdown).await
}
{%- if database != "none" %}

/// Start-up work between binding and serving: the database's pending migrations
/// (unless `DATABASE_MIGRATE=false`), so that no request meets an older schema. Several
/// instances starting together apply each migration once.{% if cache %} The cache needs no clean-up:
/// the data outlives the process, as the answers cached from it do.{% endif %}
///
/// # Errors
/// When the database cannot be reached or a migration fails, or, with
/// `DATABASE_MIGRATE=false`, when migrations are pending.
async fn before_serving(context: &AppContext) -> anyhow::Result<()> {
    if !context.settings.database.migrate {
        return check_schema(context).await;
    }
    let applied = context.database.migrate().await.context(
        "could not apply the database migrations: start the database or correct DATABASE_URL (DATABASE_MIGRATE=false skips this step)",
    )?;
    if applied > 0 {
        tracing::info!(applied, "applied the database migrations");
    }
    Ok(())
}

/// With `DATABASE_MIGRATE=false`, start-up still refuses a schema older than this
/// binary: every item route would fail on it. A database that does not answer is left
/// to the routes and `/ready`, which report it.
///
/// # Errors
/// When migrations are pending.
async fn check_schema(context: &AppContext) -> anyhow::Result<()> {
    match context.database.pending().await {
        Ok(0) => Ok(()),
        Ok(pending) => anyhow::bail!(
{%- if cli %}
            "the database lacks {pending} of this binary's migrations: run `{{project-name}} db migrate`, or set DATABASE_MIGRATE=true to apply them at start-up"
{%- else %}
            "the database lacks {pending} of this binary's migrations: set DATABASE_MIGRATE=true to apply them at start-up"
{%- endif %}
        ),
        Err(error) => {
            tracing::warn!(%error, "could not check the database's schema; serving anyway");
            Ok(())
        }
    }
}
{%- elsif cache %}

/// How long start-up waits for [`before_serving`]'s clean-up before it serves anyway:
/// on a large shared Redis its SCAN can outlast a readiness probe's patience.
const CLEAN_UP_WAIT: Duration = Duration::from_secs(2);

/// Start-up work between binding and serving: the example's repository starts empty,
/// so the answers an earlier run cached for it are dropped (remove this with the
/// stand-in repository). Bounded by [`CLEAN_UP_WAIT`]; past it the clean-up goes on in
/// the background while the service serves.
///
/// # Errors
/// Never: the clean-up fails open.
async fn before_serving(context: &AppContext) -> anyhow::Result<()> {
    let (items, caches) = (Arc::clone(&context.items), context.caches.clone());
    let clean_up = tokio::spawn(async move { items.forget_cached(&caches).await });
    if tokio::time::timeout(CLEAN_UP_WAIT, clean_up).await.is_err() {
        tracing::warn!(
            "dropping the cached items of an earlier run takes longer than {} s; serving meanwhile, it goes on in the background",
            CLEAN_UP_WAIT.as_secs()
        );
    }
    Ok(())
}
{%- else %}

/// Start-up work between binding and serving (none yet).
///
/// # Errors
/// Never yet; whatever start-up work is added here may.
async fn before_serving(_context: &AppContext) -> anyhow::Result<()> {
    Ok(())
}
{%- endif %}
