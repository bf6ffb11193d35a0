//! Database series: `db_query_duration_seconds` by query and outcome,
//! `db_pool_acquire_waits_total`, and the pool read when scraped:
//! `db_pool_connections` (in use, idle) and `db_pool_max_connections`.
//!
//! Queries are named by their caller ([`Database::run`](crate::database::Database::run)
//! takes a `&'static str`), so the number of series is the number of queries in the
//! code, never a function of the data.

use std::time::Duration;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use crate::database::{Database, DatabaseError};

/// Upper bounds (seconds) of the query-duration buckets: from a tenth of a millisecond,
/// where an indexed read on loopback sits, to ten seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// What [`Database::run`] records; cheap to clone (handles only).
#[derive(Clone)]
pub struct DatabaseMetrics {
    /// `db_query_duration_seconds{query, outcome}`, waiting for a connection included.
    queries: HistogramVec,
    /// `db_pool_acquire_waits_total`.
    waits: IntCounter,
}

impl DatabaseMetrics {
    pub(super) fn new(registry: &Registry) -> Self {
        let queries = HistogramVec::new(
            HistogramOpts::new(
                "db_query_duration_seconds",
                "Time a database query took, waiting for a connection included, by query and outcome (ok, error, unavailable, timeout).",
            )
            .buckets(BUCKETS.to_vec()),
            &["query", "outcome"],
        )
        .expect("a valid metric definition");
        let waits = IntCounter::new(
            "db_pool_acquire_waits_total",
            "Queries that found no idle connection in the pool: each opened one or waited for one (DATABASE_MAX_CONNECTIONS).",
        )
        .expect("a valid metric definition");
        super::register(registry, queries.clone());
        super::register(registry, waits.clone());
        Self { queries, waits }
    }

    /// Records one query.
    pub fn observe(&self, query: &'static str, error: Option<&DatabaseError>, took: Duration) {
        let outcome = match error {
            None => "ok",
            Some(DatabaseError::Timeout(_)) => "timeout",
            Some(error) if error.is_unavailable() => "unavailable",
            Some(_) => "error",
        };
        self.queries
            .with_label_values(&[query, outcome])
            .observe(took.as_secs_f64());
    }

    /// Records a query that found no idle connection.
    pub fn waited(&self) {
        self.waits.inc();
    }
}

/// Reads the pool's size when scraped.
pub struct PoolCollector {
    /// The pool's owner.
    database: Database,
    /// The descriptions of the two gauges.
    descs: Vec<Desc>,
}

impl PoolCollector {
    /// A collector of `database`'s pool.
    pub fn new(database: Database) -> Self {
        let mut descs: Vec<Desc> = connections().desc().into_iter().cloned().collect();
        descs.extend(max_connections().desc().into_iter().cloned());
        Self { database, descs }
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let pool = self.database.pool();
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let open = i64::from(pool.size());
        let connections = connections();
        connections.with_label_values(&["idle"]).set(idle);
        connections
            .with_label_values(&["in_use"])
            .set((open - idle).max(0));
        let max = max_connections();
        max.set(i64::from(pool.options().get_max_connections()));
        let mut families = connections.collect();
        families.extend(max.collect());
        families
    }
}

fn connections() -> IntGaugeVec {
    IntGaugeVec::new(
        Opts::new(
            "db_pool_connections",
            "Open database connections, by state (in_use, idle).",
        ),
        &["state"],
    )
    .expect("a valid metric definition")
}

fn max_connections() -> IntGauge {
    IntGauge::new(
        "db_pool_max_connections",
        "The most connections the pool opens (DATABASE_MAX_CONNECTIONS).",
    )
    .expect("a valid metric definition")
}
