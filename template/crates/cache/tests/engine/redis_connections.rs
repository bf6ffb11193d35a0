//! Connecting to Redis as production runs it: TLS with a private CA and client
//! certificates, passwords and ACL users. Each failure must say what it is (refused,
//! TLS, wrong or missing credentials, timeout) within the timeout, and never show a
//! secret. Real servers only: a TLS-only `redis-server` with certificates made by
//! `openssl` for the test, and plain servers with `requirepass` and an ACL user.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use service_cache::CacheSettings;
use service_cache::test_support::capture_logs;
use service_cache::{CacheError, Caches};

use service_cache::test_support::{RedisServer, TlsRedisServer};

/// `CACHE_REDIS_TIMEOUT_MS` here.
const TIMEOUT_MS: u64 = 500;

/// How long a failing operation may take: the timeout plus a margin for a slow machine.
const BOUND: Duration = Duration::from_millis(TIMEOUT_MS + 1_500);

fn caches(vars: &[(&str, &str)]) -> Caches {
    let timeout = TIMEOUT_MS.to_string();
    let mut all = vec![
        ("CACHE_PREFIX", "connections"),
        ("CACHE_REDIS_TIMEOUT_MS", timeout.as_str()),
    ];
    all.extend_from_slice(vars);
    let settings = CacheSettings::from_vars(all).expect("valid settings");
    Caches::from_settings(&settings)
}

/// A round trip through the persistent alias works.
async fn works(caches: &Caches) {
    let cache = caches.persistent();
    cache.set("greeting", "hello", None).await.expect("set");
    assert_eq!(
        cache
            .get::<String>("greeting")
            .await
            .expect("get")
            .as_deref(),
        Some("hello")
    );
}

/// The error of a `get`, which must come back within [`BOUND`].
async fn failure(caches: &Caches) -> CacheError {
    let started = Instant::now();
    let error = caches
        .persistent()
        .get::<String>("greeting")
        .await
        .expect_err("the connection must fail");
    assert!(
        started.elapsed() < BOUND,
        "{error} took {:?}",
        started.elapsed()
    );
    error
}

#[tokio::test]
async fn tls_with_the_ca_file_works() {
    let server = TlsRedisServer::start(false);
    let ca = server.certificates.path("ca.pem");
    works(&caches(&[
        ("CACHE_REDIS_URL", &server.url()),
        ("CACHE_REDIS_TLS_CA_FILE", &ca),
    ]))
    .await;
}

#[tokio::test]
async fn tls_to_a_private_ca_without_the_ca_file_fails_as_tls() {
    let server = TlsRedisServer::start(false);
    let error = failure(&caches(&[("CACHE_REDIS_URL", &server.url())])).await;
    assert!(matches!(error, CacheError::Tls(_)), "{error:?}");
    assert!(
        error.to_string().contains("CACHE_REDIS_TLS_CA_FILE"),
        "{error}"
    );
}

#[tokio::test]
async fn tls_insecure_works_and_warns() {
    let (guard, logs) = capture_logs();
    let server = TlsRedisServer::start(false);
    let caches = caches(&[
        ("CACHE_REDIS_URL", &server.url()),
        ("CACHE_REDIS_TLS_INSECURE", "true"),
    ]);
    drop(guard);
    assert!(
        logs.text().contains("WARN") && logs.text().contains("not checked"),
        "{}",
        logs.text()
    );
    works(&caches).await;
}

#[tokio::test]
async fn a_server_that_wants_a_client_certificate_gets_one() {
    let server = TlsRedisServer::start(true);
    let (ca, cert, key) = (
        server.certificates.path("ca.pem"),
        server.certificates.path("client.pem"),
        server.certificates.path("client.key"),
    );
    works(&caches(&[
        ("CACHE_REDIS_URL", &server.url()),
        ("CACHE_REDIS_TLS_CA_FILE", &ca),
        ("CACHE_REDIS_TLS_CERT_FILE", &cert),
        ("CACHE_REDIS_TLS_KEY_FILE", &key),
    ]))
    .await;

    let error = failure(&caches(&[
        ("CACHE_REDIS_URL", &server.url()),
        ("CACHE_REDIS_TLS_CA_FILE", &ca),
    ]))
    .await;
    assert!(matches!(error, CacheError::Tls(_)), "{error:?}");
    assert!(
        error.to_string().contains("CACHE_REDIS_TLS_CERT_FILE"),
        "{error}"
    );
}

#[tokio::test]
async fn tls_on_host_and_port_uses_the_same_settings() {
    let server = TlsRedisServer::start(false);
    let port = server
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/0")
        .to_owned();
    let ca = server.certificates.path("ca.pem");
    works(&caches(&[
        ("CACHE_REDIS_HOST", "localhost"),
        ("CACHE_REDIS_PORT", &port),
        ("CACHE_REDIS_TLS", "true"),
        ("CACHE_REDIS_TLS_CA_FILE", &ca),
    ]))
    .await;
}

#[tokio::test]
async fn a_password_works_and_a_wrong_or_missing_one_is_named() {
    let server = RedisServer::start();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("right-pass")
        .query(&mut server.client())
        .unwrap();
    let port = server.port().to_string();
    let host = [
        ("CACHE_REDIS_HOST", "127.0.0.1"),
        ("CACHE_REDIS_PORT", port.as_str()),
    ];
    let with_password = |password: &'static str| {
        caches(&[&host[..], &[("CACHE_REDIS_PASSWORD", password)]].concat())
    };

    works(&with_password("right-pass")).await;

    let error = failure(&with_password("hunter2-wrong")).await;
    assert!(
        matches!(error, CacheError::AuthenticationFailed),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains("hunter2"), "{error}");

    let error = failure(&caches(&host)).await;
    assert!(
        matches!(error, CacheError::AuthenticationRequired),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("CACHE_REDIS_PASSWORD"),
        "{error}"
    );
}

#[tokio::test]
async fn an_acl_user_works_and_a_wrong_password_is_named() {
    let server = RedisServer::start();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("svc")
        .arg("on")
        .arg(">svc-pass")
        .arg("~*")
        .arg("+@all")
        .query(&mut server.client())
        .unwrap();
    let port = server.port().to_string();
    let base = [
        ("CACHE_REDIS_HOST", "127.0.0.1"),
        ("CACHE_REDIS_PORT", port.as_str()),
        ("CACHE_REDIS_USERNAME", "svc"),
    ];
    works(&caches(
        &[&base[..], &[("CACHE_REDIS_PASSWORD", "svc-pass")]].concat(),
    ))
    .await;
    let error = failure(&caches(
        &[&base[..], &[("CACHE_REDIS_PASSWORD", "nope")]].concat(),
    ))
    .await;
    assert!(
        matches!(error, CacheError::AuthenticationFailed),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("CACHE_REDIS_USERNAME"),
        "{error}"
    );
}

#[tokio::test]
async fn nothing_listening_is_a_refusal_naming_the_address() {
    // Bound and dropped: nothing listens there now.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port_text = port.to_string();
    let error = failure(&caches(&[
        ("CACHE_REDIS_HOST", "127.0.0.1"),
        ("CACHE_REDIS_PORT", &port_text),
    ]))
    .await;
    assert!(matches!(error, CacheError::Refused(_)), "{error:?}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}
