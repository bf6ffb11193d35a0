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
/// use service_cache::CacheStats;
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
    /// use service_cache::CacheStats;
    ///
    /// assert_eq!(CacheStats::default().hit_ratio(), None);
    /// ```
    pub fn hit_ratio(&self) -> Option<f64> {
        let reads = self.hits + self.misses;
        // Counts stay far below 2^52, where u64 -> f64 starts rounding.
        (reads > 0).then(|| self.hits as f64 / reads as f64)
    }
}

/// What a cache operation was, for the per-operation counts of [`Cache::operations`]
/// (the `operation` label of `cache_operations_total`). Add a variant with each new
/// operation, and list it in [`Operation::ALL`].
///
/// [`Cache::operations`]: super::Cache::operations
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A read (`get`, `get_json`, `get_raw`, the read of cache-aside).
    Get,
    /// A write (`set`, `set_raw`, the write of cache-aside).
    Set,
    /// `delete`, and the removal of a value that no longer decodes.
    Delete,
    /// `delete_matching`.
    DeleteMatching,
    /// `clear`.
    Clear,
    /// `ping`.
    Ping,
    /// `exists`: a read, a hit when the key is there.
    Exists,
    /// `incr` and `decr`.
    Incr,
    /// `add` (store only when absent).
    Add,
    /// `take` (read and delete at once): a read.
    Take,
    /// `invalidate_tag`.
    InvalidateTag,
    /// `ttl`: a read, a hit when the key is there.
    Ttl,
    /// `expire`, and a lock's extension.
    Expire,
}

impl Operation {
    /// Every operation, in the order of their counters.
    pub const ALL: [Operation; 13] = [
        Operation::Get,
        Operation::Set,
        Operation::Delete,
        Operation::DeleteMatching,
        Operation::Clear,
        Operation::Ping,
        Operation::Exists,
        Operation::Incr,
        Operation::Add,
        Operation::Take,
        Operation::InvalidateTag,
        Operation::Ttl,
        Operation::Expire,
    ];

    /// The name used as a metric label.
    ///
    /// ```
    /// use service_cache::Operation;
    ///
    /// assert_eq!(Operation::DeleteMatching.as_str(), "delete_matching");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::Set => "set",
            Operation::Delete => "delete",
            Operation::DeleteMatching => "delete_matching",
            Operation::Clear => "clear",
            Operation::Ping => "ping",
            Operation::Exists => "exists",
            Operation::Incr => "incr",
            Operation::Add => "add",
            Operation::Take => "take",
            Operation::InvalidateTag => "invalidate_tag",
            Operation::Ttl => "ttl",
            Operation::Expire => "expire",
        }
    }

    /// Whether an answered operation is a hit or a miss (reads) rather than `ok`.
    fn is_read(self) -> bool {
        matches!(
            self,
            Operation::Get | Operation::Exists | Operation::Take | Operation::Ttl
        )
    }
}

/// How a cache operation ended (the `outcome` label of `cache_operations_total`). Reads
/// end in a hit, a miss or an error; every other operation in `ok` or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A read that returned a value.
    Hit,
    /// A read that found nothing usable.
    Miss,
    /// Any other operation that the backend carried out.
    Ok,
    /// An operation that returned an error.
    Error,
}

impl Outcome {
    /// Every outcome, in the order of their counters.
    pub const ALL: [Outcome; 4] = [Outcome::Hit, Outcome::Miss, Outcome::Ok, Outcome::Error];

    /// The name used as a metric label.
    ///
    /// ```
    /// use service_cache::Outcome;
    ///
    /// assert_eq!(Outcome::Hit.as_str(), "hit");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        }
    }

    /// Whether `operation` can end this way (the pairs that are exported).
    pub fn applies_to(self, operation: Operation) -> bool {
        match self {
            Outcome::Hit | Outcome::Miss => operation.is_read(),
            Outcome::Ok => !operation.is_read(),
            Outcome::Error => true,
        }
    }
}

/// The live counters behind [`CacheStats`]: one per operation and outcome.
///
/// Relaxed atomics: each counter is exact, but a snapshot taken under load may mix
/// counts from slightly different instants, which statistics can live with. Metrics
/// read them when scraped, so counting costs one atomic add whether or not anyone
/// scrapes.
/// How cache-aside with a [`Policy`](super::Policy) used stale entries, since the caches
/// were built.
///
/// - `stale_while_revalidate`: answers given from an entry in its stale-while-revalidate
///   window (a refresh was running or was started);
/// - `stale_if_error`: answers given from a stale entry because the loader failed;
/// - `refreshes`: background refreshes that stored a new value;
/// - `refresh_errors`: background refreshes whose loader failed (the stale entry stays).
///
/// ```
/// use service_cache::StaleStats;
///
/// assert_eq!(StaleStats::default().stale_if_error, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StaleStats {
    /// Answers from the stale-while-revalidate window.
    pub stale_while_revalidate: u64,
    /// Answers from the stale-if-error window after a failed load.
    pub stale_if_error: u64,
    /// Background refreshes that succeeded.
    pub refreshes: u64,
    /// Background refreshes that failed.
    pub refresh_errors: u64,
}

/// One alias's [`StaleStats`], counted as they happen.
#[derive(Debug, Default)]
pub(super) struct StaleCounters {
    stale_while_revalidate: AtomicU64,
    stale_if_error: AtomicU64,
    refreshes: AtomicU64,
    refresh_errors: AtomicU64,
}

impl StaleCounters {
    pub(super) fn served_while_revalidating(&self) {
        self.stale_while_revalidate.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn served_on_error(&self) {
        self.stale_if_error.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn refreshed(&self, succeeded: bool) {
        let counter = if succeeded {
            &self.refreshes
        } else {
            &self.refresh_errors
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> StaleStats {
        StaleStats {
            stale_while_revalidate: self.stale_while_revalidate.load(Ordering::Relaxed),
            stale_if_error: self.stale_if_error.load(Ordering::Relaxed),
            refreshes: self.refreshes.load(Ordering::Relaxed),
            refresh_errors: self.refresh_errors.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Indexed by the positions in [`Operation::ALL`] and [`Outcome::ALL`].
    counts: [[AtomicU64; Outcome::ALL.len()]; Operation::ALL.len()],
}

impl Counters {
    /// A read (`operation` is one: get, exists, take) that found a usable value.
    pub(super) fn hit(&self, operation: Operation) {
        self.add(operation, Outcome::Hit);
    }

    /// A read that found nothing usable.
    pub(super) fn miss(&self, operation: Operation) {
        self.add(operation, Outcome::Miss);
    }

    pub(super) fn error(&self, operation: Operation) {
        self.add(operation, Outcome::Error);
    }

    /// Counts how `operation` ended; a read's success is counted later, as a hit or a
    /// miss, once it is known which.
    pub(super) fn finished(&self, operation: Operation, succeeded: bool) {
        if !succeeded {
            self.error(operation);
        } else if !operation.is_read() {
            self.add(operation, Outcome::Ok);
        }
    }

    /// How often `operation` ended with `outcome`.
    pub(super) fn count(&self, operation: Operation, outcome: Outcome) -> u64 {
        self.slot(operation, outcome).load(Ordering::Relaxed)
    }

    pub(super) fn snapshot(&self) -> CacheStats {
        CacheStats {
            hits: self.reads(Outcome::Hit),
            misses: self.reads(Outcome::Miss),
            errors: Operation::ALL
                .iter()
                .map(|operation| self.count(*operation, Outcome::Error))
                .sum(),
            l1_hits: 0,
        }
    }

    /// Reads of every kind that ended with `outcome`.
    fn reads(&self, outcome: Outcome) -> u64 {
        Operation::ALL
            .iter()
            .filter(|operation| operation.is_read())
            .map(|operation| self.count(*operation, outcome))
            .sum()
    }

    fn add(&self, operation: Operation, outcome: Outcome) {
        self.slot(operation, outcome)
            .fetch_add(1, Ordering::Relaxed);
    }

    fn slot(&self, operation: Operation, outcome: Outcome) -> &AtomicU64 {
        // Both enums are fieldless, so `as usize` is their position in `ALL` (checked below).
        &self.counts[operation as usize][outcome as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::{Counters, Operation, Outcome};

    #[test]
    fn positions_in_all_match_the_discriminants() {
        for (index, operation) in Operation::ALL.iter().enumerate() {
            assert_eq!(*operation as usize, index, "{operation:?}");
        }
        for (index, outcome) in Outcome::ALL.iter().enumerate() {
            assert_eq!(*outcome as usize, index, "{outcome:?}");
        }
    }

    #[test]
    fn each_operation_and_outcome_has_its_own_count() {
        let counters = Counters::default();
        counters.hit(Operation::Get);
        counters.miss(Operation::Get);
        counters.miss(Operation::Take);
        counters.finished(Operation::Get, true);
        counters.finished(Operation::Set, true);
        counters.finished(Operation::Set, false);
        counters.error(Operation::Delete);
        assert_eq!(counters.count(Operation::Get, Outcome::Hit), 1);
        assert_eq!(counters.count(Operation::Get, Outcome::Miss), 1);
        assert_eq!(counters.count(Operation::Take, Outcome::Miss), 1);
        assert_eq!(
            counters.count(Operation::Get, Outcome::Ok),
            0,
            "a read is a hit or a miss"
        );
        assert_eq!(counters.count(Operation::Set, Outcome::Ok), 1);
        assert_eq!(counters.count(Operation::Set, Outcome::Error), 1);
        let stats = counters.snapshot();
        assert_eq!((stats.hits, stats.misses, stats.errors), (1, 2, 2));
    }
}
