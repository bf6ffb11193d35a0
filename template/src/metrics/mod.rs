//! Prometheus metrics: what `GET /metrics` serves{% if web %} on the web server{% endif %}{% if web and worker %}, and{% endif %}{% if worker %} on the
//! `worker` mode's own listener ([`listener`]){% endif %}.
//!
//! [`Metrics`] holds one registry per [`AppContext`](crate::context::AppContext), so
//! every context (and every test's server) counts on its own. What changes often is
//! counted through handles registered ahead of time.
{%- if web %}
//! The HTTP series are found per route template without building labels again
//! ([`http`]).
{%- endif %}
{%- if cache %}
//! The cache's counters are plain atomics in the cache itself, read only when scraped
//! (the engine's `CacheCollector`).
{%- endif %}
//!
//! The crate is `prometheus` (without protobuf): it renders the text format that
//! `promtool check metrics` and every Prometheus read, and lets a collector read values
//! at scrape time. `METRICS_ENABLED=false` builds a [`Metrics`] that records and serves
//! nothing.
{%- if web or worker %}
{% if database != "none" %}
pub mod database;
{%- endif %}
{%- if web %}
pub mod http;
{%- endif %}
{%- if worker %}
pub mod jobs;
pub mod listener;
{%- endif %}
{%- endif %}

use std::sync::Arc;

use prometheus::{Encoder, IntCounter, IntGaugeVec, Opts, Registry, TextEncoder};
{%- if cache %}
use service_cache::metrics::CacheCollector;
{%- endif %}

{% if database != "none" -%}
use crate::database::Database;
{% endif -%}
{% if cache -%}
use crate::services::cache::Caches;
{% endif -%}
use crate::settings::MetricsSettings;

/// The `content-type` of the text format that [`Metrics::render`] writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The service's metrics, cheap to clone (one reference count); disabled by
/// `METRICS_ENABLED=false`.
///
/// ```
/// use {{crate_name}}::metrics::Metrics;
/// use {{crate_name}}::settings::MetricsSettings;
///
/// let text = Metrics::new(&MetricsSettings::default()).render().expect("enabled by default");
/// let labels = format!(r#"service="{}",version="{}""#, env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
/// assert!(text.lines().any(|line| line.starts_with("build_info") && line.contains(&labels)));
///
/// let off = MetricsSettings { enabled: false, ..MetricsSettings::default() };
/// assert!(Metrics::new(&off).render().is_none());
/// ```
#[derive(Clone)]
pub struct Metrics {
    /// `None` when disabled.
    inner: Option<Arc<Inner>>,
}

/// What an enabled [`Metrics`] and its clones share.
struct Inner {
    /// Every series of this context.
    registry: Registry,
    /// `log_lines_dropped_total`, brought up to the log writer's own count when scraped.
    /// Two scrapes at once would both add the difference: they take turns.
    log_lines_dropped: std::sync::Mutex<IntCounter>,
{%- if database != "none" %}
    /// Query durations and pool waits.
    database: database::DatabaseMetrics,
{%- endif %}
{%- if web %}
    /// HTTP requests by method, status and route template.
    http: http::HttpMetrics,
{%- endif %}
{%- if worker %}
    /// Job runs, failures and durations by job name.
    jobs: jobs::JobMetrics,
{%- endif %}
}

impl Metrics {
    /// A registry with the build information and the HTTP and job series, or a
    /// disabled one.
    pub fn new(settings: &MetricsSettings) -> Self {
        if !settings.enabled {
            return Self { inner: None };
        }
        let registry = Registry::new();
        let build_info = IntGaugeVec::new(
            Opts::new(
                "build_info",
                "Always 1; labelled with the service's name and version.",
            ),
            &["service", "version"],
        )
        .expect("a valid metric definition");
        build_info
            .with_label_values(&[env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")])
            .set(1);
        register(&registry, build_info);
        let log_lines_dropped = IntCounter::new(
            "log_lines_dropped_total",
            "Log lines dropped because stderr was not read fast enough (LOG_QUEUE_LINES).",
        )
        .expect("a valid metric definition");
        register(&registry, log_lines_dropped.clone());
        let log_lines_dropped = std::sync::Mutex::new(log_lines_dropped);
{%- if web or worker %}
        let inner = Inner {
            log_lines_dropped,
{%- if database != "none" %}
            database: database::DatabaseMetrics::new(&registry),
{%- endif %}
{%- if web %}
            http: http::HttpMetrics::new(&registry),
{%- endif %}
{%- if worker %}
            jobs: jobs::JobMetrics::new(&registry),
{%- endif %}
            registry,
        };
{%- else %}
        let inner = Inner {
            log_lines_dropped,
            registry,
        };
{%- endif %}
        Self {
            inner: Some(Arc::new(inner)),
        }
    }
{%- if cache %}

    /// Exports `caches`' counters, entries and backend figures, read when scraped.
    pub fn watch_caches(&self, caches: &Caches) {
        if let Some(inner) = &self.inner {
            register(&inner.registry, CacheCollector::new(caches.clone()));
        }
    }
{%- endif %}

{%- if database != "none" %}

    /// The handles [`Database`] records its queries with; `None` when disabled.
    pub fn database(&self) -> Option<database::DatabaseMetrics> {
        self.inner.as_ref().map(|inner| inner.database.clone())
    }

    /// Exports `database`'s pool (connections in use and idle), read when scraped.
    pub fn watch_database(&self, database: &Database) {
        if let Some(inner) = &self.inner {
            register(
                &inner.registry,
                database::PoolCollector::new(database.clone()),
            );
        }
    }
{%- endif %}

    /// Whether metrics are recorded and served.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Every series in the Prometheus text format; `None` when disabled.
    pub fn render(&self) -> Option<String> {
        let inner = self.inner.as_ref()?;
        {
            let counter = inner
                .log_lines_dropped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let dropped = crate::telemetry::dropped_lines();
            if dropped > counter.get() {
                counter.inc_by(dropped - counter.get());
            }
        }
        let mut text = Vec::new();
        // Writing to a Vec fails only on a malformed family, which the registry never
        // holds; the text so far is still served.
        if let Err(error) = TextEncoder::new().encode(&inner.registry.gather(), &mut text) {
            tracing::error!(%error, "could not render the metrics");
        }
        Some(String::from_utf8_lossy(&text).into_owned())
    }
{%- if web %}

    /// The HTTP series; `None` when disabled.
    pub fn http(&self) -> Option<&http::HttpMetrics> {
        self.inner.as_ref().map(|inner| &inner.http)
    }
{%- endif %}
{%- if worker %}

    /// The series of the job called `name`; `None` when disabled.
    pub fn job(&self, name: &str) -> Option<jobs::JobSeries> {
        self.inner.as_ref().map(|inner| inner.jobs.series(name))
    }
{%- endif %}
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

/// Adds `collector` to `registry`. The names are fixed and distinct, so a refusal is a
/// bug in this module, caught by its tests.
fn register<C: prometheus::core::Collector + 'static>(registry: &Registry, collector: C) {
    registry
        .register(Box::new(collector))
        .expect("metric names are unique");
}

#[cfg(test)]
mod tests {
    use super::Metrics;
    use crate::settings::MetricsSettings;

    #[test]
    fn every_series_registers_and_renders() {
        let metrics = Metrics::new(&MetricsSettings::default());
{%- if cache %}
        metrics.watch_caches(&crate::services::cache::Caches::from_settings(
            &crate::settings::CacheSettings::default(),
        ));
{%- endif %}
        let text = metrics.render().expect("enabled");
        assert!(text.contains("# TYPE build_info gauge"), "{text}");
{%- if cache %}
        assert!(
            text.contains(
                r#"cache_operations_total{alias="memory",operation="get",outcome="hit"} 0"#
            ),
            "{text}"
        );
{%- endif %}
    }
}
