//! Background worker settings: `WORKER_*`.

use std::time::Duration;

use super::EnvReader;

/// How the worker schedules its jobs and how it stops.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `WORKER_INTERVAL_MS` (default 60000): time between two runs of a job.
    pub interval: Duration,
    /// `WORKER_CONCURRENCY` (default 4): jobs allowed to run at the same time.
    pub concurrency: usize,
    /// `WORKER_SHUTDOWN_TIMEOUT_MS` (default 30000): how long running jobs may take to
    /// finish after SIGTERM or ctrl-c.
    pub shutdown_timeout: Duration,
}

impl WorkerSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        Self {
            interval: env.millis("WORKER_INTERVAL_MS", Duration::from_secs(60)),
            concurrency: usize::try_from(env.number("WORKER_CONCURRENCY", 4, 1))
                .unwrap_or(usize::MAX),
            shutdown_timeout: env.millis("WORKER_SHUTDOWN_TIMEOUT_MS", Duration::from_secs(30)),
        }
    }
}
