//! Counting and reporting the log lines dropped while stderr's reader was stalled.
//!
//! The writer's queue is bounded and lossy: when whoever reads stderr (a terminal, a
//! pipe to a log shipper, `docker logs`) stops reading, the queue fills and new lines
//! are dropped instead of making the logging thread wait. Waiting would be worse: every
//! request logs, so every worker thread would block on the next line and a stalled log
//! reader would stop the service, health checks included, while losing a few lines
//! only loses a few lines. The loss is not silent: `log_lines_dropped_total` counts it
//! in `/metrics`, and [`report_when_caught_up`] writes one warning with the count once
//! lines get through again.

use std::sync::OnceLock;
use std::time::Duration;

use tracing_appender::non_blocking::ErrorCounter;

/// The writer's drop counter, set once by `telemetry::init`.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// How often the reporter looks at the counter.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Log lines dropped since start-up because the queue to stderr was full.
pub fn dropped_lines() -> u64 {
    DROPPED
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64)
}

/// Keeps `counter` for [`dropped_lines`] and starts the thread that reports drops.
pub(super) fn watch(counter: ErrorCounter) {
    if DROPPED.set(counter).is_ok() {
        // A plain thread, not a task: logging is set up before any runtime exists, and
        // the thread sleeps nearly all the time.
        let spawned = std::thread::Builder::new()
            .name("log-drops".to_owned())
            .spawn(report_when_caught_up);
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the thread that reports dropped log lines");
        }
    }
}

/// Writes one warning per episode of drops, once a check finds no new drop (the reader
/// has caught up). If that warning is dropped too, the count grows and the next check
/// tries again.
fn report_when_caught_up() {
    let mut reported = 0;
    let mut last = 0;
    loop {
        std::thread::sleep(CHECK_EVERY);
        let now = dropped_lines();
        if now > reported && now == last {
            tracing::warn!(
                dropped = now - reported,
                total = now,
                "log lines were dropped because stderr was not read fast enough \
                 (log_lines_dropped_total counts them; raise LOG_QUEUE_LINES for longer stalls)"
            );
            // Only a warning that got into the queue counts as reported.
            if dropped_lines() == now {
                reported = now;
            }
        }
        last = dropped_lines();
    }
}
