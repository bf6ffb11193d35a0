//! The scheduler behind `worker`: one loop that starts each job when it is due, caps how
//! many run at once, logs every failure, and stops cleanly.
//!
//! Each run is its own task in a [`JoinSet`], so a panicking job is caught like a failing
//! one and an overdue job can be abandoned at shutdown. Runs wait for a permit of a
//! semaphore of `WORKER_CONCURRENCY` permits; closing it at shutdown is what guarantees
//! that no new run starts once the signal has arrived.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use tokio::sync::Semaphore;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;
use tracing::Instrument;

use super::Job;
use crate::context::AppContext;
use crate::metrics::jobs::JobSeries;
use crate::settings::WorkerSettings;

/// Runs registered jobs on their intervals until told to stop.
pub struct Runner {
    /// Default interval, concurrency limit and shutdown timeout.
    settings: WorkerSettings,
    /// Cloned into every run.
    context: AppContext,
    /// Registered jobs, in registration order (the order of the first runs).
    jobs: Vec<Registered>,
}

/// A job with the schedule the runner resolved for it.
struct Registered {
    /// [`Job::name`], read once for logs.
    name: &'static str,
    /// [`Job::interval`], or `WORKER_INTERVAL_MS` when the job has none.
    interval: Duration,
    /// The job itself, shared with the task of each of its runs.
    job: Arc<dyn ErasedJob>,
    /// Its runs, failures and durations for `/metrics`; `None` when metrics are off.
    series: Option<JobSeries>,
}

/// How a run's task ended, when it did not panic.
enum Outcome {
    /// The job ran.
    Ran {
        /// What the job returned.
        result: anyhow::Result<()>,
        /// How long it ran, not counting the wait for a permit.
        elapsed: Duration,
    },
    /// Shutdown began while the run was still waiting for a permit.
    NotStarted,
}

impl Runner {
    /// A runner with no jobs yet; add them with [`Runner::add`].
    pub fn new(settings: &WorkerSettings, context: AppContext) -> Self {
        Self {
            settings: settings.clone(),
            context,
            jobs: Vec::new(),
        }
    }

    /// Registers `job`; it first runs as soon as the worker starts.
    pub fn add(&mut self, job: impl Job) -> &mut Self {
        self.jobs.push(Registered {
            name: job.name(),
            interval: job.interval().unwrap_or(self.settings.interval),
            series: self.context.metrics.job(job.name()),
            job: Arc::new(job),
        });
        self
    }

    /// Runs the jobs until `shutdown` completes, then waits up to the shutdown timeout
    /// for the running ones and abandons whatever is still running after that.
    ///
    /// # Errors
    /// Fails at once when no job is registered. Job failures are logged, never returned.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        if self.jobs.is_empty() {
            bail!("the worker has no jobs: register one in src/worker/jobs/mod.rs");
        }
        let permits = Arc::new(Semaphore::new(
            self.settings.concurrency.min(Semaphore::MAX_PERMITS),
        ));
        let mut running = JoinSet::new();
        let mut in_flight: HashMap<Id, usize> = HashMap::new();
        // When each job is next due; `None` while a run of it is in flight, so runs of
        // one job never overlap.
        let mut due: Vec<Option<Instant>> = vec![Some(Instant::now()); self.jobs.len()];
        let mut next_due: Vec<Instant> = vec![Instant::now(); self.jobs.len()];

        tracing::info!(
            jobs = ?self.jobs.iter().map(|job| job.name).collect::<Vec<_>>(),
            concurrency = self.settings.concurrency,
            "worker started"
        );
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let wake_at = due.iter().flatten().min().copied();
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(finished) = running.join_next_with_id() => {
                    if let Some(index) = self.record(finished, &mut in_flight) {
                        // A run that overran its interval is followed at once by the next.
                        due[index] = Some(next_due[index].max(Instant::now()));
                    }
                }
                () = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now)), if wake_at.is_some() => {
                    let now = Instant::now();
                    for (index, job) in self.jobs.iter().enumerate() {
                        let Some(at) = due[index].filter(|at| *at <= now) else {
                            continue;
                        };
                        due[index] = None;
                        next_due[index] = at + job.interval;
                        let handle = running.spawn(self.start(job, Arc::clone(&permits)));
                        in_flight.insert(handle.id(), index);
                    }
                }
            }
        }

        permits.close();
        let timeout = self.settings.shutdown_timeout;
        if !in_flight.is_empty() {
            tracing::info!(
                running = ?self.names(in_flight.values()),
                timeout_ms = timeout.as_millis(),
                "stopping: no new job runs start; waiting for the running ones"
            );
        }
        let drained = tokio::time::timeout(timeout, async {
            while let Some(finished) = running.join_next_with_id().await {
                self.record(finished, &mut in_flight);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = ?self.names(in_flight.values()),
                timeout_ms = timeout.as_millis(),
                "shutdown timeout elapsed: abandoning the jobs still running \
                 (raise WORKER_SHUTDOWN_TIMEOUT_MS if they need longer)"
            );
            // Cancels the runs at their next await point. Not awaited: a job stuck in
            // blocking code would otherwise hold the process past the timeout.
            running.abort_all();
        }
        tracing::info!("worker stopped");
        Ok(())
    }

    /// The task of one run: wait for a permit, run, time it.
    fn start(
        &self,
        job: &Registered,
        permits: Arc<Semaphore>,
    ) -> impl Future<Output = Outcome> + Send + 'static {
        let context = self.context.clone();
        let erased = Arc::clone(&job.job);
        let span = tracing::info_span!("job", job = job.name);
        async move {
            let Ok(_permit) = permits.acquire().await else {
                return Outcome::NotStarted;
            };
            let started = Instant::now();
            tracing::debug!("job started");
            let result = erased.run_boxed(&context).await;
            Outcome::Ran {
                result,
                elapsed: started.elapsed(),
            }
        }
        .instrument(span)
    }

    /// Logs how a run ended and returns the index of its job.
    fn record(
        &self,
        finished: Result<(Id, Outcome), JoinError>,
        in_flight: &mut HashMap<Id, usize>,
    ) -> Option<usize> {
        let id = match &finished {
            Ok((id, _)) => *id,
            Err(error) => error.id(),
        };
        let index = in_flight.remove(&id)?;
        let job = &self.jobs[index];
        let retry_in_ms = job.interval.as_millis();
        match finished {
            Ok((_, Outcome::Ran { result, elapsed })) => {
                if let Some(series) = &job.series {
                    series.finished(result.is_ok(), elapsed);
                }
                log_run(job.name, result, elapsed, retry_in_ms);
            }
            Ok((_, Outcome::NotStarted)) => {
                tracing::debug!(job = job.name, "job not started: the worker is stopping");
            }
            Err(error) if error.is_panic() => {
                if let Some(series) = &job.series {
                    series.panicked();
                }
                tracing::error!(
                    job = job.name,
                    retry_in_ms,
                    panic = panic_message(error),
                    "job panicked; it runs again on its next tick"
                );
            }
            Err(_) => tracing::warn!(job = job.name, "job cancelled"),
        }
        Some(index)
    }

    fn names<'a>(&self, indices: impl Iterator<Item = &'a usize>) -> Vec<&'static str> {
        indices.map(|index| self.jobs[*index].name).collect()
    }
}

/// Logs how a run that returned ended.
fn log_run(name: &'static str, result: anyhow::Result<()>, elapsed: Duration, retry_in_ms: u128) {
    match result {
        Ok(()) => tracing::info!(job = name, elapsed_ms = elapsed.as_millis(), "job finished"),
        Err(error) => tracing::error!(
            job = name,
            elapsed_ms = elapsed.as_millis(),
            retry_in_ms,
            error = format!("{error:#}"),
            "job failed; it runs again on its next tick"
        ),
    }
}

/// The text a panic was raised with, when it was a string (it almost always is).
fn panic_message(error: JoinError) -> String {
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

type BoxedRun<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// [`Job`] is not object-safe (its `run` returns `impl Future`), so the runner stores
/// jobs behind this boxed twin, implemented for every job.
trait ErasedJob: Send + Sync {
    fn run_boxed<'a>(&'a self, context: &'a AppContext) -> BoxedRun<'a>;
}

impl<J: Job> ErasedJob for J {
    fn run_boxed<'a>(&'a self, context: &'a AppContext) -> BoxedRun<'a> {
        Box::pin(self.run(context))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::Runner;
    use crate::context::AppContext;
    use crate::settings::{Settings, WorkerSettings};
    use crate::worker::Job;

    /// What a test job does on each run.
    #[derive(Clone, Copy)]
    enum Act {
        Fail,
        Panic,
        Sleep(Duration),
    }

    /// Counts its runs; `active` is shared between jobs to measure concurrency.
    struct Probe {
        name: &'static str,
        act: Act,
        started: Arc<AtomicUsize>,
        finished: Arc<AtomicUsize>,
        active: Arc<AtomicUsize>,
        most_active: Arc<AtomicUsize>,
    }

    impl Probe {
        fn new(name: &'static str, act: Act) -> Self {
            Self {
                name,
                act,
                started: Arc::default(),
                finished: Arc::default(),
                active: Arc::default(),
                most_active: Arc::default(),
            }
        }

        fn sharing(name: &'static str, act: Act, with: &Probe) -> Self {
            Self {
                active: Arc::clone(&with.active),
                most_active: Arc::clone(&with.most_active),
                ..Self::new(name, act)
            }
        }
    }

    impl Job for Probe {
        fn name(&self) -> &'static str {
            self.name
        }

        fn interval(&self) -> Option<Duration> {
            Some(Duration::from_millis(10))
        }

        async fn run(&self, _context: &AppContext) -> anyhow::Result<()> {
            self.started.fetch_add(1, Ordering::SeqCst);
            let active = self.active.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_active.fetch_max(active, Ordering::SeqCst);
            let outcome = match self.act {
                Act::Fail => Err(anyhow::anyhow!("the probe failed on purpose")),
                Act::Panic => panic!("the probe panicked on purpose"),
                Act::Sleep(duration) => {
                    tokio::time::sleep(duration).await;
                    Ok(())
                }
            };
            self.active.fetch_sub(1, Ordering::SeqCst);
            self.finished.fetch_add(1, Ordering::SeqCst);
            outcome
        }
    }

    async fn runner(concurrency: usize, shutdown_timeout: Duration) -> Runner {
        let settings = WorkerSettings {
            interval: Duration::from_secs(3600),
            concurrency,
            shutdown_timeout,
        };
        let defaults = Settings::from_vars::<&str, &str>([]).expect("the defaults are valid");
        let context = AppContext::new(defaults).await.expect("the context builds");
        Runner::new(&settings, context)
    }

    /// Completes once `counter` reaches `target`.
    async fn reached(counter: Arc<AtomicUsize>, target: usize) {
        while counter.load(Ordering::SeqCst) < target {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Runs `runner` until `shutdown`, failing the test if it hangs.
    async fn run_to_end(runner: Runner, shutdown: impl Future<Output = ()>) {
        tokio::time::timeout(Duration::from_secs(20), runner.run(shutdown))
            .await
            .expect("the runner stopped")
            .expect("the runner succeeded");
    }

    #[tokio::test]
    async fn a_failing_job_runs_again_on_its_next_tick() {
        let probe = Probe::new("failing", Act::Fail);
        let started = Arc::clone(&probe.started);
        let mut runner = runner(1, Duration::from_secs(5)).await;
        runner.add(probe);
        run_to_end(runner, reached(Arc::clone(&started), 3)).await;
        assert!(started.load(Ordering::SeqCst) >= 3);
    }

    #[tokio::test]
    async fn a_panicking_job_runs_again_on_its_next_tick() {
        let probe = Probe::new("panicking", Act::Panic);
        let started = Arc::clone(&probe.started);
        let mut runner = runner(1, Duration::from_secs(5)).await;
        runner.add(probe);
        run_to_end(runner, reached(Arc::clone(&started), 3)).await;
        assert!(started.load(Ordering::SeqCst) >= 3);
    }

    #[tokio::test]
    async fn no_job_runs_more_often_than_the_limit_allows_at_once() {
        let first = Probe::new("a", Act::Sleep(Duration::from_millis(30)));
        let others = ["b", "c", "d"].map(|name| Probe::sharing(name, first.act, &first));
        let most_active = Arc::clone(&first.most_active);
        let finished = Arc::clone(&first.finished);
        let mut runner = runner(2, Duration::from_secs(5)).await;
        runner.add(first);
        for probe in others {
            runner.add(probe);
        }
        run_to_end(runner, reached(finished, 3)).await;
        assert_eq!(most_active.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn shutdown_lets_the_running_job_finish_and_starts_no_other() {
        let slow = Probe::new("slow", Act::Sleep(Duration::from_millis(300)));
        let other = Probe::sharing("other", slow.act, &slow);
        let (slow_started, slow_finished) = (Arc::clone(&slow.started), Arc::clone(&slow.finished));
        let (other_started, other_finished) =
            (Arc::clone(&other.started), Arc::clone(&other.finished));
        let mut runner = runner(1, Duration::from_secs(10)).await;
        runner.add(slow).add(other);
        // One permit: whichever job gets it first is running when the signal arrives,
        // and the other is still waiting for the permit.
        let either_started = {
            let (a, b) = (Arc::clone(&slow_started), Arc::clone(&other_started));
            async move {
                while a.load(Ordering::SeqCst) + b.load(Ordering::SeqCst) == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        };
        run_to_end(runner, either_started).await;
        let started = slow_started.load(Ordering::SeqCst) + other_started.load(Ordering::SeqCst);
        let finished = slow_finished.load(Ordering::SeqCst) + other_finished.load(Ordering::SeqCst);
        assert_eq!((started, finished), (1, 1));
    }

    #[tokio::test]
    async fn shutdown_abandons_a_job_that_outlives_the_timeout() {
        let stuck = Probe::new("stuck", Act::Sleep(Duration::from_secs(3600)));
        let (started, finished) = (Arc::clone(&stuck.started), Arc::clone(&stuck.finished));
        let mut runner = runner(1, Duration::from_millis(50)).await;
        runner.add(stuck);
        run_to_end(runner, reached(Arc::clone(&started), 1)).await;
        assert_eq!(finished.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_worker_without_jobs_refuses_to_start() {
        let error = runner(1, Duration::from_secs(1))
            .await
            .run(std::future::pending())
            .await
            .expect_err("no jobs is an error");
        assert!(
            error.to_string().contains("src/worker/jobs/mod.rs"),
            "{error}"
        );
    }
}
