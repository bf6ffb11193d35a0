//! Several replicas on one Redis, in each mode the service supports (one server, a Redis
//! Cluster, Sentinel), and failovers while requests keep coming.
//!
//! Two instances here are two servers in this test process, each with its own context,
//! caches and Redis connections, sharing only Redis and a stand-in database, as replicas
//! behind a load balancer share them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpResponse, http::StatusCode as ActixStatus};
use reqwest::StatusCode;
use serde_json::json;
use service_cache::endpoint::EndpointCache;
use service_cache::test_support::{RedisCluster, RedisSentinel, RedisServer};

use crate::test_app::{TestApp, spawn_app_with, spawn_app_with_routes, x_cache};

/// `CACHE_REDIS_TIMEOUT_MS` in the failover tests.
const TIMEOUT_MS: u64 = 300;

/// How long one cache operation may take while Redis fails over: the timeout plus a
/// margin for a loaded machine, never a tight bound.
const OPERATION_BOUND: Duration = Duration::from_millis(TIMEOUT_MS + 1_200);

/// How long one request may take then: a miss reads and writes the cache, so two
/// operations, plus the same margin.
const REQUEST_BOUND: Duration = Duration::from_millis(2 * TIMEOUT_MS + 1_200);

/// The database both instances share.
#[derive(Clone, Default)]
struct SharedDatabase(Arc<Mutex<HashMap<u64, String>>>);

/// `/notes/{id}`: read through the endpoint cache, `PUT` invalidates it.
fn notes(database: SharedDatabase) -> impl Fn(&mut ServiceConfig) + Send + Clone + 'static {
    move |cfg: &mut ServiceConfig| {
        cfg.app_data(web::Data::new(database.clone())).service(
            web::resource("/notes/{id}")
                .wrap(EndpointCache::new("notes:{id}").param::<u64>("id"))
                .route(web::get().to(get_note))
                .route(web::put().to(put_note)),
        );
    }
}

async fn get_note(id: web::Path<u64>, database: web::Data<SharedDatabase>) -> HttpResponse {
    let notes = database.0.lock().unwrap_or_else(PoisonError::into_inner);
    match notes.get(&id) {
        Some(text) => HttpResponse::Ok().json(json!({ "id": *id, "text": text })),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn put_note(
    id: web::Path<u64>,
    text: String,
    database: web::Data<SharedDatabase>,
) -> HttpResponse {
    let mut notes = database.0.lock().unwrap_or_else(PoisonError::into_inner);
    notes.insert(*id, text);
    HttpResponse::new(ActixStatus::NO_CONTENT)
}

/// The `text` of `GET /notes/{id}` and its `x-cache`.
async fn read_note(app: &TestApp, id: u64) -> (String, Option<String>) {
    let response = app.get(&format!("/notes/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cache = x_cache(&response);
    let body: serde_json::Value = response.json().await.unwrap();
    (body["text"].as_str().unwrap_or_default().to_owned(), cache)
}

async fn write_note(app: &TestApp, id: u64, text: &str) {
    let response = app
        .client
        .put(app.url(&format!("/notes/{id}")))
        .body(text.to_owned())
        .send()
        .await
        .expect("PUT reaches the server");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// Two instances on the Redis that `vars` name: each sees the other's writes through the
/// persistent alias, and a write through one invalidates what the other serves.
async fn two_instances_share_the_persistent_alias(vars: &[(&str, &str)]) {
    let database = SharedDatabase::default();
    let first = spawn_app_with_routes(vars, notes(database.clone())).await;
    let second = spawn_app_with_routes(vars, notes(database)).await;

    first
        .context
        .caches
        .persistent()
        .set("greeting", "from the first", None)
        .await
        .unwrap();
    assert_eq!(
        second
            .context
            .caches
            .persistent()
            .get::<String>("greeting")
            .await
            .unwrap()
            .as_deref(),
        Some("from the first")
    );

    write_note(&first, 1, "draft").await;
    assert_eq!(
        read_note(&second, 1).await,
        ("draft".into(), Some("miss".into()))
    );
    assert_eq!(
        read_note(&second, 1).await,
        ("draft".into(), Some("hit".into()))
    );
    write_note(&first, 1, "final").await;
    // The second instance's L1 copy goes when Redis's invalidation message reaches it:
    // well under a millisecond on a quiet machine, later on a loaded one, so the old
    // answer may still be read in that moment, never for long.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut answer = read_note(&second, 1).await;
    while answer.0 == "draft" {
        assert!(
            Instant::now() < deadline,
            "the second instance still serves the old answer 2 s after the write"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        answer = read_note(&second, 1).await;
    }
    assert_eq!(
        answer,
        ("final".into(), Some("miss".into())),
        "the write through the first instance dropped the second's cached answer"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_redis_server() {
    let server = RedisServer::start();
    two_instances_share_the_persistent_alias(&[("CACHE_REDIS_URL", &server.url())]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_a_redis_cluster() {
    let cluster = RedisCluster::start();
    two_instances_share_the_persistent_alias(&[(
        "CACHE_REDIS_CLUSTER_NODES",
        &cluster.nodes_var(),
    )])
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_through_sentinel() {
    let sentinel = RedisSentinel::start();
    let [(nodes, nodes_value), (master, master_value)] = sentinel.vars();
    two_instances_share_the_persistent_alias(&[(nodes, &nodes_value), (master, &master_value)])
        .await;
}

/// `GET /items/{id}` for every id: each answers 200 within [`REQUEST_BOUND`].
async fn every_item_answers(app: &TestApp, ids: &[u64]) {
    for id in ids {
        let started = Instant::now();
        let response = app.get(&format!("/items/{id}")).await;
        let took = started.elapsed();
        assert_eq!(response.status(), StatusCode::OK, "item {id}");
        assert!(took < REQUEST_BOUND, "item {id} took {took:?}");
    }
}

/// A set and a get of a key per id, each back within [`OPERATION_BOUND`], succeeding or
/// not.
async fn every_operation_is_bounded(app: &TestApp, ids: &[u64]) {
    let cache = app.context.caches.persistent();
    for id in ids {
        let started = Instant::now();
        let _ = cache.set(&format!("probe:{id}"), id, None).await;
        let _ = cache.get::<u64>(&format!("probe:{id}")).await;
        let took = started.elapsed();
        assert!(
            took < 2 * OPERATION_BOUND,
            "cache operations on {id} took {took:?}"
        );
    }
}

/// Waits (at most 30 s) until reading each item twice gives a hit the second time.
async fn hits_resume(app: &TestApp, ids: &[u64]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in ids {
        loop {
            let path = format!("/items/{id}");
            let _ = app.get(&path).await;
            let response = app.get(&path).await;
            if response.status() == StatusCode::OK && x_cache(&response).as_deref() == Some("hit") {
                break;
            }
            assert!(Instant::now() < deadline, "item {id} is never a hit again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Creates `ids` through `app` and reads each twice, so every one is cached.
async fn cache_items(app: &TestApp, ids: &[u64]) {
    for id in ids {
        let response = app
            .put_json(
                &format!("/items/{id}"),
                &json!({ "name": format!("item {id}") }),
            )
            .await;
        assert!(response.status().is_success());
    }
    hits_resume(app, ids).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_primary_failing_over_keeps_every_answer_and_hits_come_back() {
    let mut cluster = RedisCluster::start();
    let timeout = TIMEOUT_MS.to_string();
    let app = spawn_app_with(&[
        ("CACHE_REDIS_CLUSTER_NODES", &cluster.nodes_var()),
        ("CACHE_REDIS_TIMEOUT_MS", &timeout),
    ])
    .await;
    // Enough ids that every primary holds some of them.
    let ids: Vec<u64> = (1..=30).collect();
    cache_items(&app, &ids).await;

    cluster.kill_primary_of(&format!("{}:v1:items:1", crate::test_app::PREFIX));
    // Keep serving while the replica takes over, and for a while after.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        every_item_answers(&app, &ids).await;
        every_operation_is_bounded(&app, &ids[..5]).await;
    }
    cluster.wait_until_healthy();
    hits_resume(&app, &ids).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sentinel_failover_keeps_every_answer_and_hits_come_back() {
    let sentinel = RedisSentinel::start();
    let timeout = TIMEOUT_MS.to_string();
    let [(nodes, nodes_value), (master, master_value)] = sentinel.vars();
    let app = spawn_app_with(&[
        (nodes, &nodes_value),
        (master, &master_value),
        ("CACHE_REDIS_TIMEOUT_MS", &timeout),
    ])
    .await;
    let ids: Vec<u64> = (1..=10).collect();
    cache_items(&app, &ids).await;

    let failover = tokio::task::spawn_blocking(move || {
        let mut sentinel = sentinel;
        sentinel.fail_over();
        sentinel
    });
    while !failover.is_finished() {
        every_item_answers(&app, &ids).await;
        every_operation_is_bounded(&app, &ids[..3]).await;
    }
    let _sentinel = failover.await.unwrap();
    hits_resume(&app, &ids).await;
}
