//! [`RateLimit`] over real HTTP: a budget shared by two instances on one Redis, the
//! draft's `RateLimit-Policy` and `RateLimit` fields and `Retry-After`, clients told apart by a header, and
//! requests let through when Redis is down.

use std::time::{Duration, SystemTime};

use actix_web::{HttpResponse, web};

use service_cache::rate_limit::RateLimit;
use service_cache::test_support::RedisServer;
use service_cache::{CacheSettings, Caches};

use crate::http::Instance;

/// The window of these tests: long, so that no test crosses two windows (each waits
/// for a new one when the current has less than a minute left).
const WINDOW: Duration = Duration::from_secs(3600);

fn caches(server: &RedisServer) -> Caches {
    let settings = CacheSettings::from_vars([
        ("CACHE_PREFIX", "rate-limit".to_owned()),
        ("CACHE_REDIS_URL", server.url()),
        ("CACHE_REDIS_TIMEOUT_MS", "200".to_owned()),
    ])
    .expect("valid settings");
    Caches::from_settings(&settings)
}

/// `GET /hello` behind `limit`.
fn routes(limit: RateLimit) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    move |config: &mut web::ServiceConfig| {
        config.service(
            web::resource("/hello")
                .wrap(limit.clone())
                .route(web::get().to(|| async { HttpResponse::Ok().body("hi") })),
        );
    }
}

/// The `r` (remaining) parameter of a `RateLimit` field: `"name";r=4;t=60`.
fn remaining(field: &str) -> u64 {
    field
        .split(';')
        .find_map(|part| part.strip_prefix("r="))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no r= in {field:?}"))
}

/// Waits for a new window when the current one ends within a minute.
async fn well_inside_a_window() {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let left = WINDOW.as_millis() - now.as_millis() % WINDOW.as_millis();
    if left < 60_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(left).unwrap() + 100)).await;
    }
}

async fn exactly_the_limit_passes_across_two_instances(limit: RateLimit) {
    let server = RedisServer::start();
    let a = Instance::start(caches(&server), routes(limit.clone()));
    let b = Instance::start(caches(&server), routes(limit));
    well_inside_a_window().await;
    let mut passed = 0;
    for n in 0..8 {
        let instance = if n % 2 == 0 { &a } else { &b };
        let answer = instance.send("GET", "/hello", &[]).await;
        let policy = answer.header("ratelimit-policy").expect("a policy");
        assert!(policy.ends_with(";q=5;w=3600"), "{policy}");
        let state = answer.header("ratelimit").expect("the state");
        match answer.status {
            200 => {
                passed += 1;
                assert_eq!(remaining(state), 5 - passed, "{state}");
            }
            429 => {
                assert_eq!(remaining(state), 0, "{state}");
                let retry: u64 = answer.header("retry-after").unwrap().parse().unwrap();
                assert!(retry >= 1 && retry <= WINDOW.as_secs(), "{retry}");
            }
            status => panic!("unexpected {status}"),
        }
    }
    assert_eq!(passed, 5, "5 of 8 requests within the window");

    // Another client (by its API key) has a budget of its own.
    let keyed = a.send("GET", "/hello", &[("x-api-key", "k1")]).await;
    assert_eq!(keyed.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixed_window_lets_exactly_the_limit_through_across_instances() {
    let limit = RateLimit::new("fixed", 5, WINDOW).key_header("x-api-key");
    exactly_the_limit_passes_across_two_instances(limit).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sliding_window_lets_exactly_the_limit_through_across_instances() {
    let limit = RateLimit::new("sliding", 5, WINDOW)
        .sliding()
        .key_header("x-api-key");
    exactly_the_limit_passes_across_two_instances(limit).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_down_requests_pass() {
    let mut server = RedisServer::start();
    let instance = Instance::start(caches(&server), routes(RateLimit::new("down", 1, WINDOW)));
    well_inside_a_window().await;
    assert_eq!(instance.send("GET", "/hello", &[]).await.status, 200);
    assert_eq!(instance.send("GET", "/hello", &[]).await.status, 429);
    server.stop();
    for _ in 0..3 {
        let answer = instance.send("GET", "/hello", &[]).await;
        assert_eq!(answer.status, 200, "fails open");
        assert_eq!(
            answer.header("ratelimit-limit"),
            None,
            "nothing was counted"
        );
    }
}
