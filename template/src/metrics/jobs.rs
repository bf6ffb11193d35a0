//! Worker series, by job name: `worker_job_runs_total`, `worker_job_failures_total`
//! (failed or panicked runs) and `worker_job_duration_seconds`.
//!
//! The runner takes a job's [`JobSeries`] once, when the job is registered, so a run
//! costs two atomic adds and a histogram observation.

use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

/// Upper bounds (seconds) of the job-duration buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.025, 0.1, 0.25, 1.0, 2.5, 10.0, 30.0, 60.0, 300.0, 900.0,
];

/// The job series of one registry.
pub struct JobMetrics {
    /// `worker_job_runs_total{job}`.
    runs: IntCounterVec,
    /// `worker_job_failures_total{job}`.
    failures: IntCounterVec,
    /// `worker_job_duration_seconds{job}`.
    durations: HistogramVec,
}

/// The handles of one job.
#[derive(Clone)]
pub struct JobSeries {
    /// Its runs, however they ended.
    runs: IntCounter,
    /// Its runs that returned an error or panicked.
    failures: IntCounter,
    /// How long its runs took (those that ended, with or without an error).
    duration: Histogram,
}

impl JobMetrics {
    pub(super) fn new(registry: &Registry) -> Self {
        let runs = IntCounterVec::new(
            Opts::new("worker_job_runs_total", "Job runs that ended, by job."),
            &["job"],
        )
        .expect("a valid metric definition");
        let failures = IntCounterVec::new(
            Opts::new(
                "worker_job_failures_total",
                "Job runs that returned an error or panicked, by job.",
            ),
            &["job"],
        )
        .expect("a valid metric definition");
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "worker_job_duration_seconds",
                "How long job runs took, by job.",
            )
            .buckets(BUCKETS.to_vec()),
            &["job"],
        )
        .expect("a valid metric definition");
        super::register(registry, runs.clone());
        super::register(registry, failures.clone());
        super::register(registry, durations.clone());
        Self {
            runs,
            failures,
            durations,
        }
    }

    /// The series of the job `name`, at zero until it first runs.
    pub(super) fn series(&self, name: &str) -> JobSeries {
        JobSeries {
            runs: self.runs.with_label_values(&[name]),
            failures: self.failures.with_label_values(&[name]),
            duration: self.durations.with_label_values(&[name]),
        }
    }
}

impl JobSeries {
    /// Counts a run that returned, `Ok` or not, after `elapsed`.
    pub fn finished(&self, succeeded: bool, elapsed: Duration) {
        self.runs.inc();
        if !succeeded {
            self.failures.inc();
        }
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Counts a run that panicked (its duration is unknown).
    pub fn panicked(&self) {
        self.runs.inc();
        self.failures.inc();
    }
}
