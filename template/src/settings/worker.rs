//! Background worker settings: `WORKER_*`.

use std::time::Duration;

use serde::Deserialize;

use super::{EnvReader, VarValue};

/// `WORKER_INTERVAL_MS` when unset.
pub const DEFAULT_INTERVAL_MS: u64 = 60_000;
/// `WORKER_CONCURRENCY` when unset.
pub const DEFAULT_CONCURRENCY: u64 = 4;
/// `WORKER_SHUTDOWN_TIMEOUT_MS` when unset.
pub const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 30_000;

/// How the worker schedules its jobs and how it stops.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `WORKER_INTERVAL_MS`: time between two runs of a job.
    pub interval: Duration,
    /// `WORKER_CONCURRENCY`: jobs allowed to run at the same time.
    pub concurrency: usize,
    /// `WORKER_SHUTDOWN_TIMEOUT_MS`: how long running jobs may take to finish after
    /// SIGTERM or ctrl-c.
    pub shutdown_timeout: Duration,
}

/// `WORKER_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct WorkerVars {
    interval_ms: Option<String>,
    concurrency: Option<String>,
    shutdown_timeout_ms: Option<String>,
}

impl WorkerSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let vars: WorkerVars = env.prefixed("WORKER_");
        let concurrency = env.number(
            "WORKER_CONCURRENCY",
            vars.concurrency,
            DEFAULT_CONCURRENCY,
            // The most permits a tokio semaphore holds.
            1..=u64::try_from(tokio::sync::Semaphore::MAX_PERMITS).unwrap_or(u64::MAX),
        );
        Self {
            interval: env.millis(
                "WORKER_INTERVAL_MS",
                vars.interval_ms,
                Duration::from_millis(DEFAULT_INTERVAL_MS),
            ),
            concurrency: usize::try_from(concurrency).unwrap_or(usize::MAX),
            shutdown_timeout: env.millis(
                "WORKER_SHUTDOWN_TIMEOUT_MS",
                vars.shutdown_timeout_ms,
                Duration::from_millis(DEFAULT_SHUTDOWN_TIMEOUT_MS),
            ),
        }
    }

    /// Every `WORKER_*` variable with the value in effect, as `config check` prints them.
    pub fn vars(&self) -> Vec<VarValue> {
        vec![
            (
                "WORKER_INTERVAL_MS",
                Some(self.interval.as_millis().to_string()),
            ),
            ("WORKER_CONCURRENCY", Some(self.concurrency.to_string())),
            (
                "WORKER_SHUTDOWN_TIMEOUT_MS",
                Some(self.shutdown_timeout.as_millis().to_string()),
            ),
        ]
    }
}
