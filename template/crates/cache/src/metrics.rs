//! Cache series, read from the caches when scraped: `cache_operations_total` by alias,
//! operation and outcome, `cache_stale_answers_total` and `cache_refreshes_total` (how
//! cache-aside used stale entries), `cache_entries` per in-process store, `cache_l1_hits_total`
//! (the hits the L1 in front of Redis answered), `cache_fills_voided_total` (loads not
//! stored because a write came while they ran), `cache_pending_invalidations` (what
//! waits for Redis to answer), and the Redis backend's own series (command durations,
//! breaker state, reconnects) with the `redis` feature.
//!
//! The caches count in their own atomics whether or not anything scrapes, so a cache
//! operation pays one atomic add for its metrics and no label is looked up.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

use crate::{Caches, Operation, Outcome};

/// Exports one context's [`Caches`].
pub struct CacheCollector {
    /// The caches read at each scrape.
    caches: Caches,
    /// The descriptions of `cache_operations_total` and `cache_entries`.
    descs: Vec<Desc>,
}

impl CacheCollector {
    /// A collector that reads `caches` at every scrape.
    pub fn new(caches: Caches) -> Self {
        let mut descs: Vec<Desc> = operations().desc().into_iter().cloned().collect();
        descs.extend(entries().desc().into_iter().cloned());
        descs.extend(stale_answers().desc().into_iter().cloned());
        descs.extend(refreshes().desc().into_iter().cloned());
        descs.extend(voided_fills().desc().into_iter().cloned());
        descs.extend(pending_invalidations().desc().into_iter().cloned());
        #[cfg(feature = "redis")]
        descs.extend(l1_hits().desc().into_iter().cloned());
        Self { caches, descs }
    }
}

impl Collector for CacheCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let operations = operations();
        let entries = entries();
        let stale_answers = stale_answers();
        let refreshes = refreshes();
        let voided_fills = voided_fills();
        let pending_invalidations = pending_invalidations();
        for cache in self.caches.iter() {
            let alias = cache.alias().to_string();
            voided_fills
                .with_label_values(&[alias.as_str()])
                .inc_by(cache.voided_fills());
            pending_invalidations
                .with_label_values(&[alias.as_str()])
                .set(i64::try_from(cache.pending_invalidations()).unwrap_or(i64::MAX));
            let stale = cache.stale_stats();
            for (reason, count) in [
                ("revalidate", stale.stale_while_revalidate),
                ("error", stale.stale_if_error),
            ] {
                stale_answers
                    .with_label_values(&[alias.as_str(), reason])
                    .inc_by(count);
            }
            for (outcome, count) in [("ok", stale.refreshes), ("error", stale.refresh_errors)] {
                refreshes
                    .with_label_values(&[alias.as_str(), outcome])
                    .inc_by(count);
            }
            for operation in Operation::ALL {
                for outcome in Outcome::ALL {
                    if outcome.applies_to(operation) {
                        operations
                            .with_label_values(&[
                                alias.as_str(),
                                operation.as_str(),
                                outcome.as_str(),
                            ])
                            .inc_by(cache.operations(operation, outcome));
                    }
                }
            }
            if let Some(count) = cache.entries() {
                entries
                    .with_label_values(&[alias.as_str()])
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
        let mut families = operations.collect();
        families.extend(entries.collect());
        families.extend(stale_answers.collect());
        families.extend(refreshes.collect());
        families.extend(voided_fills.collect());
        families.extend(pending_invalidations.collect());
        #[cfg(feature = "redis")]
        let l1_hits = l1_hits();
        #[cfg(feature = "redis")]
        for cache in self.caches.iter() {
            l1_hits
                .with_label_values(&[cache.alias().to_string().as_str()])
                .inc_by(cache.stats().l1_hits);
            families.extend(cache.backend_metrics());
        }
        #[cfg(feature = "redis")]
        families.extend(l1_hits.collect());
        families
    }
}

fn operations() -> IntCounterVec {
    IntCounterVec::new(
        Opts::new(
            "cache_operations_total",
            "Cache operations by alias, operation and outcome (hit, miss, ok, error).",
        ),
        &["alias", "operation", "outcome"],
    )
    .expect("a valid metric definition")
}

fn stale_answers() -> IntCounterVec {
    IntCounterVec::new(
        Opts::new(
            "cache_stale_answers_total",
            "Answers given from a stale cache entry, by alias and reason (revalidate: while a background refresh runs; error: the loader failed).",
        ),
        &["alias", "reason"],
    )
    .expect("a valid metric definition")
}

fn refreshes() -> IntCounterVec {
    IntCounterVec::new(
        Opts::new(
            "cache_refreshes_total",
            "Background refreshes of stale cache entries, by alias and outcome (ok, error).",
        ),
        &["alias", "outcome"],
    )
    .expect("a valid metric definition")
}

fn voided_fills() -> IntCounterVec {
    IntCounterVec::new(
        Opts::new(
            "cache_fills_voided_total",
            "Loaded values answered but not stored because a write or invalidation of their key came while they loaded, by alias.",
        ),
        &["alias"],
    )
    .expect("a valid metric definition")
}

fn pending_invalidations() -> IntGaugeVec {
    IntGaugeVec::new(
        Opts::new(
            "cache_pending_invalidations",
            "Invalidations Redis has not taken yet, sent as soon as it answers, by alias.",
        ),
        &["alias"],
    )
    .expect("a valid metric definition")
}

fn entries() -> IntGaugeVec {
    IntGaugeVec::new(
        Opts::new(
            "cache_entries",
            "Entries held by an in-process cache store, by alias (expired ones not yet evicted included).",
        ),
        &["alias"],
    )
    .expect("a valid metric definition")
}

#[cfg(feature = "redis")]
fn l1_hits() -> IntCounterVec {
    IntCounterVec::new(
        Opts::new(
            "cache_l1_hits_total",
            "Reads answered by the in-process L1 in front of Redis without a round trip, by alias (they are counted as hits of get too).",
        ),
        &["alias"],
    )
    .expect("a valid metric definition")
}
