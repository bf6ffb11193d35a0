//! The endpoint cache's freshness over real HTTP: answers tagged from path parameters
//! and dropped by a write's tag, stale-while-revalidate (`x-cache: stale`, one refresh)
//! and stale-if-error, on the in-process store{% if redis %} and on a real `redis-server`{% endif %}.
//!
//! The handlers count their calls and pause, so "answered at once" is shown by the body
//! a request got (the stored one, while the handler would give a new one), never by
//! timing; windows are only ever waited out by sleeping past them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::web::{self, ServiceConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use service_cache::endpoint::EndpointCache;
{%- if redis %}
use service_cache::test_support::RedisServer;
{%- endif %}

use crate::metrics::scrape_app;
use crate::test_app::{TestApp, spawn_app_with_routes, x_cache};

const HOUR: Duration = Duration::from_secs(3600);

/// What the routes' handlers share: how often they ran, and whether they fail (500).
#[derive(Clone, Default)]
struct Source {
    calls: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Source {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// A handler that counts its call, pauses 300 ms, and answers `{"call": n}`, or 500
    /// while the source is failing.
    fn handler(
        &self,
    ) -> impl Fn() -> Pin<Box<dyn Future<Output = HttpResponse>>> + Clone + 'static {
        let source = self.clone();
        move || {
            let source = source.clone();
            Box::pin(async move {
                let call = source.calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
                if source.failing.load(Ordering::SeqCst) {
                    HttpResponse::InternalServerError().json(json!({ "error": "database down" }))
                } else {
                    HttpResponse::Ok().json(json!({ "call": call }))
                }
            })
        }
    }

    /// `GET /swr/{id}`: fresh 2 s, then stale-while-revalidate for an hour.
    /// `GET /sie/{id}`: fresh 200 ms, then stale-if-error for an hour.
    /// `GET /brief/{id}`: fresh 100 ms, then stale-if-error for 200 ms.
    /// `GET /owners/{owner_id}/pets/{id}`: tagged `owner:{owner_id}`.
    /// `PUT /owners/{owner_id}`: invalidates the tag `owner:{owner_id}`.
    fn routes(&self) -> impl Fn(&mut ServiceConfig) + Send + Clone + 'static {
        let source = self.clone();
        move |cfg| {
            let routes = [
                (
                    "/swr/{id}",
                    EndpointCache::new("swr:{id}")
                        .ttl(Duration::from_secs(2))
                        .stale_while_revalidate(HOUR),
                ),
                (
                    "/sie/{id}",
                    EndpointCache::new("sie:{id}")
                        .ttl(Duration::from_millis(200))
                        .stale_if_error(HOUR),
                ),
                (
                    "/brief/{id}",
                    EndpointCache::new("brief:{id}")
                        .ttl(Duration::from_millis(100))
                        .stale_if_error(Duration::from_millis(200)),
                ),
                (
                    "/owners/{owner_id}/pets/{id}",
                    EndpointCache::new("pets:{id}").tag("owner:{owner_id}"),
                ),
            ];
            for (path, cache) in routes {
                cfg.service(
                    web::resource(path)
                        .wrap(cache)
                        .route(web::get().to(source.handler())),
                );
            }
            cfg.service(
                web::resource("/owners/{owner_id}")
                    .wrap(
                        EndpointCache::new("owners:{owner_id}").invalidates_tag("owner:{owner_id}"),
                    )
                    .route(web::put().to(|| async { HttpResponse::NoContent().finish() })),
            );
        }
    }
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Option<String>, Value) {
    let response = app.get(path).await;
    let status = response.status();
    let cache = x_cache(&response);
    (status, cache, response.json().await.unwrap_or(Value::Null))
}

async fn tagged_answers_go_when_a_write_invalidates_their_tag(vars: &[(&str, &str)]) {
    let source = Source::default();
    let app = spawn_app_with_routes(vars, source.routes()).await;
    let pets = ["/owners/7/pets/1", "/owners/7/pets/2", "/owners/8/pets/3"];
    for (outcome, path) in [("miss", pets), ("hit", pets)]
        .iter()
        .flat_map(|(o, ps)| ps.map(|p| (*o, p)))
    {
        let (status, cache, _) = get(&app, path).await;
        assert_eq!(
            (status, cache.as_deref()),
            (StatusCode::OK, Some(outcome)),
            "{path}"
        );
    }

    let written = app.client.put(app.url("/owners/7")).send().await.unwrap();
    assert_eq!(written.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(&app, pets[0]).await.1.as_deref(), Some("miss"));
    assert_eq!(get(&app, pets[1]).await.1.as_deref(), Some("miss"));
    assert_eq!(
        get(&app, pets[2]).await.1.as_deref(),
        Some("hit"),
        "owner 8 is untouched"
    );

    // The tag reaches the entries through the cache API too (a job, another route).
    let removed = app
        .context
        .caches
        .persistent()
        .invalidate_tag("owner:8")
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(get(&app, pets[2]).await.1.as_deref(), Some("miss"));
    assert_eq!(source.calls(), 6);
    let scrape = scrape_app(&app).await;
    let invalidations = [
        ("alias", "persistent"),
        ("operation", "invalidate_tag"),
        ("outcome", "ok"),
    ];
    assert_eq!(
        scrape.value("cache_operations_total", &invalidations),
        Some(2.0)
    );
}

async fn a_stale_answer_goes_out_at_once_while_one_refresh_runs(vars: &[(&str, &str)]) {
    let source = Source::default();
    let app = spawn_app_with_routes(vars, source.routes()).await;
    let (_, cache, body) = get(&app, "/swr/1").await;
    assert_eq!(
        (cache.as_deref(), &body),
        (Some("miss"), &json!({ "call": 1 }))
    );
    assert_eq!(get(&app, "/swr/1").await.1.as_deref(), Some("hit"));

    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let request = app.client.get(app.url("/swr/1"));
            tokio::spawn(async move {
                let response = request.send().await.expect("GET reaches the server");
                let cache = x_cache(&response);
                (
                    response.status(),
                    cache,
                    response.json::<Value>().await.unwrap(),
                )
            })
        })
        .collect();
    for request in requests {
        let (status, cache, body) = request.await.unwrap();
        assert_eq!(
            (status, cache.as_deref(), body),
            (StatusCode::OK, Some("stale"), json!({ "call": 1 })),
            "the stored answer, while the handler would give call 2"
        );
    }

    // The refresh lands; meanwhile requests keep getting the stale answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, cache, body) = get(&app, "/swr/1").await;
        if cache.as_deref() == Some("hit") {
            assert_eq!(body, json!({ "call": 2 }));
            break;
        }
        assert_eq!(
            (cache.as_deref(), &body),
            (Some("stale"), &json!({ "call": 1 }))
        );
        assert!(Instant::now() < deadline, "the refresh never landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        source.calls(),
        2,
        "exactly one refresh ran for every stale request"
    );
    let stale = app.context.caches.persistent().stale_stats();
    assert_eq!((stale.refreshes, stale.refresh_errors), (1, 0));
    assert!(stale.stale_while_revalidate >= 10);
    let scrape = scrape_app(&app).await;
    let refreshed = [("alias", "persistent"), ("outcome", "ok")];
    assert_eq!(scrape.value("cache_refreshes_total", &refreshed), Some(1.0));
    let revalidating = [("alias", "persistent"), ("reason", "revalidate")];
    let answers = scrape.value("cache_stale_answers_total", &revalidating);
    assert_eq!(answers, Some(stale.stale_while_revalidate as f64));
}

async fn a_failing_handler_is_answered_from_the_cache_within_the_window_only(
    vars: &[(&str, &str)],
) {
    let source = Source::default();
    let app = spawn_app_with_routes(vars, source.routes()).await;
    let first = app.get("/sie/1").await;
    let etag = first.headers().get("etag").cloned();
    assert_eq!(x_cache(&first).as_deref(), Some("miss"));
    assert_eq!(get(&app, "/brief/1").await.1.as_deref(), Some("miss"));
    source.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let stale = app.get("/sie/1").await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(x_cache(&stale).as_deref(), Some("stale"));
    assert_eq!(
        stale.headers().get("etag").cloned(),
        etag,
        "the stored answer's ETag"
    );
    assert_eq!(stale.json::<Value>().await.unwrap(), json!({ "call": 1 }));
    assert_eq!(source.calls(), 3, "the handler ran and failed");

    let (status, cache, _) = get(&app, "/brief/1").await;
    assert_eq!(
        (status, cache.as_deref()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("miss")),
        "past its window the failure goes through"
    );
    assert_eq!(
        app.context.caches.persistent().stale_stats().stale_if_error,
        1
    );
    let on_error = [("alias", "persistent"), ("reason", "error")];
    let scrape = scrape_app(&app).await;
    assert_eq!(
        scrape.value("cache_stale_answers_total", &on_error),
        Some(1.0)
    );

    source.failing.store(false, Ordering::SeqCst);
    let (status, cache, body) = get(&app, "/sie/1").await;
    assert_eq!(
        (status, cache.as_deref(), body),
        (StatusCode::OK, Some("miss"), json!({ "call": 5 }))
    );
}

macro_rules! on_each_store {
    ($($test:ident),* $(,)?) => {
        $(
        mod $test {
            #[tokio::test]
            async fn in_process() {
                super::$test(&[]).await;
            }
{%- if redis %}

            #[tokio::test]
            async fn redis() {
                let server = super::RedisServer::start();
                super::$test(&[("CACHE_REDIS_URL", &server.url())]).await;
            }
{%- endif %}
        }
        )*
    };
}

on_each_store!(
    tagged_answers_go_when_a_write_invalidates_their_tag,
    a_stale_answer_goes_out_at_once_while_one_refresh_runs,
    a_failing_handler_is_answered_from_the_cache_within_the_window_only,
);
