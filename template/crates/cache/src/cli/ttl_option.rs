//! The `--ttl` option of `cache set`, `add` and `incr`: how it is read, and the TTL the
//! cache actually gives an entry (which `set` and `add` report).

use std::time::Duration;

use crate::MAX_TTL;

/// `--ttl`: seconds, fractions allowed, at least one millisecond.
pub(super) fn parse_ttl(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite())
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|ttl| *ttl >= Duration::from_millis(1))
        .ok_or_else(|| {
            "expected a number of seconds of at least 0.001, such as 60 or 0.5".to_owned()
        })
}

/// The TTL the cache gives an entry asked to live `ttl`: whole milliseconds, rounded
/// up, at most [`MAX_TTL`].
pub(super) fn applied_ttl(ttl: Duration) -> Duration {
    let millis = u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
    Duration::from_millis(millis).min(MAX_TTL)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{MAX_TTL, applied_ttl, parse_ttl};

    #[test]
    fn ttls_take_whole_and_fractional_seconds() {
        assert_eq!(parse_ttl("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_ttl("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "abc", "", "inf", "NaN", "0.0001", "1e400"] {
            assert!(parse_ttl(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_applied_ttl_is_capped_and_kept_to_the_millisecond() {
        assert_eq!(applied_ttl(Duration::from_secs(1_000_000_000_000)), MAX_TTL);
        assert_eq!(
            applied_ttl(Duration::from_micros(1_500)),
            Duration::from_millis(2)
        );
        assert_eq!(
            applied_ttl(Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }
}
