//! What a job is: a named unit of work the [`Runner`](super::Runner) calls on a schedule.
//!
//! A job holds its own configuration, read from the settings by its constructor
//! `fn from_settings(settings: &Settings) -> Self` (which
//! [`jobs::register`](super::jobs::register) calls), and receives what it shares with
//! every mode through the [`AppContext`]. It returns an error instead of panicking; the
//! runner logs it and calls the job again on its next tick, so a job should be safe to
//! repeat.

use std::future::Future;
use std::time::Duration;

use crate::context::AppContext;

/// A unit of background work, run again every interval.
///
/// Implementations write `async fn run`; the trait spells out `+ Send` so the runner
/// can move each run onto the thread pool. Blocking work (heavy computation, synchronous
/// I/O) belongs in `tokio::task::spawn_blocking`, so that a run never stalls the others
/// or the shutdown.
///
/// ```
/// use std::time::Duration;
///
/// use {{crate_name}}::context::AppContext;
/// use {{crate_name}}::settings::Settings;
/// use {{crate_name}}::worker::Job;
///
/// struct PurgeExpiredSessions;
///
/// impl PurgeExpiredSessions {
///     /// What its line in `jobs!` calls; read the job's settings here.
///     pub fn from_settings(_settings: &Settings) -> Self {
///         Self
///     }
/// }
///
/// impl Job for PurgeExpiredSessions {
///     fn name(&self) -> &'static str {
///         "purge-expired-sessions"
///     }
///
///     fn interval(&self) -> Option<Duration> {
///         Some(Duration::from_secs(15 * 60))
///     }
///
///     async fn run(&self, _context: &AppContext) -> anyhow::Result<()> {
///         // Delete the rows, call the API, send the e-mails...
///         Ok(())
///     }
/// }
/// ```
pub trait Job: Send + Sync + 'static {
    /// A short, stable name for logs, e.g. `heartbeat`.
    fn name(&self) -> &'static str;

    /// Time between two runs; `None` (the default) uses `WORKER_INTERVAL_MS`.
    ///
    /// Runs of one job never overlap: if a run takes longer than the interval, the next
    /// one starts as soon as it ends, and missed ticks are not made up.
    fn interval(&self) -> Option<Duration> {
        None
    }

    /// Does the work once. An error is logged with its context chain and the job is
    /// tried again on its next tick.
    fn run(&self, context: &AppContext) -> impl Future<Output = anyhow::Result<()>> + Send;
}
