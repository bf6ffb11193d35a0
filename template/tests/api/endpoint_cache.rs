//! Endpoint caching over real HTTP: the `items` routes read through the `persistent`
//! alias and writes invalidate it; routes mounted by the tests check what the
//! middleware caches, what it never caches, and what it deletes.
{%- if redis %}
//! The Redis tests run against a real `redis-server` and look at the keys with their
//! own client.
{%- endif %}

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::web::{self, ServiceConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use service_cache::endpoint::EndpointCache;
{%- if redis %}
use service_cache::test_support::RedisServer;
{%- endif %}

{% if redis -%}
use crate::test_app::PREFIX;
{% endif -%}
use crate::test_app::{TestApp, spawn_app, spawn_app_with, spawn_app_with_routes, x_cache};

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Option<String>, Value) {
    let response = app.get(path).await;
    let status = response.status();
    let cache = x_cache(&response);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, cache, body)
}

#[tokio::test]
async fn get_is_a_miss_then_a_hit_with_the_same_body() {
    let app = spawn_app().await;
    app.put_json("/items/1", &json!({ "name": "pen" })).await;

    let (status, cache, first) = get_json(&app, "/items/1").await;
    assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("miss")));
    let (status, cache, second) = get_json(&app, "/items/1").await;
    assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("hit")));
    assert_eq!(first, second);
    assert_eq!(second["name"], "pen");

    // The entry is the body's JSON, readable with the direct cache API.
    let stored: Option<Value> = app
        .context
        .caches
        .persistent()
        .get("items:1")
        .await
        .unwrap();
    assert_eq!(stored, Some(second));
}

#[tokio::test]
async fn put_then_get_returns_the_new_value() {
    let app = spawn_app().await;
    app.put_json("/items/1", &json!({ "name": "old" })).await;
    get_json(&app, "/items/1").await;
    assert_eq!(get_json(&app, "/items/1").await.1.as_deref(), Some("hit"));

    let replaced = app.put_json("/items/1", &json!({ "name": "new" })).await;
    assert_eq!(replaced.status(), StatusCode::OK);

    let (status, cache, body) = get_json(&app, "/items/1").await;
    assert_eq!(
        (status, cache.as_deref(), &body["name"]),
        (StatusCode::OK, Some("miss"), &json!("new"))
    );
    let (_, cache, body) = get_json(&app, "/items/1").await;
    assert_eq!(
        (cache.as_deref(), &body["name"]),
        (Some("hit"), &json!("new"))
    );
}

#[tokio::test]
async fn delete_then_get_is_404_and_a_404_is_never_cached() {
    let app = spawn_app().await;
    app.put_json("/items/7", &json!({ "name": "short-lived" }))
        .await;
    get_json(&app, "/items/7").await;

    assert_eq!(
        app.delete("/items/7").await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, cache, _) = get_json(&app, "/items/7").await;
    assert_eq!(
        (status, cache.as_deref()),
        (StatusCode::NOT_FOUND, Some("miss"))
    );
    assert_eq!(get_json(&app, "/items/7").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.context
            .caches
            .persistent()
            .get_raw("items:7")
            .await
            .unwrap(),
        None
    );

    // Had the 404 been cached, the item would stay invisible after it is created again.
    app.put_json("/items/7", &json!({ "name": "back" })).await;
    let (status, _, body) = get_json(&app, "/items/7").await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("back")));
}

#[tokio::test]
async fn writes_to_an_item_also_refresh_the_cached_listing() {
    let app = spawn_app().await;
    app.put_json("/items/1", &json!({ "name": "a" })).await;
    assert_eq!(get_json(&app, "/items").await.1.as_deref(), Some("miss"));
    assert_eq!(get_json(&app, "/items").await.1.as_deref(), Some("hit"));

    app.put_json("/items/2", &json!({ "name": "b" })).await;
    let (_, cache, listing) = get_json(&app, "/items").await;
    assert_eq!(cache.as_deref(), Some("miss"));
    assert_eq!(listing.as_array().map(Vec::len), Some(2));

    app.delete("/items/1").await;
    let (_, _, listing) = get_json(&app, "/items").await;
    assert_eq!(
        listing,
        json!([{ "id": 2, "name": "b", "description": null }])
    );
}

#[tokio::test]
async fn each_page_of_the_listing_is_its_own_entry_and_writes_drop_them_all() {
    let app = spawn_app().await;
    for id in 1..=5 {
        app.put_json(
            &format!("/items/{id}"),
            &json!({ "name": format!("item {id}") }),
        )
        .await;
    }
    let ids = |listing: &Value| -> Vec<u64> {
        listing
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_u64().unwrap())
            .collect()
    };
    let (status, cache, first) = get_json(&app, "/items?page=1&per_page=2").await;
    assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("miss")));
    assert_eq!(ids(&first), [1, 2]);
    let (_, cache, second) = get_json(&app, "/items?page=2&per_page=2").await;
    assert_eq!(
        cache.as_deref(),
        Some("miss"),
        "another page, another entry"
    );
    assert_eq!(ids(&second), [3, 4]);
    // Another order, a leading zero and an undeclared parameter: the same entry.
    let (_, cache, again) = get_json(&app, "/items?per_page=02&utm=x&page=2").await;
    assert_eq!(cache.as_deref(), Some("hit"));
    assert_eq!(again, second);
    // A client asking for a fresh answer reaches the handler.
    let fresh = app
        .client
        .get(app.url("/items?page=2&per_page=2"))
        .header("cache-control", "no-cache")
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(&fresh).as_deref(), Some("miss"));

    app.delete("/items/3").await;
    let (_, cache, second) = get_json(&app, "/items?page=2&per_page=2").await;
    assert_eq!(cache.as_deref(), Some("miss"), "a write drops every page");
    assert_eq!(ids(&second), [4, 5]);
    let (_, cache, _) = get_json(&app, "/items?page=1&per_page=2").await;
    assert_eq!(cache.as_deref(), Some("miss"));
}

#[tokio::test]
async fn a_page_out_of_its_bounds_is_a_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, name) in [
        ("page=0", "page"),
        ("per_page=101", "per_page"),
        ("page=x", "page"),
    ] {
        let (status, _, body) = get_json(&app, &format!("/items?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let message = body["message"].as_str().unwrap_or_default().to_owned();
        assert!(
            message.starts_with(&format!("{name} must be a whole number from 1 to")),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn different_spellings_of_one_id_share_one_entry() {
    let app = spawn_app().await;
    app.put_json("/items/42", &json!({ "name": "old" })).await;
    assert_eq!(
        get_json(&app, "/items/042").await.1.as_deref(),
        Some("miss")
    );
    assert_eq!(get_json(&app, "/items/42").await.1.as_deref(), Some("hit"));

    app.put_json("/items/42", &json!({ "name": "new" })).await;
    assert_eq!(get_json(&app, "/items/042").await.2["name"], "new");
}

#[tokio::test]
async fn with_the_cache_disabled_answers_stay_right_and_always_miss() {
    let app = spawn_app_with(&[("CACHE_ENABLED", "false")]).await;
    app.put_json("/items/1", &json!({ "name": "first" })).await;
    for _ in 0..3 {
        let (status, cache, body) = get_json(&app, "/items/1").await;
        assert_eq!(
            (status, cache.as_deref(), &body["name"]),
            (StatusCode::OK, Some("miss"), &json!("first"))
        );
    }
    app.put_json("/items/1", &json!({ "name": "second" })).await;
    let (_, cache, body) = get_json(&app, "/items/1").await;
    assert_eq!(
        (cache.as_deref(), &body["name"]),
        (Some("miss"), &json!("second"))
    );
    app.delete("/items/1").await;
    assert_eq!(get_json(&app, "/items/1").await.0, StatusCode::NOT_FOUND);
}

/// `GET path` with `If-None-Match: tag`: status, `x-cache`, `ETag` and body.
async fn revalidate(
    app: &TestApp,
    path: &str,
    tag: &str,
) -> (StatusCode, Option<String>, Option<String>, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("if-none-match", tag)
        .send()
        .await
        .expect("GET reaches the server");
    let status = response.status();
    let cache = x_cache(&response);
    let etag = header(&response, "etag");
    (status, cache, etag, response.text().await.unwrap())
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304_from_the_cache_and_a_write_changes_the_etag() {
    let app = spawn_app().await;
    app.put_json("/items/1", &json!({ "name": "pen" })).await;
    let response = app.get("/items/1").await;
    assert_eq!(x_cache(&response).as_deref(), Some("miss"));
    let tag = header(&response, "etag").expect("a miss carries an ETag");
    let response = app.get("/items/1").await;
    assert_eq!(x_cache(&response).as_deref(), Some("hit"));
    assert_eq!(
        header(&response, "etag"),
        Some(tag.clone()),
        "the same body, the same tag"
    );
    assert_eq!(
        header(&response, "cache-control"),
        None,
        "no client caching by default"
    );

    let (status, cache, etag, body) = revalidate(&app, "/items/1", &tag).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(cache.as_deref(), Some("hit"), "answered from the cache");
    assert_eq!(etag, Some(tag.clone()));
    assert!(body.is_empty(), "{body}");
    let (status, ..) = revalidate(&app, "/items/1", &format!("\"other\", W/{tag}")).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED, "weakly, in a list");

    let (status, _, etag, body) = revalidate(&app, "/items/1", "\"0000000000000000\"").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(etag, Some(tag.clone()));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["name"], "pen");

    app.put_json("/items/1", &json!({ "name": "pencil" })).await;
    let (status, cache, etag, body) = revalidate(&app, "/items/1", &tag).await;
    assert_eq!(status, StatusCode::OK, "the old tag no longer matches");
    assert_eq!(cache.as_deref(), Some("miss"));
    assert_ne!(etag, Some(tag));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["name"],
        "pencil"
    );
    let etag = etag.expect("a new tag");
    let (status, cache, ..) = revalidate(&app, "/items/1", &etag).await;
    assert_eq!(
        (status, cache.as_deref()),
        (StatusCode::NOT_MODIFIED, Some("hit"))
    );
}

#[tokio::test]
async fn a_route_may_let_clients_keep_its_answers() {
    let routes = |cfg: &mut ServiceConfig| {
        cfg.service(
            web::resource("/rates/{day}")
                .wrap(EndpointCache::new("rates:{day}").max_age(Duration::from_secs(90)))
                .route(web::get().to(|| async { HttpResponse::Ok().json(json!({ "eur": 1.08 })) })),
        );
    };
    let app = spawn_app_with_routes(&[], routes).await;
    for expected in ["miss", "hit"] {
        let response = app.get("/rates/monday").await;
        assert_eq!(x_cache(&response).as_deref(), Some(expected));
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some("max-age=90")
        );
        assert!(header(&response, "etag").is_some());
    }
}

/// Routes that count how often their handler runs. `GET /things/{id}` answers, by id:
/// 0 → 404 JSON, 1 → 201 JSON, 2 → 500, 3 → 200 plain text, other → 200 JSON after a
/// short pause. `PUT /things/{id}` succeeds with 204 except for id 9 (409).
fn counting_routes(
    calls: Arc<AtomicUsize>,
) -> impl Fn(&mut ServiceConfig) + Send + Clone + 'static {
    move |cfg| {
        let calls = Arc::clone(&calls);
        cfg.service(
            web::resource("/users/{user}/things/{id}")
                .wrap(
                    EndpointCache::new("things:{id}")
                        .param::<u64>("id")
                        .ttl(Duration::from_secs(60))
                        .invalidates("users:{user}:things")
                        .invalidates_matching("things:{id}:*"),
                )
                .route(web::get().to(move |path: web::Path<(String, u64)>| {
                    let calls = Arc::clone(&calls);
                    async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        let (user, id) = path.into_inner();
                        match id {
                            0 => HttpResponse::NotFound().json(json!({ "error": "not_found" })),
                            1 => HttpResponse::Created().json(json!({ "id": id })),
                            2 => {
                                HttpResponse::InternalServerError().json(json!({ "error": "boom" }))
                            }
                            3 => HttpResponse::Ok().body("plain text"),
                            _ => {
                                tokio::time::sleep(Duration::from_millis(300)).await;
                                HttpResponse::Ok().json(json!({ "id": id, "user": user }))
                            }
                        }
                    }
                }))
                .route(web::put().to(|path: web::Path<(String, u64)>| async move {
                    if path.1 == 9 {
                        HttpResponse::Conflict().finish()
                    } else {
                        HttpResponse::NoContent().finish()
                    }
                })),
        );
    }
}

#[tokio::test]
async fn a_hit_skips_the_handler_and_concurrent_misses_run_it_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = spawn_app_with_routes(&[], counting_routes(Arc::clone(&calls))).await;

    let requests: Vec<_> = (0..8)
        .map(|_| {
            let request = app.client.get(app.url("/users/ann/things/5"));
            tokio::spawn(async move {
                request
                    .send()
                    .await
                    .expect("GET reaches the server")
                    .status()
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the handler ran once for eight concurrent misses"
    );

    let (status, cache, body) = get_json(&app, "/users/ann/things/5").await;
    assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("hit")));
    assert_eq!(body, json!({ "id": 5, "user": "ann" }));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn with_the_cache_disabled_every_request_runs_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = spawn_app_with_routes(
        &[("CACHE_ENABLED", "false")],
        counting_routes(Arc::clone(&calls)),
    )
    .await;
    let requests: Vec<_> = (0..4)
        .map(|_| {
            let request = app.client.get(app.url("/users/ann/things/5"));
            tokio::spawn(async move {
                let response = request.send().await.expect("GET reaches the server");
                (response.status(), x_cache(&response))
            })
        })
        .collect();
    for request in requests {
        let (status, cache) = request.await.unwrap();
        assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("miss")));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn only_200_json_answers_are_cached() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = spawn_app_with_routes(&[], counting_routes(Arc::clone(&calls))).await;
    for (id, status) in [
        (0, StatusCode::NOT_FOUND),
        (1, StatusCode::CREATED),
        (2, StatusCode::INTERNAL_SERVER_ERROR),
        (3, StatusCode::OK),
    ] {
        let before = calls.load(Ordering::SeqCst);
        for _ in 0..2 {
            let response = app.get(&format!("/users/ann/things/{id}")).await;
            assert_eq!(response.status(), status);
            assert_eq!(x_cache(&response).as_deref(), Some("miss"), "id {id}");
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            before + 2,
            "id {id} ran its handler each time"
        );
        assert_eq!(
            app.context
                .caches
                .persistent()
                .get_raw(&format!("things:{id}"))
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn a_successful_write_deletes_the_key_the_extra_keys_and_the_patterns() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = spawn_app_with_routes(&[], counting_routes(Arc::clone(&calls))).await;
    let cache = app.context.caches.persistent();
    get_json(&app, "/users/ann/things/5").await;
    for key in [
        "users:ann:things",
        "things:5:parts",
        "things:5:owner",
        "things:6:parts",
        "things:50",
    ] {
        cache.set_raw(key, "1", None).await.unwrap();
    }

    let response = app
        .client
        .put(app.url("/users/ann/things/5"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for gone in [
        "things:5",
        "users:ann:things",
        "things:5:parts",
        "things:5:owner",
    ] {
        assert_eq!(
            cache.get_raw(gone).await.unwrap(),
            None,
            "{gone} was invalidated"
        );
    }
    for kept in ["things:6:parts", "things:50"] {
        assert!(
            cache.get_raw(kept).await.unwrap().is_some(),
            "{kept} does not match and stays"
        );
    }
}

#[tokio::test]
async fn a_failed_write_still_invalidates_every_key() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = spawn_app_with_routes(&[], counting_routes(Arc::clone(&calls))).await;
    get_json(&app, "/users/ann/things/9").await;
    let cache = app.context.caches.persistent();
    cache
        .set_raw("users:ann:things", "[9]", None)
        .await
        .unwrap();
    cache
        .set_raw("things:9:owner", "\"ann\"", None)
        .await
        .unwrap();

    // The handler refuses the write (409), yet what it may have half-changed is dropped.
    let response = app
        .client
        .put(app.url("/users/ann/things/9"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    for key in ["things:9", "users:ann:things", "things:9:owner"] {
        assert_eq!(cache.get_raw(key).await.unwrap(), None, "{key} survived");
    }
    assert_eq!(
        get_json(&app, "/users/ann/things/9").await.1.as_deref(),
        Some("miss")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_delete_answered_404_drops_an_entry_the_store_no_longer_has() {
    let app = spawn_app().await;
    // An answer cached for an item the repository does not have (a restart emptied it).
    let cache = app.context.caches.persistent();
    cache
        .set_raw(
            "items:7",
            r#"{"id":7,"name":"ghost","description":null}"#,
            None,
        )
        .await
        .unwrap();
    assert_eq!(get_json(&app, "/items/7").await.1.as_deref(), Some("hit"));

    assert_eq!(app.delete("/items/7").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(cache.get_raw("items:7").await.unwrap(), None);
    assert_eq!(get_json(&app, "/items/7").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_method_the_resource_does_not_route_leaves_its_cached_answer() {
    let app = spawn_app().await;
    app.put_json("/items/1", &json!({ "name": "pen" })).await;
    get_json(&app, "/items/1").await;
    for method in [reqwest::Method::POST, reqwest::Method::PATCH] {
        let response = app
            .client
            .request(method.clone(), app.url("/items/1"))
            .send()
            .await
            .expect("the write reaches the server");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
    assert_eq!(
        get_json(&app, "/items/1").await.1.as_deref(),
        Some("hit"),
        "routing's 405 invalidated nothing"
    );
}

#[tokio::test]
async fn a_write_cut_off_by_the_shutdown_grace_is_still_invalidated() {
    let written = Arc::new(AtomicUsize::new(0));
    let routes = {
        let written = Arc::clone(&written);
        move |cfg: &mut ServiceConfig| {
            let written = Arc::clone(&written);
            cfg.service(
                web::resource("/notes/{id}")
                    .wrap(EndpointCache::new("notes:{id}"))
                    .route(web::get().to(|| async { HttpResponse::Ok().json(json!({ "v": 1 })) }))
                    // Writes, then runs far past the shutdown grace.
                    .route(web::put().to(move || {
                        written.fetch_add(1, Ordering::SeqCst);
                        async {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            HttpResponse::NoContent().finish()
                        }
                    })),
            );
        }
    };
    let app = spawn_app_with_routes(&[("APP_SHUTDOWN_TIMEOUT_MS", "200")], routes).await;
    get_json(&app, "/notes/1").await;
    let cache = app.context.caches.persistent().clone();
    assert!(cache.get_raw("notes:1").await.unwrap().is_some());

    let write = tokio::spawn(app.client.put(app.url("/notes/1")).send());
    while written.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The grace runs out and the server's worker drops the write with its runtime.
    app.stop().await.expect("the server stops");
    assert!(write.await.unwrap().is_err(), "the write was cut off");
    let gone = async {
        while cache.get_raw("notes:1").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("the cut-off write was invalidated");
}

#[tokio::test]
async fn an_answer_for_its_own_client_only_is_never_stored() {
    let routes = |cfg: &mut ServiceConfig| {
        cfg.service(
            web::resource("/answers/{kind}")
                .wrap(EndpointCache::new("answers:{kind}"))
                .route(web::get().to(|kind: web::Path<String>| async move {
                    let mut response = HttpResponse::Ok();
                    match kind.as_str() {
                        "cookie" => response.insert_header(("set-cookie", "session=s3cret")),
                        "private" => response.insert_header(("cache-control", "private")),
                        "no-store" => response.insert_header(("cache-control", "no-store")),
                        "vary" => response.insert_header(("vary", "Cookie")),
                        _ => &mut response,
                    };
                    response.json(json!({ "for": "me" }))
                })),
        );
    };
    let app = spawn_app_with_routes(&[], routes).await;
    for (kind, header, value) in [
        ("cookie", "set-cookie", "session=s3cret"),
        ("private", "cache-control", "private"),
        ("no-store", "cache-control", "no-store"),
        ("vary", "vary", "Cookie"),
    ] {
        for _ in 0..2 {
            let response = app.get(&format!("/answers/{kind}")).await;
            assert_eq!(x_cache(&response).as_deref(), Some("miss"), "{kind}");
            assert_eq!(response.headers()[header], value, "{kind}");
            assert_eq!(
                response.json::<Value>().await.unwrap(),
                json!({ "for": "me" })
            );
        }
        let key = format!("answers:{kind}");
        let stored = app.context.caches.persistent().get_raw(&key).await.unwrap();
        assert_eq!(stored, None, "{kind}");
    }
    app.get("/answers/plain").await;
    assert_eq!(
        x_cache(&app.get("/answers/plain").await).as_deref(),
        Some("hit")
    );
}

#[tokio::test]
async fn a_path_value_with_glob_characters_cannot_widen_a_pattern() {
    let routes = |cfg: &mut ServiceConfig| {
        cfg.service(
            web::resource("/tags/{tag}")
                .wrap(EndpointCache::new("tags:{tag}").invalidates_matching("tags:{tag}:*"))
                .route(web::delete().to(|| async { HttpResponse::NoContent().finish() })),
        );
    };
    let app = spawn_app_with_routes(&[], routes).await;
    let cache = app.context.caches.persistent();
    cache.set_raw("tags:rust:posts", "1", None).await.unwrap();

    let response = app.delete("/tags/*").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        cache.get_raw("tags:rust:posts").await.unwrap().is_some(),
        "`*` from the path matched nothing"
    );

    app.delete("/tags/rust").await;
    assert_eq!(
        cache.get_raw("tags:rust:posts").await.unwrap(),
        None,
        "the pattern works for a plain value"
    );
}

{%- if redis %}

#[tokio::test]
async fn on_redis_the_entry_is_readable_json_with_the_route_ttl() {
    let redis = RedisServer::start();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = spawn_app_with_routes(
        &[("CACHE_REDIS_URL", &redis.url())],
        counting_routes(Arc::clone(&calls)),
    )
    .await;
    get_json(&app, "/users/ann/things/5").await;

    let mut client = redis.client();
    let key = format!("{PREFIX}:v1:things:5");
    let stored: String = redis::cmd("GET").arg(&key).query(&mut client).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&stored).unwrap(),
        json!({ "id": 5, "user": "ann" })
    );
    let ttl_ms: i64 = redis::cmd("PTTL").arg(&key).query(&mut client).unwrap();
    assert!(
        (1..=60_000).contains(&ttl_ms),
        "the route's 60 s TTL, not the alias default: {ttl_ms} ms"
    );

    let parts = format!("{PREFIX}:v1:things:5:parts");
    let set = redis::cmd("SET")
        .arg(&parts)
        .arg("1")
        .query::<()>(&mut client);
    set.expect("plant a sub-key");
    let response = app.client.put(app.url("/users/ann/things/5")).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::NO_CONTENT);
    let exists = redis::cmd("EXISTS")
        .arg(&key)
        .arg(&parts)
        .query(&mut client);
    assert_eq!(
        exists,
        Ok(0_u64),
        "the key and its sub-key are gone from Redis"
    );
}

#[tokio::test]
async fn a_value_in_redis_that_is_not_json_is_a_miss_and_is_replaced() {
    let redis = RedisServer::start();
    let app = spawn_app_with(&[("CACHE_REDIS_URL", &redis.url())]).await;
    app.put_json("/items/1", &json!({ "name": "pen" })).await;
    get_json(&app, "/items/1").await;
    assert_eq!(get_json(&app, "/items/1").await.1.as_deref(), Some("hit"));

    // Anyone with redis-cli can write under the service's keys.
    let mut client = redis.client();
    let key = format!("{PREFIX}:v1:items:1");
    let set = redis::cmd("SET")
        .arg(&key)
        .arg("{\"name\": \"pen")
        .query::<()>(&mut client);
    set.expect("corrupt the entry");
    // The L1 drops its copy when Redis' invalidation arrives, a moment after the write:
    // until then the good copy is served; never the broken text.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let body = loop {
        let response = app.get("/items/1").await;
        let cache = x_cache(&response);
        let body: Value =
            serde_json::from_str(&response.text().await.unwrap()).expect("the answer is JSON");
        assert_eq!(body["name"], "pen");
        if cache.as_deref() == Some("miss") {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the broken value never replaced the L1's copy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let stored: String = redis::cmd("GET").arg(&key).query(&mut client).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&stored).unwrap(), body);
    assert_eq!(get_json(&app, "/items/1").await.1.as_deref(), Some("hit"));
}

#[tokio::test]
async fn with_redis_down_items_are_served_and_hits_resume_when_it_returns() {
    let mut redis = RedisServer::start();
    let app = spawn_app_with(&[
        ("CACHE_REDIS_URL", &redis.url()),
        ("CACHE_REDIS_TIMEOUT_MS", "300"),
    ])
    .await;
    app.put_json("/items/1", &json!({ "name": "pen" })).await;
    get_json(&app, "/items/1").await;
    assert_eq!(get_json(&app, "/items/1").await.1.as_deref(), Some("hit"));

    redis.stop();
    // Every read is answered. The L1 may answer the first ones, until its tracking
    // connection reports the drop (at once, unless the machine is busy); from then on
    // each read is a miss served by the handler.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut misses = 0;
    while misses < 3 {
        let (status, cache, body) = get_json(&app, "/items/1").await;
        assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("pen")));
        match cache.as_deref() {
            Some("miss") => misses += 1,
            other => {
                assert_eq!(misses, 0, "a {other:?} after a miss while Redis is down");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "still {other:?} 5 s after Redis stopped"
                );
            }
        }
    }
    // Writes still work; the restarted Redis is empty, so nothing stale is left.
    let replaced = app.put_json("/items/1", &json!({ "name": "pencil" })).await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["persistent"]["status"], "down");
    assert_eq!(body["checks"]["persistent"]["backend"], "redis");
    assert!(
        body["checks"]["persistent"]["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty() && !reason.contains(' ')),
        "{body}"
    );
    assert_eq!(body["checks"]["memory"]["status"], "up");

    redis.restart();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, cache, body) = get_json(&app, "/items/1").await;
        assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("pencil")));
        if cache.as_deref() == Some("hit") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no cache hit within 15 s of Redis coming back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/ready").await.status(), StatusCode::OK);
}
{%- endif %}
