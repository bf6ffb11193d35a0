//! What the Redis backend reports to `/metrics`: `redis_command_duration_seconds` (every
//! command or `SCAN` step, including connecting when it had to, up to the timeout),
//! `redis_breaker_open` (1 while operations fail fast) and `redis_reconnects_total`
//! (connections that died and were replaced, and outages that ended).
//!
//! The store records into these on every command; they are read when scraped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};

/// Upper bounds (seconds) of the command-duration buckets: from 100 µs (a local Redis)
/// to a second (past any sensible `CACHE_REDIS_TIMEOUT_MS`).
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// One Redis store's figures.
pub(super) struct RedisMetrics {
    /// `redis_command_duration_seconds`.
    commands: Histogram,
    /// `redis_reconnects_total`.
    reconnects: AtomicU64,
}

impl RedisMetrics {
    pub(super) fn new() -> Self {
        let commands = Histogram::with_opts(
            HistogramOpts::new(
                "redis_command_duration_seconds",
                "Time Redis commands took, from sending to the answer or the timeout.",
            )
            .buckets(BUCKETS.to_vec()),
        )
        .expect("a valid metric definition");
        Self {
            commands,
            reconnects: AtomicU64::new(0),
        }
    }

    /// Records one command that took `elapsed`, however it ended.
    pub(super) fn command(&self, elapsed: Duration) {
        self.commands.observe(elapsed.as_secs_f64());
    }

    /// Counts a connection that came back.
    pub(super) fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// The three series, with the breaker's state as it is now.
    pub(super) fn families(&self, breaker_open: bool) -> Vec<MetricFamily> {
        let reconnects = IntCounter::new(
            "redis_reconnects_total",
            "Redis connections that died and were replaced, and outages that ended.",
        )
        .expect("a valid metric definition");
        reconnects.inc_by(self.reconnects.load(Ordering::Relaxed));
        let breaker = IntGauge::new(
            "redis_breaker_open",
            "1 while Redis operations fail fast after a failure, 0 while they go to Redis.",
        )
        .expect("a valid metric definition");
        breaker.set(i64::from(breaker_open));
        let mut families = self.commands.collect();
        families.extend(reconnects.collect());
        families.extend(breaker.collect());
        families
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::RedisMetrics;

    #[test]
    fn families_carry_the_recorded_figures() {
        let metrics = RedisMetrics::new();
        metrics.command(Duration::from_micros(300));
        metrics.reconnected();
        let families = metrics.families(true);
        let names: Vec<&str> = families.iter().map(|family| family.name()).collect();
        assert_eq!(
            names,
            [
                "redis_command_duration_seconds",
                "redis_reconnects_total",
                "redis_breaker_open"
            ]
        );
        assert_eq!(
            families[0].get_metric()[0]
                .get_histogram()
                .get_sample_count(),
            1
        );
        assert_eq!(families[1].get_metric()[0].get_counter().get_value(), 1.0);
        assert_eq!(families[2].get_metric()[0].get_gauge().get_value(), 1.0);
    }
}
