//! HTTP series: `http_requests_total` and `http_request_duration_seconds`, by method,
//! status and route template (`/items/{id}`, never the path, so the number of series
//! stays bounded; every path that matches no route shares the route `unmatched`).
//!
//! Every request counts, so the series handles are kept per route template and found
//! again with one lookup of the template and a scan of the few (method, status) pairs
//! that route has seen: no label values are built or hashed after a pair's first
//! request.

use std::sync::RwLock;
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

/// The `route` of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds (seconds) of the request-duration buckets: from half a millisecond,
/// where the fastest answers sit, to ten seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The HTTP series of one registry.
pub struct HttpMetrics {
    /// `http_requests_total{method, route, status}`.
    requests: IntCounterVec,
    /// `http_request_duration_seconds{method, route, status}`.
    durations: HistogramVec,
    /// Each route template seen, with the handles of each (method, status) seen on it.
    /// A list rather than a map: a service has a handful of routes, and comparing a few
    /// short strings costs less than hashing one.
    routes: RwLock<Vec<(Box<str>, Vec<Series>)>>,
}

/// The handles of one (route, method, status).
struct Series {
    /// One of [`METHODS`], or `other`.
    method: &'static str,
    /// The status code.
    status: u16,
    /// Its request counter.
    requests: IntCounter,
    /// Its duration histogram.
    duration: Histogram,
}

/// The methods that get a label value of their own; others are `other`, so a client
/// cannot create series by inventing methods.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

impl HttpMetrics {
    pub(super) fn new(registry: &Registry) -> Self {
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by method, route template and status code.",
            ),
            &labels,
        )
        .expect("a valid metric definition");
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from receiving an HTTP request to handing back its response, by method, route template and status code.",
            )
            .buckets(BUCKETS.to_vec()),
            &labels,
        )
        .expect("a valid metric definition");
        super::register(registry, requests.clone());
        super::register(registry, durations.clone());
        Self {
            requests,
            durations,
            routes: RwLock::default(),
        }
    }

    /// Counts one answered request. `route` is the matched route template (`None`: no
    /// route matched).
    pub fn observe(&self, route: Option<&str>, method: &str, status: u16, elapsed: Duration) {
        let route = route.unwrap_or(UNMATCHED);
        let method = METHODS
            .iter()
            .find(|known| **known == method)
            .copied()
            .unwrap_or("other");
        let seconds = elapsed.as_secs_f64();
        {
            // A poisoned lock only means another request panicked while adding a series;
            // the map itself is still whole.
            let routes = self
                .routes
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(series) = find(&routes, route).and_then(|all| {
                all.iter()
                    .find(|s| s.method == method && s.status == status)
            }) {
                series.requests.inc();
                series.duration.observe(seconds);
                return;
            }
        }
        // The first request of this (route, method, status): register its series.
        let mut routes = self
            .routes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = match routes.iter().position(|(known, _)| **known == *route) {
            Some(index) => index,
            None => {
                routes.push((route.into(), Vec::new()));
                routes.len() - 1
            }
        };
        let all = &mut routes[index].1;
        let series = match all
            .iter()
            .position(|s| s.method == method && s.status == status)
        {
            Some(index) => &all[index],
            None => {
                let status_text = status.to_string();
                let values = [method, route, status_text.as_str()];
                all.push(Series {
                    method,
                    status,
                    requests: self.requests.with_label_values(&values),
                    duration: self.durations.with_label_values(&values),
                });
                &all[all.len() - 1]
            }
        };
        series.requests.inc();
        series.duration.observe(seconds);
    }
}

/// The series of `route`, if it has been seen.
fn find<'a>(routes: &'a [(Box<str>, Vec<Series>)], route: &str) -> Option<&'a [Series]> {
    routes
        .iter()
        .find(|(known, _)| **known == *route)
        .map(|(_, series)| series.as_slice())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prometheus::Registry;

    use super::HttpMetrics;

    #[test]
    fn series_are_per_route_method_and_status() {
        let registry = Registry::new();
        let http = HttpMetrics::new(&registry);
        http.observe(Some("/items/{id}"), "GET", 200, Duration::from_millis(1));
        http.observe(Some("/items/{id}"), "GET", 200, Duration::from_millis(2));
        http.observe(Some("/items/{id}"), "GET", 400, Duration::from_millis(1));
        http.observe(None, "BREW", 404, Duration::from_millis(1));
        let count = |values: &[&str]| http.requests.with_label_values(values).get();
        assert_eq!(count(&["GET", "/items/{id}", "200"]), 2);
        assert_eq!(count(&["GET", "/items/{id}", "400"]), 1);
        assert_eq!(count(&["other", "unmatched", "404"]), 1);
        let durations = http
            .durations
            .with_label_values(&["GET", "/items/{id}", "200"]);
        assert_eq!(durations.get_sample_count(), 2);
        assert!((durations.get_sample_sum() - 0.003).abs() < 1e-9);
    }
}
