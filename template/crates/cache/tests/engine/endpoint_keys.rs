//! Endpoint keys beyond the path, over real HTTP: a paginated list cached per page, on
//! declared query parameters (normalised, defaults filled in, undeclared ones ignored);
//! an answer per `Accept-Language`; a request's `Cache-Control: no-cache`/`no-store`;
//! and a route's say over what is stored (`store_if`, `ttl_from`). In process and on
//! one Redis server, where the write's invalidation of every page is a `SCAN`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actix_web::http::header::{ACCEPT_LANGUAGE, VARY};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use service_cache::endpoint::EndpointCache;
use service_cache::{CacheSettings, Caches};

use crate::http::{Answer, Instance};

/// Caches of one instance, on Redis when `redis_vars` say so.
fn caches(redis_vars: &[(&'static str, String)]) -> Caches {
    let mut vars = vec![("CACHE_PREFIX", "endpoint-keys".to_owned())];
    vars.extend(redis_vars.iter().cloned());
    Caches::from_settings(&CacheSettings::from_vars(vars).expect("valid settings"))
}

/// The list's query, as its handler reads it.
#[derive(Deserialize)]
struct Page {
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /items` (paginated, behind `cache`) and `POST /items`, with a count of the list
/// handler's runs; the list answers `{"page":…,"per_page":…,"run":…}`.
fn list_routes(
    runs: &Arc<AtomicU32>,
    cache: &EndpointCache,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    let (runs, cache) = (Arc::clone(runs), cache.clone());
    move |config: &mut web::ServiceConfig| {
        let runs = Arc::clone(&runs);
        config.service(
            web::resource("/items")
                .wrap(cache.clone())
                .route(web::get().to(move |query: web::Query<Page>| {
                    let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                    let (page, per_page) = (query.page.unwrap_or(1), query.per_page.unwrap_or(20));
                    async move {
                        HttpResponse::Ok()
                            .json(json!({ "page": page, "per_page": per_page, "run": run }))
                    }
                }))
                .route(web::post().to(|| async { HttpResponse::Created().finish() })),
        );
    }
}

/// `x-cache` and body of an answer.
fn seen(answer: &Answer) -> (String, serde_json::Value) {
    let body = serde_json::from_str(&answer.body).unwrap_or_default();
    (answer.header("x-cache").unwrap_or("").to_owned(), body)
}

fn page(page: u32, per_page: u32, run: u32) -> serde_json::Value {
    json!({ "page": page, "per_page": per_page, "run": run })
}

async fn pages_are_entries(caches: Caches) {
    let runs = Arc::new(AtomicU32::new(0));
    let cache = EndpointCache::new("items:page:{page}:{per_page}")
        .query_param::<u32>("page", 1)
        .query_param::<u32>("per_page", 20)
        .invalidates_matching("items:page:*");
    let instance = Instance::start(caches.clone(), list_routes(&runs, &cache));
    let get = |path: &'static str| {
        let instance = &instance;
        async move { seen(&instance.send("GET", path, &[]).await) }
    };

    // Two pages are two entries.
    assert_eq!(
        get("/items?page=2&per_page=50").await,
        ("miss".into(), page(2, 50, 1))
    );
    assert_eq!(
        get("/items?page=3&per_page=50").await,
        ("miss".into(), page(3, 50, 2))
    );
    assert_eq!(
        get("/items?page=2&per_page=50").await,
        ("hit".into(), page(2, 50, 1))
    );
    assert_eq!(
        get("/items?page=3&per_page=50").await,
        ("hit".into(), page(3, 50, 2))
    );
    // Another order, another spelling, an undeclared parameter: the same entry.
    assert_eq!(
        get("/items?per_page=50&utm_source=x&page=02").await,
        ("hit".into(), page(2, 50, 1))
    );
    // The defaults fill in what a request leaves out.
    assert_eq!(get("/items").await, ("miss".into(), page(1, 20, 3)));
    assert_eq!(
        get("/items?page=1&per_page=20").await,
        ("hit".into(), page(1, 20, 3))
    );
    assert_eq!(get("/items?sort=id").await, ("hit".into(), page(1, 20, 3)));
    // The entries are where the README says, for the direct API and the CLI.
    let persistent = caches.persistent();
    let stored = persistent.get_raw("items:page:2:50").await.unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(r#"{"page":2,"per_page":50,"run":1}"#)
    );
    // A value that does not parse is the handler's to answer, uncached (here 400).
    let bad = instance.send("GET", "/items?page=two", &[]).await;
    assert_eq!((bad.status, bad.header("x-cache")), (400, None));
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    // A write drops every page.
    assert_eq!(instance.send("POST", "/items", &[]).await.status, 201);
    for key in ["items:page:2:50", "items:page:3:50", "items:page:1:20"] {
        assert_eq!(persistent.get_raw(key).await.unwrap(), None, "{key}");
    }
    assert_eq!(
        get("/items?page=2&per_page=50").await,
        ("miss".into(), page(2, 50, 4))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_pages_are_two_entries_and_an_undeclared_parameter_the_same_one() {
    pages_are_entries(caches(&[])).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread")]
async fn on_redis_two_pages_are_two_entries_and_a_write_drops_them_all() {
    let server = service_cache::test_support::RedisServer::start();
    pages_are_entries(caches(&[("CACHE_REDIS_URL", server.url())])).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_keyed_on_its_own_params_drops_every_page_on_a_write_without_a_pattern() {
    let runs = Arc::new(AtomicU32::new(0));
    let cache = EndpointCache::new("items:page:{page}:{per_page}")
        .query_param::<u32>("page", 1)
        .query_param::<u32>("per_page", 20);
    let caches = caches(&[]);
    let instance = Instance::start(caches.clone(), list_routes(&runs, &cache));
    for path in ["/items?page=2", "/items?page=5&per_page=10"] {
        assert_eq!(seen(&instance.send("GET", path, &[]).await).0, "miss");
        assert_eq!(seen(&instance.send("GET", path, &[]).await).0, "hit");
    }
    // The route's own key stands for all its pages on a write.
    assert_eq!(
        instance.send("POST", "/items?page=2", &[]).await.status,
        201
    );
    for path in ["/items?page=2", "/items?page=5&per_page=10"] {
        assert_eq!(
            seen(&instance.send("GET", path, &[]).await).0,
            "miss",
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_cache_reaches_the_handler_and_no_store_keeps_nothing() {
    let runs = Arc::new(AtomicU32::new(0));
    let cache = EndpointCache::new("items:page:{page}:{per_page}")
        .query_param::<u32>("page", 1)
        .query_param::<u32>("per_page", 20);
    let caches = caches(&[]);
    let instance = Instance::start(caches.clone(), list_routes(&runs, &cache));
    let get = |headers: &'static [(&'static str, &'static str)]| {
        let instance = &instance;
        async move { seen(&instance.send("GET", "/items", headers).await) }
    };
    assert_eq!(get(&[]).await, ("miss".into(), page(1, 20, 1)));
    assert_eq!(get(&[]).await, ("hit".into(), page(1, 20, 1)));
    // `no-cache` runs the handler, and its answer is stored for the next requests.
    assert_eq!(
        get(&[("Cache-Control", "no-cache")]).await,
        ("miss".into(), page(1, 20, 2))
    );
    assert_eq!(get(&[]).await, ("hit".into(), page(1, 20, 2)));
    assert_eq!(
        get(&[("Pragma", "no-cache")]).await,
        ("miss".into(), page(1, 20, 3))
    );
    // `no-store` runs the handler and keeps nothing: the stored answer is the older one.
    assert_eq!(
        get(&[("Cache-Control", "max-age=0, no-store")]).await,
        ("miss".into(), page(1, 20, 4))
    );
    assert_eq!(get(&[]).await, ("hit".into(), page(1, 20, 3)));

    // A route may refuse: then the directives are not heard.
    let deaf = Instance::start(
        caches,
        list_routes(&runs, &cache.clone().honour_request_no_cache(false)),
    );
    for directive in ["no-cache", "no-store"] {
        let answer = deaf
            .send("GET", "/items", &[("Cache-Control", directive)])
            .await;
        assert_eq!(seen(&answer), ("hit".into(), page(1, 20, 3)), "{directive}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_per_accept_language_is_stored_under_its_normalised_value() {
    let runs = Arc::new(AtomicU32::new(0));
    let cache = EndpointCache::new("greeting:{accept-language}").vary_on("Accept-Language");
    let routes =
        {
            let runs = Arc::clone(&runs);
            move |config: &mut web::ServiceConfig| {
                let runs = Arc::clone(&runs);
                config.service(web::resource("/greeting").wrap(cache.clone()).route(
                    web::get().to(move |request: HttpRequest| {
                        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                        let language = request
                            .headers()
                            .get(ACCEPT_LANGUAGE)
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or("")
                            .to_ascii_lowercase();
                        let text = if language.starts_with("fr") {
                            "bonjour"
                        } else {
                            "hello"
                        };
                        async move {
                            HttpResponse::Ok()
                                .insert_header((VARY, "Accept-Language"))
                                .json(json!({ "text": text, "run": run }))
                        }
                    }),
                ));
            }
        };
    let caches = caches(&[]);
    let instance = Instance::start(caches.clone(), routes);
    let get = |language: &'static str| {
        let instance = &instance;
        async move {
            let answer = instance
                .send("GET", "/greeting", &[("Accept-Language", language)])
                .await;
            let vary = answer.header("vary").map(str::to_ascii_lowercase);
            assert_eq!(vary.as_deref(), Some("accept-language"), "{language}");
            seen(&answer)
        }
    };
    let greeting = |text: &str, run: u32| json!({ "text": text, "run": run });
    assert_eq!(get("fr").await, ("miss".into(), greeting("bonjour", 1)));
    assert_eq!(get("en").await, ("miss".into(), greeting("hello", 2)));
    assert_eq!(get("fr").await, ("hit".into(), greeting("bonjour", 1)));
    assert_eq!(
        get(" FR ").await,
        ("hit".into(), greeting("bonjour", 1)),
        "normalised"
    );
    assert_eq!(get("en").await, ("hit".into(), greeting("hello", 2)));
    // Key syntax in a value is escaped: it names no other entry.
    assert_eq!(get("fr:*").await, ("miss".into(), greeting("bonjour", 3)));
    let persistent = caches.persistent();
    assert!(persistent.get_raw("greeting:fr").await.unwrap().is_some());
    assert!(
        persistent
            .get_raw("greeting:fr%3A%2A")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_decides_which_answers_are_stored_and_for_how_long() {
    let runs = Arc::new(AtomicU32::new(0));
    // Pages past the third are empty, and not stored; page 2 says its own TTL.
    let cache = EndpointCache::new("items:page:{page}:{per_page}")
        .query_param::<u32>("page", 1)
        .query_param::<u32>("per_page", 20)
        .ttl(Duration::from_secs(3600))
        .store_if(|json| !json.get().contains(r#""page":9"#))
        .ttl_from(|json| {
            let body: serde_json::Value = serde_json::from_str(json.get()).ok()?;
            (body["page"] == 2).then_some(Duration::from_millis(300))
        });
    let caches = caches(&[]);
    let instance = Instance::start(caches.clone(), list_routes(&runs, &cache));
    let get = |path: &'static str| {
        let instance = &instance;
        async move { seen(&instance.send("GET", path, &[]).await).0 }
    };
    assert_eq!(get("/items?page=9").await, "miss");
    assert_eq!(get("/items?page=9").await, "miss", "declined, not stored");
    assert_eq!(
        caches
            .persistent()
            .get_raw("items:page:9:20")
            .await
            .unwrap(),
        None
    );

    assert_eq!(get("/items?page=2").await, "miss");
    assert_eq!(get("/items?page=1").await, "miss");
    let ttl = caches
        .persistent()
        .ttl("items:page:2:20")
        .await
        .unwrap()
        .unwrap();
    assert!(
        ttl <= Duration::from_millis(300),
        "the answer's own TTL, {ttl:?}"
    );
    let ttl = caches
        .persistent()
        .ttl("items:page:1:20")
        .await
        .unwrap()
        .unwrap();
    assert!(ttl > Duration::from_secs(3500), "the route's TTL, {ttl:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        get("/items?page=2").await,
        "miss",
        "expired after its own TTL"
    );
    assert_eq!(get("/items?page=1").await, "hit");
}
