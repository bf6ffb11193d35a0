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

pub use job::Job;
pub use runner::Runner;

use crate::context::AppContext;
use crate::settings::worker::{
    DEFAULT_CONCURRENCY, DEFAULT_INTERVAL_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS,
};

/// `worker --help`: what the mode does and the variables that tune it, with their
/// defaults taken from the settings code.
pub fn long_help() -> String {
    format!(
        "Run the background worker until SIGTERM or ctrl-c.

Runs every job registered in src/worker/jobs/mod.rs every WORKER_INTERVAL_MS (default \
{DEFAULT_INTERVAL_MS}) unless the job sets its own interval, at most WORKER_CONCURRENCY \
(default {DEFAULT_CONCURRENCY}) at a time. A job that fails is logged and tried again on \
its next tick; the worker keeps going.

On SIGTERM or ctrl-c no new run starts, the running ones get WORKER_SHUTDOWN_TIMEOUT_MS \
(default {DEFAULT_SHUTDOWN_TIMEOUT_MS}) to finish, and the process exits 0."
    )
}

/// Runs every registered job until `shutdown` completes, then lets the running ones
/// finish (bounded by `WORKER_SHUTDOWN_TIMEOUT_MS`).
///
/// # Errors
/// Fails only when no job is registered; job failures are logged, not returned.
pub async fn run(context: AppContext, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let settings = context.settings.clone();
    let mut runner = Runner::new(&settings.worker, context);
    jobs::register(&mut runner, &settings);
    runner.run(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::long_help;

    #[test]
    fn help_gives_the_defaults_of_the_settings_code() {
        let help = long_help();
        for expected in ["(default 60000)", "(default 4)", "(default 30000)"] {
            assert!(help.contains(expected), "{expected} missing from: {help}");
        }
    }
}
