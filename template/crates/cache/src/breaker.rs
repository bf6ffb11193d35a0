//! Failing fast while Redis is down.
//!
//! Without this, every cache operation during an outage would wait out the full
//! timeout, adding that delay to every request. After a failure the breaker "opens":
//! operations fail at once for [`RETRY_AFTER`]; then exactly one operation is let
//! through to probe Redis. Success closes the breaker, failure opens it for another
//! round. Recovery needs nobody: the first probe after Redis returns closes it.
//!
//! The whole state is one atomic, so the healthy path costs a single relaxed load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long operations fail fast after a failure before one probes Redis again.
pub(super) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Open/closed state shared by every operation on one Redis backend.
#[derive(Debug)]
pub(super) struct Breaker {
    /// Origin of the millisecond clock below.
    started: Instant,
    /// 0 while closed; otherwise the clock reading (ms since `started`, plus one so it
    /// is never 0) before which operations fail fast.
    retry_at: AtomicU64,
}

impl Breaker {
    pub(super) fn new() -> Self {
        Self {
            started: Instant::now(),
            retry_at: AtomicU64::new(0),
        }
    }

    /// `Ok` if an operation may go to Redis now; otherwise how long until the next probe.
    pub(super) fn admit(&self) -> Result<(), Duration> {
        self.admit_at(self.now())
    }

    /// Records that Redis answered; `true` if that ends an outage.
    pub(super) fn record_success(&self) -> bool {
        // Load first so the healthy path never writes the shared cache line.
        self.retry_at.load(Ordering::Relaxed) != 0 && self.retry_at.swap(0, Ordering::Relaxed) != 0
    }

    /// Whether operations fail fast now (an outage began and no probe has succeeded).
    pub(super) fn is_open(&self) -> bool {
        self.retry_at.load(Ordering::Relaxed) != 0
    }

    /// Records that Redis could not be reached; `true` if that starts an outage.
    pub(super) fn record_failure(&self) -> bool {
        self.record_failure_at(self.now())
    }

    fn admit_at(&self, now: u64) -> Result<(), Duration> {
        let retry_at = self.retry_at.load(Ordering::Relaxed);
        if retry_at == 0 {
            return Ok(());
        }
        if now < retry_at {
            return Err(Duration::from_millis(retry_at - now));
        }
        // The wait is over. Whoever moves `retry_at` forward is the one probe; everyone
        // else keeps failing fast until the probe reports back.
        let next = now.saturating_add(millis(RETRY_AFTER));
        match self
            .retry_at
            .compare_exchange(retry_at, next, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            Err(_) => Err(RETRY_AFTER),
        }
    }

    fn record_failure_at(&self, now: u64) -> bool {
        self.retry_at
            .swap(now.saturating_add(millis(RETRY_AFTER)), Ordering::Relaxed)
            == 0
    }

    fn now(&self) -> u64 {
        millis(self.started.elapsed()).saturating_add(1)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Breaker, RETRY_AFTER, millis};

    const WAIT: u64 = RETRY_AFTER.as_secs() * 1_000;

    #[test]
    fn closed_breaker_admits_everything() {
        let breaker = Breaker::new();
        assert_eq!(breaker.admit_at(1), Ok(()));
        assert!(!breaker.record_success(), "nothing to recover from");
    }

    #[test]
    fn a_failure_fails_fast_until_the_wait_is_over() {
        let breaker = Breaker::new();
        assert!(
            breaker.record_failure_at(100),
            "the first failure starts the outage"
        );
        assert!(
            !breaker.record_failure_at(101),
            "later failures do not start another"
        );
        assert_eq!(
            breaker.admit_at(101 + WAIT - 10),
            Err(Duration::from_millis(10))
        );
    }

    #[test]
    fn after_the_wait_exactly_one_operation_probes() {
        let breaker = Breaker::new();
        breaker.record_failure_at(100);
        let later = 100 + WAIT;
        assert_eq!(breaker.admit_at(later), Ok(()), "the probe goes through");
        assert!(
            breaker.admit_at(later).is_err(),
            "others wait for the probe"
        );
        assert!(breaker.admit_at(later + 1).is_err());
    }

    #[test]
    fn a_successful_probe_closes_the_breaker() {
        let breaker = Breaker::new();
        breaker.record_failure_at(100);
        assert_eq!(breaker.admit_at(100 + WAIT), Ok(()));
        assert!(breaker.is_open());
        assert!(breaker.record_success(), "the outage is over");
        assert!(!breaker.is_open());
        assert_eq!(breaker.admit_at(100 + WAIT), Ok(()));
        assert!(!breaker.record_success());
    }

    #[test]
    fn a_failed_probe_waits_another_round() {
        let breaker = Breaker::new();
        breaker.record_failure_at(100);
        let probe = 100 + WAIT;
        assert_eq!(breaker.admit_at(probe), Ok(()));
        breaker.record_failure_at(probe);
        assert!(breaker.admit_at(probe + WAIT - 1).is_err());
        assert_eq!(breaker.admit_at(probe + WAIT), Ok(()));
    }

    #[test]
    fn the_clock_never_reads_zero() {
        assert!(Breaker::new().now() >= 1);
        assert_eq!(millis(Duration::from_secs(2)), 2_000);
    }
}
