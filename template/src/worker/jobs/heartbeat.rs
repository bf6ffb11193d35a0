{%- if cache -%}
//! The example job: records that a worker is alive in the `persistent` cache alias.
//!
//! Every `WORKER_INTERVAL_MS` it writes a [`HeartbeatRecord`] under [`HEARTBEAT_KEY`] with
//! a TTL of three intervals, so the key disappears soon after the last worker stops. With
//! Redis configured, anything sharing it can tell whether a worker is running:
//! `redis-cli GET '<CACHE_PREFIX>:worker:heartbeat'`. If Redis is down the job fails, the
//! failure is logged, and the next tick tries again.
{%- else -%}
//! The example job: logs that the worker is alive, with how many times it has run.
//!
//! It shows the shape of a job; replace its body with real work (purging old rows,
//! calling an API) and keep the rest.
{%- endif %}

use std::sync::atomic::{AtomicU64, Ordering};
{%- if cache %}
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
{%- else %}
use std::time::Duration;
{%- endif %}

use crate::context::AppContext;
use crate::settings::Settings;
use crate::worker::Job;
{%- if cache %}

/// Where the heartbeat lives in the `persistent` alias (before the `CACHE_PREFIX`).
pub const HEARTBEAT_KEY: &str = "worker:heartbeat";

/// What a heartbeat records. With several workers, the latest one wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRecord {
    /// When it was written, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// How many heartbeats this worker process has written, this one included.
    pub beats: u64,
    /// The process id of the worker that wrote it.
    pub pid: u32,
}
{%- endif %}

/// Runs every `WORKER_INTERVAL_MS` and proves the worker is alive.
pub struct Heartbeat {
    /// Time between two heartbeats.
    interval: Duration,
    /// Heartbeats so far in this process.
    beats: AtomicU64,
}

impl Heartbeat {
    /// A heartbeat every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            beats: AtomicU64::new(0),
        }
    }

    /// A heartbeat every `WORKER_INTERVAL_MS`: what its line in `jobs!` calls.
    pub fn from_settings(settings: &Settings) -> Self {
        Self::new(settings.worker.interval)
    }
}

impl Job for Heartbeat {
    fn name(&self) -> &'static str {
        "heartbeat"
    }

    fn interval(&self) -> Option<Duration> {
        Some(self.interval)
    }
{%- if cache %}

    async fn run(&self, context: &AppContext) -> anyhow::Result<()> {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the system clock is set before 1970")?;
        let record = HeartbeatRecord {
            at_unix_ms: u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
            beats: self.beats.fetch_add(1, Ordering::Relaxed) + 1,
            pid: std::process::id(),
        };
        context
            .caches
            .persistent()
            .set(HEARTBEAT_KEY, &record, Some(self.interval * 3))
            .await
            .context("could not write the heartbeat to the persistent cache")?;
        tracing::debug!(beats = record.beats, "heartbeat written");
        Ok(())
    }
{%- else %}

    async fn run(&self, _context: &AppContext) -> anyhow::Result<()> {
        let beats = self.beats.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(beats, "worker alive");
        Ok(())
    }
{%- endif %}
}

#[cfg(test)]
mod tests {
{%- if cache %}
    use std::time::Duration;

    use super::{HEARTBEAT_KEY, Heartbeat, HeartbeatRecord};
    use crate::context::AppContext;
    use crate::settings::Settings;
    use crate::worker::Job;

    #[tokio::test]
    async fn each_run_rewrites_the_record_in_the_persistent_alias() {
        let settings = Settings::from_vars::<&str, &str>([]).expect("the defaults are valid");
        let context = AppContext::new(settings).await.expect("the context builds");
        let heartbeat = Heartbeat::new(Duration::from_secs(60));
        heartbeat.run(&context).await.expect("first beat");
        heartbeat.run(&context).await.expect("second beat");

        let record: HeartbeatRecord = context
            .caches
            .persistent()
            .get(HEARTBEAT_KEY)
            .await
            .expect("the in-process store answers")
            .expect("the heartbeat was written");
        assert_eq!(record.beats, 2);
        assert_eq!(record.pid, std::process::id());
        assert!(record.at_unix_ms > 0);
        let in_memory = context.caches.memory().get_raw(HEARTBEAT_KEY).await;
        assert!(matches!(in_memory, Ok(None)), "{in_memory:?}");
    }
{%- else %}
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::Heartbeat;
    use crate::context::AppContext;
    use crate::settings::Settings;
    use crate::worker::Job;

    #[tokio::test]
    async fn each_run_counts_one_beat() {
        let settings = Settings::from_vars::<&str, &str>([]).expect("the defaults are valid");
        let context = AppContext::new(settings).await.expect("the context builds");
        let heartbeat = Heartbeat::new(Duration::from_secs(60));
        heartbeat.run(&context).await.expect("first beat");
        heartbeat.run(&context).await.expect("second beat");
        assert_eq!(heartbeat.beats.load(Ordering::Relaxed), 2);
    }
{%- endif %}
}
