//! What [`RateLimit`] costs a request in process: `BENCH_VARIANT=plain|limited` serves
//! `BENCH_REQUESTS` requests (default 10,000) to one route through actix-web's service
//! stack, without or with the limiter (a budget no request reaches, so every request is
//! counted and passes). Meant for callgrind, which counts the instructions:
//!
//! ```sh
//! for variant in plain limited; do for n in 1000 11000; do
//!   BENCH_VARIANT=$variant BENCH_REQUESTS=$n valgrind --tool=callgrind \
//!     --callgrind-out-file=rl-$variant-$n target/release/deps/rate_limit-<hash>
//! done; done
//! ```
//!
//! Instructions per request = (count at 11,000 − count at 1,000) ÷ 10,000, for each
//! variant; the limiter's cost is the difference (docs/PERFORMANCE.md).

use actix_web::{App, HttpResponse, test, web};

use service_cache::rate_limit::RateLimit;
use service_cache::{CacheSettings, Caches};

fn main() {
    let limited = match std::env::var("BENCH_VARIANT").as_deref() {
        Ok("limited") => true,
        Ok("plain") | Err(_) => false,
        Ok(other) => panic!("BENCH_VARIANT={other:?}: expected plain or limited"),
    };
    let requests: u32 = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000);
    actix_web::rt::System::new().block_on(async move {
        let caches = Caches::from_settings(&CacheSettings::default());
        let limit = RateLimit::per_minute("bench", u64::MAX);
        let app = test::init_service(
            App::new().app_data(web::Data::new(caches)).service(
                web::resource("/hello")
                    .wrap(actix_web::middleware::Condition::new(limited, limit))
                    .route(web::get().to(|| async { HttpResponse::Ok().body("hi") })),
            ),
        )
        .await;
        for _ in 0..requests {
            let request = test::TestRequest::get().uri("/hello").to_request();
            let response = test::call_service(&app, request).await;
            assert!(response.status().is_success());
        }
        println!(
            "{requests} requests, rate limit {}",
            if limited { "on" } else { "off" }
        );
    });
}
