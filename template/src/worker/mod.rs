//! The background worker: `{{project-name}} worker`.
//!
//! Jobs are types implementing [`Job`], registered in one place ([`jobs::register`]).
//! A [`Runner`] runs each one on its own interval (`WORKER_INTERVAL_MS` unless the job
//! picks another), never more than `WORKER_CONCURRENCY` at a time. A job that fails or
//! panics is logged and tried again on its next tick; it never stops the worker. On
//! SIGTERM or ctrl-c no new run starts, the running ones get
//! `WORKER_SHUTDOWN_TIMEOUT_MS` to finish, and the process exits 0.
//!
//! [`run`] takes the shutdown signal as a parameter, so tests (and `web --with-worker`,
//! when both modes exist) decide when it stops.

mod job;
pub mod jobs;
mod runner;

use std::future::Future;

pub use job::{Job, JobContext};
pub use runner::Runner;

{% if cache -%}
use crate::services::cache::Caches;
{% endif -%}
use crate::settings::Settings;

/// `worker --help`: what the mode does and the variables that tune it.
pub const LONG_HELP: &str = "Run the background worker until SIGTERM or ctrl-c.

Runs every job registered in src/worker/jobs/mod.rs every WORKER_INTERVAL_MS (default \
60000) unless the job sets its own interval, at most WORKER_CONCURRENCY (default 4) at a \
time. A job that fails is logged and tried again on its next tick; the worker keeps going.

On SIGTERM or ctrl-c no new run starts, the running ones get WORKER_SHUTDOWN_TIMEOUT_MS \
(default 30000) to finish, and the process exits 0.";

/// Runs every registered job until `shutdown` completes, then lets the running ones
/// finish (bounded by `WORKER_SHUTDOWN_TIMEOUT_MS`).
///
/// # Errors
/// Fails only when no job is registered; job failures are logged, not returned.
{%- if cache %}
pub async fn run(
    settings: &Settings,
    caches: Caches,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let context = JobContext { caches };
{%- else %}
pub async fn run(settings: &Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let context = JobContext {};
{%- endif %}
    let mut runner = Runner::new(&settings.worker, context);
    jobs::register(&mut runner, settings);
    runner.run(shutdown).await
}

/// Completes on the first SIGTERM (what container runtimes send) or ctrl-c.
///
/// If a handler cannot be installed, that signal is logged and ignored rather than
/// stopping the worker at once.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for ctrl-c; stop the worker with SIGTERM");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; stop the worker with ctrl-c");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
