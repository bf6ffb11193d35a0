//! Hit, miss and error counters, one set per alias, readable at any time without
//! stopping the traffic that updates them.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of one alias's counters since the caches were built.
///
/// - `hits`: reads that returned a value;
/// - `misses`: reads that found nothing usable (absent, expired, or stored under a
///   shape that no longer decodes);
/// - `l1_hits`: reads of the `persistent` alias on Redis that its in-process L1
///   answered without a round trip (counted in `hits` too, or in `misses` when the copy
///   does not decode as the type asked for); always 0 elsewhere;
/// - `errors`: operations of any kind that returned an error (Redis unreachable or
///   timing out, a value that cannot be encoded, an invalid TTL).
///
/// A read that fails counts as an error, not a miss, so `hits + misses` is the number of
/// reads the backend answered.
///
/// ```
/// use {{crate_name}}::services::cache::CacheStats;
///
/// let stats = CacheStats { hits: 3, misses: 1, errors: 0, l1_hits: 2 };
/// assert_eq!(stats.hit_ratio(), Some(0.75));
/// assert_eq!(
///     serde_json::to_string(&stats)?,
///     r#"{"hits":3,"misses":1,"errors":0,"l1_hits":2}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Reads that returned a value.
    pub hits: u64,
    /// Reads that found nothing usable.
    pub misses: u64,
    /// Operations that returned an error.
    pub errors: u64,
    /// Reads the L1 in front of Redis answered.
    pub l1_hits: u64,
}

impl CacheStats {
    /// Share of answered reads that were hits; `None` before the first read.
    ///
    /// ```
    /// use {{crate_name}}::services::cache::CacheStats;
    ///
    /// assert_eq!(CacheStats::default().hit_ratio(), None);
    /// ```
    pub fn hit_ratio(&self) -> Option<f64> {
        let reads = self.hits + self.misses;
        // Counts stay far below 2^52, where u64 -> f64 starts rounding.
        (reads > 0).then(|| self.hits as f64 / reads as f64)
    }
}

/// The live counters behind [`CacheStats`].
///
/// Relaxed atomics: each counter is exact, but a snapshot taken under load may mix
/// counts from slightly different instants, which statistics can live with.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// See [`CacheStats::hits`].
    hits: AtomicU64,
    /// See [`CacheStats::misses`].
    misses: AtomicU64,
    /// See [`CacheStats::errors`].
    errors: AtomicU64,
}

impl Counters {
    pub(super) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            l1_hits: 0,
        }
    }
}
