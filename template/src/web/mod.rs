//! The `web` mode: an actix-web server with health and readiness probes, JSON errors,
//! request ids{% if cache %}, endpoint caching{% endif %} and a graceful stop on SIGTERM or ctrl-c.
//!
//! [`Application`] binds and assembles the server and [`routes`] holds the handlers.
{%- if cache %}
//! [`endpoint_cache`] is the middleware that caches `GET` answers and invalidates them
//! on writes.
{%- endif %}
//! [`errors`] defines the JSON error shape and [`repository`] stands in for a database.
//! [`run`] is what `<binary> web` calls after the shared start-up in `command.rs`.

pub mod application;
{%- if cache %}
pub mod endpoint_cache;
{%- endif %}
pub mod errors;
pub mod repository;
pub mod request_log;
pub mod routes;

use std::future::Future;

pub use application::Application;
{% if cache %}
use crate::services::cache::Caches;
{%- endif %}
use crate::settings::Settings;

/// Options of the `web` subcommand.
#[derive(Debug, clap::Args)]
{%- if worker %}
pub struct Args {
    /// Also run the background worker in this process; both stop together.
    #[arg(long)]
    pub with_worker: bool,
}
{%- else %}
pub struct Args {}
{%- endif %}

/// Serves HTTP on `APP_HOST:APP_PORT` until SIGTERM or ctrl-c, then stops gracefully
/// and returns `Ok` (exit code 0).
///
/// # Errors
/// When the address cannot be bound, the signal handlers cannot be installed, or the
/// server{% if worker %} or the worker{% endif %} fails.
pub async fn run(args: Args, settings: Settings{% if cache %}, caches: Caches{% endif %}) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
{%- if worker %}
    let application = Application::build(&settings{% if cache %}, caches.clone(){% endif %})?;
    if args.with_worker {
        return run_with_worker(application, &settings{% if cache %}, caches{% endif %}, shutdown).await;
    }
{%- else %}
    let Args {} = args;
    let application = Application::build(&settings{% if cache %}, caches{% endif %})?;
{%- endif %}
    application.run_until_stopped(shutdown).await
}

{%- if worker %}

/// Runs the server and the worker side by side. The first to stop, or the signal, stops
/// the other.
async fn run_with_worker(
    application: Application,
    settings: &Settings,
{%- if cache %}
    caches: Caches,
{%- endif %}
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop_requested = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        // An error means the sender is gone, which also means "stop".
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let server = async {
        let result = application
            .run_until_stopped(stop_requested(stopped.clone()))
            .await;
        stop.send_replace(true);
        result
    };
    let worker = async {
        let result = crate::worker::run(settings{% if cache %}, caches{% endif %}, stop_requested(stopped.clone())).await;
        stop.send_replace(true);
        result
    };
    let signal = async {
        tokio::select! {
            () = shutdown => {}
            () = stop_requested(stopped.clone()) => {}
        }
        stop.send_replace(true);
    };
    let (server, worker, ()) = tokio::join!(server, worker, signal);
    match (server, worker) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(error), Ok(())) => Err(error),
        (Ok(()), Err(error)) => Err(error.context("the worker failed")),
        (Err(error), Err(worker_error)) => {
            tracing::error!(error = format!("{worker_error:#}"), "the worker failed too");
            Err(error)
        }
    }
}
{%- endif %}

/// Resolves on SIGTERM or ctrl-c (SIGINT).
///
/// The handlers are installed when this is called, not when the future is first
/// polled, so a signal that arrives while the server starts is not lost.
///
/// # Errors
/// When the signal handlers cannot be installed.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("ctrl-c received"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            tracing::info!("ctrl-c received");
        })
    }
}
