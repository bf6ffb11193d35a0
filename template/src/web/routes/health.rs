//! Probes for orchestrators: `GET /health` (liveness) and `GET /ready` (readiness).
//!
//! Liveness answers as long as the process can serve HTTP and never touches a
//! dependency, so an outage elsewhere does not get healthy instances restarted.
{%- if cache or database != "none" %}
//! Readiness checks every dependency{% if cache %} (each cache alias{% if database != "none" %}, and the database{% endif %}){% else %} (the database){% endif %} and answers 503 naming
//! the one that is down and why in one word (`refused`, `timeout`, `tls`, ...){% if cache %}, with
//! each alias's hit, miss and error counters{% endif %}. The probe needs no credentials, so its body names no address, node
//! or certificate: the full error goes to the log, and into the body only with
{%- if cache %}
//! `APP_READY_DETAILS=true`. The service still answers while not ready (the cache fails
//! open), only slower; whether to route traffic away is the platform's call.
{%- else %}
//! `APP_READY_DETAILS=true`.
{%- endif %}
{%- endif %}
{%- if cache or database != "none" %}

use std::collections::BTreeMap;
{%- endif %}

use actix_web::{HttpResponse, web};
use serde::Serialize;
{%- if cache or database != "none" %}

use crate::context::AppContext;
{%- endif %}
{%- if cache %}
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

{%- if cache or database != "none" %}

/// The body of `GET /ready`.
#[derive(Debug, Serialize)]
struct Readiness {
    /// `ready`, or `unavailable` when a check failed.
    status: &'static str,
    /// One entry per dependency, by name{% if cache %} (the cache aliases: `memory`, `persistent`{% if database != "none" %}; `database`{% endif %}){% else %} (`database`){% endif %}.
    checks: BTreeMap<String, Check>,
}

/// The outcome of one dependency check.
#[derive(Debug, Serialize)]
struct Check {
    /// `up` or `down`.
    status: &'static str,
    /// What the dependency runs on ({% if cache %}for a cache alias: `memory`, `redis` or `disabled`{% if database != "none" %}; for
    /// the database: `{{database}}`{% endif %}{% else %}`{{database}}`{% endif %}).
    backend: String,
    /// Why it is down, in one word; absent when it is up.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// The whole error, addresses included: only with `APP_READY_DETAILS=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
{%- if cache and database != "none" %}
    /// A cache alias's hit, miss and error counters since start-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<CacheStats>,
    /// A cache alias's invalidations Redis has not taken yet (sent as soon as it answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_invalidations: Option<usize>,
{%- elsif cache %}
    /// The alias's hit, miss and error counters since start-up.
    stats: CacheStats,
    /// Invalidations Redis has not taken yet (sent as soon as it answers).
    pending_invalidations: usize,
{%- endif %}
}

async fn ready(context: web::Data<AppContext>) -> HttpResponse {
    let mut checks = BTreeMap::new();
    let details = context.settings.app.ready_details;
{%- if cache %}
    // Each ping gives up within the backend's timeout (CACHE_REDIS_TIMEOUT_MS for Redis).
    // Add a check here for every other dependency the service needs.
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
{%- if database != "none" %}
            stats: Some(cache.stats()),
            pending_invalidations: Some(cache.pending_invalidations()),
{%- else %}
            stats: cache.stats(),
            pending_invalidations: cache.pending_invalidations(),
{%- endif %}
        };
        checks.insert(alias.to_string(), check);
    }
{%- endif %}
{%- if database != "none" %}
    checks.insert("database".to_owned(), database_check(&context, details).await);
{%- endif %}
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

{%- if database != "none" %}

/// The database's check: a trivial query, bounded by `DATABASE_TIMEOUT_MS`.
async fn database_check(context: &AppContext, details: bool) -> Check {
    let (status, reason, error) = match context.database.ping().await {
        Ok(()) => ("up", None, None),
        Err(error) => {
            tracing::warn!(%error, "readiness: the database is down");
            ("down", Some(error.reason()), details.then(|| error.to_string()))
        }
    };
    Check {
        status,
        backend: "{{database}}".to_owned(),
        reason,
        error,
{%- if cache %}
        stats: None,
        pending_invalidations: None,
{%- endif %}
    }
}
{%- endif %}
{%- if cache %}

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
{%- endif %}
{%- else %}

async fn ready() -> HttpResponse {
    // Nothing to check yet: add a check for each dependency the service gains (a
    // database ping, …) and answer 503 while one is down.
    HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "checks": {} }))
}
{%- endif %}
