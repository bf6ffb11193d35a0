//! `GET /metrics` on the web server, over real HTTP: it parses, and its counters follow
//! the requests this test makes, exactly.

use std::net::SocketAddr;
{%- if redis %}
use std::time::{Duration, Instant};
{%- endif %}

use reqwest::StatusCode;
{%- if cache %}
use serde_json::json;
{%- endif %}
{%- if redis %}
use service_cache::test_support::RedisServer;
{%- endif %}

use crate::scrape::{Scrape, scrape};
{%- if cache %}
use crate::test_app::x_cache;
{%- endif %}
use crate::test_app::{TestApp, spawn_app, spawn_app_with};

/// Scrapes `app` from a blocking thread, so the server keeps running on this runtime.
pub(crate) async fn scrape_app(app: &TestApp) -> Scrape {
    let address: SocketAddr = app
        .address
        .trim_start_matches("http://")
        .parse()
        .expect("the test app's address is ip:port");
    tokio::task::spawn_blocking(move || scrape(address))
        .await
        .expect("the scrape")
}

/// `http_requests_total` of one route, method and status.
fn requests(scrape: &Scrape, route: &str, status: &str) -> f64 {
    scrape.count(
        "http_requests_total",
        &[("method", "GET"), ("route", route), ("status", status)],
    )
}

#[tokio::test]
async fn metrics_parse_and_carry_the_build_information() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    let scrape = scrape_app(&app).await;
    assert_eq!(
        scrape.value(
            "build_info",
            &[
                ("service", env!("CARGO_PKG_NAME")),
                ("version", env!("CARGO_PKG_VERSION"))
            ]
        ),
        Some(1.0)
    );
    for (name, kind) in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
{%- if cache %}
        ("cache_operations_total", "counter"),
        ("cache_entries", "gauge"),
        ("cache_stale_answers_total", "counter"),
        ("cache_refreshes_total", "counter"),
{%- endif %}
{%- if database != "none" %}
        ("db_pool_connections", "gauge"),
        ("db_pool_max_connections", "gauge"),
        ("db_pool_acquire_waits_total", "counter"),
{%- endif %}
    ] {
        assert_eq!(
            scrape.types.get(name).map(String::as_str),
            Some(kind),
            "{name}"
        );
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_a_bad_id_adds_no_label_value() {
    let app = spawn_app().await;
    assert_eq!(app.get("/items/1").await.status(), StatusCode::NOT_FOUND);
    let before = scrape_app(&app).await;
    let routes_before = before.label_values("http_requests_total", "route");
    assert!(routes_before.contains("/items/{id}"), "{routes_before:?}");

    let response = app.get("/items/abc").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/no/such/route").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/another/unknown").await.status(),
        StatusCode::NOT_FOUND
    );

    let after = scrape_app(&app).await;
    assert_eq!(
        requests(&after, "/items/{id}", "400") - requests(&before, "/items/{id}", "400"),
        1.0
    );
    assert_eq!(
        requests(&after, "unmatched", "404") - requests(&before, "unmatched", "404"),
        2.0,
        "unknown paths share one route value"
    );
    let mut expected = routes_before.clone();
    // The scrape before this one is a request too.
    expected.insert("/metrics".to_owned());
    expected.insert("unmatched".to_owned());
    assert_eq!(after.label_values("http_requests_total", "route"), expected);
    assert_eq!(
        after.count(
            "http_request_duration_seconds_count",
            &[
                ("method", "GET"),
                ("route", "/items/{id}"),
                ("status", "400")
            ]
        ),
        1.0
    );
}
{%- if cache %}

#[tokio::test]
async fn cache_hits_and_misses_move_their_counters_exactly() {
    let app = spawn_app().await;
    for id in [1, 2] {
        let response = app
            .put_json(&format!("/items/{id}"), &json!({"name": "pen"}))
            .await;
        assert!(response.status().is_success());
    }
    let before = scrape_app(&app).await;
    let (mut hits, mut misses) = (0.0, 0.0);
    for path in [
        "/items/1", "/items/1", "/items/1", "/items/2", "/items/2", "/items/1",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK);
        match x_cache(&response).as_deref() {
            Some("hit") => hits += 1.0,
            Some("miss") => misses += 1.0,
            other => panic!("x-cache {other:?}"),
        }
    }
    assert_eq!(
        (hits, misses),
        (4.0, 2.0),
        "the first read of each item misses"
    );
    let after = scrape_app(&app).await;
    let moved = |outcome: &str| {
        let labels = [
            ("alias", "persistent"),
            ("operation", "get"),
            ("outcome", outcome),
        ];
        after.count("cache_operations_total", &labels)
            - before.count("cache_operations_total", &labels)
    };
    assert_eq!(moved("hit"), hits);
    assert_eq!(moved("miss"), misses);
    assert_eq!(moved("error"), 0.0);
    assert_eq!(
        after.value("cache_entries", &[("alias", "persistent")]),
        Some(2.0),
        "the two cached answers"
    );
}
{%- endif %}
{%- if database != "none" %}

#[tokio::test]
async fn every_query_is_timed_under_its_name_and_the_pool_is_shown() {
    let app = spawn_app_with(&[("DATABASE_MAX_CONNECTIONS", "3")]).await;
    let before = scrape_app(&app).await;
    let response = app
        .put_json("/items/1", &serde_json::json!({"name": "pen"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for _ in 0..2 {
        assert_eq!(app.get("/items/1").await.status(), StatusCode::OK);
    }
    assert_eq!(app.get("/items/2").await.status(), StatusCode::NOT_FOUND);
    let after = scrape_app(&app).await;
    // Each query's `_count` of successful runs, moved by this test.
    let ran = |query: &str| {
        let labels = [("query", query), ("outcome", "ok")];
        after.count("db_query_duration_seconds_count", &labels)
            - before.count("db_query_duration_seconds_count", &labels)
    };
    assert_eq!(ran("items.upsert"), 1.0);
{%- if cache %}
    // The second read of item 1 is a cache hit: two reads reach the database.
    assert_eq!(ran("items.get"), 2.0);
{%- else %}
    assert_eq!(ran("items.get"), 3.0);
{%- endif %}
    assert_eq!(after.value("db_pool_max_connections", &[]), Some(3.0));
    let open = after.count("db_pool_connections", &[("state", "idle")])
        + after.count("db_pool_connections", &[("state", "in_use")]);
    assert!((1.0..=3.0).contains(&open), "{open} connections open");
}
{%- endif %}

{%- if redis %}

#[tokio::test]
async fn redis_commands_the_breaker_and_reconnects_show_in_the_metrics() {
    let mut server = RedisServer::start();
    let url = server.url();
    let app = spawn_app_with(&[
        ("CACHE_REDIS_URL", url.as_str()),
        ("CACHE_REDIS_TIMEOUT_MS", "300"),
    ])
    .await;
    let cache = app.context.caches.persistent();
    cache.set("key", &1, None).await.expect("Redis is up");
    let up = scrape_app(&app).await;
    assert!(up.count("redis_command_duration_seconds_count", &[]) >= 1.0);
    assert_eq!(up.value("redis_breaker_open", &[]), Some(0.0));
    assert_eq!(up.value("redis_reconnects_total", &[]), Some(0.0));

    server.stop();
    assert!(cache.set("key", &2, None).await.is_err(), "Redis is down");
    let down = scrape_app(&app).await;
    assert_eq!(down.value("redis_breaker_open", &[]), Some(1.0));

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    while cache.set("key", &3, None).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the cache did not get Redis back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = scrape_app(&app).await;
    assert_eq!(back.value("redis_breaker_open", &[]), Some(0.0));
    assert!(back.count("redis_reconnects_total", &[]) >= 1.0);
    assert!(
        back.count(
            "cache_operations_total",
            &[
                ("alias", "persistent"),
                ("operation", "set"),
                ("outcome", "error")
            ]
        ) >= 1.0
    );
}
{%- endif %}

#[tokio::test]
async fn metrics_off_serves_no_metrics() {
    let app = spawn_app_with(&[("METRICS_ENABLED", "false")]).await;
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
