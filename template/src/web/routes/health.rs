//! Probes for orchestrators: `GET /health` (liveness) and `GET /ready` (readiness).
//!
//! Liveness answers as long as the process can serve HTTP and never touches a
//! dependency, so an outage elsewhere does not get healthy instances restarted.
{%- if cache %}
//! Readiness pings every cache alias and answers 503 naming the one that is down and
//! why in one word (`refused`, `timeout`, `tls`, ...), with each alias's hit, miss and
//! error counters. The probe needs no credentials, so its body names no address, node
//! or certificate: the full error goes to the log, and into the body only with
//! `APP_READY_DETAILS=true`. The service still answers while not ready (the cache fails
//! open), only slower; whether to route traffic away is the platform's call.
{%- endif %}
{%- if cache %}

use std::collections::BTreeMap;
{%- endif %}

use actix_web::{HttpResponse, web};
use serde::Serialize;
{%- if cache %}

use crate::context::AppContext;
use crate::services::cache::{Alias, CacheError, CacheStats};
{%- endif %}

/// Mounts `/health` and `/ready`. As resources (not `cfg.route`), so that another
/// method gets a 405 with `allow` rather than a 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/health").route(web::get().to(health)))
        .service(super::resource("/ready").route(web::get().to(ready)));
}

/// The body of `GET /health`.
#[derive(Debug, Serialize)]
struct Health {
    /// Always `ok`: answering at all is the signal.
    status: &'static str,
    /// The service's version (`Cargo.toml`).
    version: &'static str,
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

{%- if cache %}

/// The body of `GET /ready`.
#[derive(Debug, Serialize)]
struct Readiness {
    /// `ready`, or `unavailable` when a check failed.
    status: &'static str,
    /// One entry per dependency, by name (the cache aliases: `memory`, `persistent`).
    checks: BTreeMap<String, Check>,
}

/// The outcome of one dependency check.
#[derive(Debug, Serialize)]
struct Check {
    /// `up` or `down`.
    status: &'static str,
    /// What the dependency runs on (for a cache alias: `memory`, `redis` or `disabled`).
    backend: String,
    /// Why it is down, in one word ([`reason`]); absent when it is up.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// The whole error, addresses included: only with `APP_READY_DETAILS=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The alias's hit, miss and error counters since start-up.
    stats: CacheStats,
    /// Invalidations Redis has not taken yet (sent as soon as it answers).
    pending_invalidations: usize,
}

async fn ready(context: web::Data<AppContext>) -> HttpResponse {
    let mut checks = BTreeMap::new();
    let details = context.settings.app.ready_details;
    // Each ping gives up within the backend's timeout (CACHE_REDIS_TIMEOUT_MS for Redis).
    // Add a check here for every other dependency the service needs (a database, …).
    for alias in Alias::ALL {
        let cache = context.caches.get(alias);
        let (status, reason, error) = match cache.ping().await {
            Ok(()) => ("up", None, None),
            Err(error) => {
                tracing::warn!(%alias, %error, "readiness: the {alias} cache is down");
                ("down", Some(reason(&error)), details.then(|| error.to_string()))
            }
        };
        let check = Check {
            status,
            backend: cache.backend().to_string(),
            reason,
            error,
            stats: cache.stats(),
            pending_invalidations: cache.pending_invalidations(),
        };
        checks.insert(alias.to_string(), check);
    }
    if checks.values().all(|check| check.status == "up") {
        HttpResponse::Ok().json(Readiness {
            status: "ready",
            checks,
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Readiness {
            status: "unavailable",
            checks,
        })
    }
}

/// Why a cache is down, in one word that names no address, host or certificate.
fn reason(error: &CacheError) -> &'static str {
    match error {
        CacheError::Queued(cause) => reason(cause),
        CacheError::Refused(_) => "refused",
        CacheError::Timeout(_) => "timeout",
        CacheError::Tls(_) => "tls",
        CacheError::AuthenticationFailed | CacheError::AuthenticationRequired => "auth",
        CacheError::Unavailable(_) | CacheError::Backoff(_) => "unreachable",
        CacheError::Backend(_) => "refusing",
        _ => "error",
    }
}
{%- else %}

async fn ready() -> HttpResponse {
    // Nothing to check yet: add a check for each dependency the service gains (a
    // database ping, …) and answer 503 while one is down.
    HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "checks": {} }))
}
{%- endif %}
