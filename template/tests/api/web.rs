//! The web server as a whole: probes, request ids, logs and the graceful stop, both in
//! process (`spawn_app`) and as the real binary receiving a real SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::{self, ServiceConfig};
use reqwest::StatusCode;
use serde_json::Value;
{%- if redis %}
use service_cache::test_support::{RedisServer, free_port};
{%- endif %}
use tokio::sync::Notify;

use crate::process::Process;
{% if redis -%}
use crate::test_app::spawn_app_with;
{% endif -%}
use crate::test_app::{spawn_app, spawn_app_with_routes};

#[tokio::test]
async fn health_answers_ok_with_the_version() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn ready_is_200_when_every_check_is_up() {
    let app = spawn_app().await;
    let response = app.get("/ready").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
{%- if cache %}
    for alias in ["memory", "persistent"] {
        assert_eq!(body["checks"][alias]["status"], "up", "{body}");
        assert_eq!(body["checks"][alias]["backend"], "memory", "{body}");
        assert!(body["checks"][alias]["stats"]["hits"].is_u64(), "{body}");
    }
{%- endif %}
{%- if database != "none" %}
    let database = &body["checks"]["database"];
    assert_eq!(database["status"], "up", "{body}");
    assert_eq!(database["backend"], "{{database}}", "{body}");
    assert!(database.get("stats").is_none(), "{body}");
{%- else %}
{%- unless cache %}
    assert_eq!(body["checks"], serde_json::json!({}));
{%- endunless %}
{%- endif %}
}
{%- if redis %}

#[tokio::test]
async fn ready_reports_redis_and_health_ignores_it() {
    let redis = RedisServer::start();
    let app = spawn_app_with(&[("CACHE_REDIS_URL", &redis.url())]).await;
    let body: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(body["checks"]["persistent"]["backend"], "redis", "{body}");
    assert_eq!(body["checks"]["persistent"]["status"], "up", "{body}");
    drop(redis);

    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["persistent"]["status"], "down", "{body}");
    assert_eq!(
        body["checks"]["persistent"]["pending_invalidations"], 0,
        "{body}"
    );
    // A write while Redis is down: its invalidations (items:1 and items:list) wait, and
    // readiness says so.
    assert_eq!(app.delete("/items/1").await.status(), StatusCode::NOT_FOUND);
    let body: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(
        body["checks"]["persistent"]["pending_invalidations"], 2,
        "{body}"
    );
    // Liveness does not depend on Redis: a cache outage must not get the process restarted.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ready_says_what_is_down_in_one_word_and_details_only_when_asked() {
    let port = free_port().to_string();
    let url = format!("redis://127.0.0.1:{port}");
    let vars = [("CACHE_REDIS_URL", url.as_str())];
    let app = spawn_app_with(&vars).await;
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = ready.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let persistent = &body["checks"]["persistent"];
    assert_eq!(persistent["status"], "down", "{body}");
    assert_eq!(persistent["reason"], "refused", "{body}");
    // Anyone may ask /ready: it names no address (nor port) of the backend.
    assert!(
        !text.contains("127.0.0.1") && !text.contains(&port) && persistent.get("error").is_none(),
        "{text}"
    );

    let mut detailed = vars.to_vec();
    detailed.push(("APP_READY_DETAILS", "true"));
    let app = spawn_app_with(&detailed).await;
    let body: Value = app.get("/ready").await.json().await.unwrap();
    let error = body["checks"]["persistent"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{body}");
}
{%- endif %}

#[tokio::test]
async fn every_response_carries_its_own_request_id() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for path in ["/health", "/health", "/no/such/route", "/items/abc"] {
        let response = app.get(path).await;
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let id = id.unwrap_or_else(|| panic!("no x-request-id on GET {path}"));
        assert_eq!(id.len(), 36, "a UUID: {id}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "ids are unique: {ids:?}");
}

#[tokio::test]
async fn a_server_error_is_json_and_keeps_its_details_out_of_the_answer() {
    let routes = |cfg: &mut ServiceConfig| {
        cfg.route(
            "/boom",
            web::get().to(|| async {
                Err::<String, _>(actix_web::error::ErrorInternalServerError(
                    "connection to db-7 refused",
                ))
            }),
        );
    };
    let app = spawn_app_with_routes(&[], routes).await;
    let response = app.get("/boom").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["error"], "internal_server_error");
    assert!(!body.to_string().contains("db-7"), "{body}");
}

/// `GET /slow` tells the test it has started, then takes `takes` to answer "finished".
fn slow_route(
    started: Arc<Notify>,
    takes: Duration,
) -> impl Fn(&mut ServiceConfig) + Send + Clone + 'static {
    move |cfg| {
        let started = Arc::clone(&started);
        cfg.route(
            "/slow",
            web::get().to(move || {
                let started = Arc::clone(&started);
                async move {
                    started.notify_one();
                    tokio::time::sleep(takes).await;
                    "finished"
                }
            }),
        );
    }
}

/// Long enough for the stop to start while the request is in its handler.
const SLOW_FOR: Duration = Duration::from_millis(1_500);

#[tokio::test]
async fn a_graceful_stop_lets_the_request_in_flight_finish() {
    let started = Arc::new(Notify::new());
    let app = spawn_app_with_routes(&[], slow_route(Arc::clone(&started), SLOW_FOR)).await;
    let address = app.address.clone();
    let in_flight = tokio::spawn(app.client.get(app.url("/slow")).send());
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("the slow request reached its handler");

    let stopped_at = Instant::now();
    app.stop().await.expect("the server stops cleanly");
    assert!(
        stopped_at.elapsed() < Duration::from_secs(20),
        "the stop waited for the request, not much longer"
    );

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got its answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "finished");
    let refused = reqwest::Client::new()
        .get(format!("{address}/health"))
        .send()
        .await;
    assert!(refused.is_err(), "the listener is closed after the stop");
}

#[tokio::test]
async fn a_request_slower_than_the_grace_period_does_not_hold_the_stop() {
    let started = Arc::new(Notify::new());
    let routes = slow_route(Arc::clone(&started), Duration::from_secs(60));
    let app = spawn_app_with_routes(&[("APP_SHUTDOWN_TIMEOUT_MS", "300")], routes).await;
    let in_flight = tokio::spawn(app.client.get(app.url("/slow")).send());
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("the request reached its handler");

    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the stop ends after the grace period, not with the request")
        .expect("the server stops cleanly");
    let outcome = tokio::time::timeout(Duration::from_secs(10), in_flight).await;
    let outcome = outcome.expect("the cut-off request ends").unwrap();
    assert!(outcome.is_err(), "the request was cut off: {outcome:?}");
}

/// Starts `<binary> web <args>` on a free port, logging JSON at info with `vars` on
/// top, and waits for its "listening" line; returns the process and its port.
pub fn start_web(args: &[&str], vars: &[(&str, &str)]) -> (Process, u16) {
    let mut service = spawn_web(args, vars);
    let port = port_of(&mut service);
    (service, port)
}

/// Starts `<binary> web <args>` as [`start_web`] does, without waiting for it.
pub fn spawn_web(args: &[&str], vars: &[(&str, &str)]) -> Process {
    let mut command = vec!["web"];
    command.extend_from_slice(args);
    let mut env = vec![
        ("APP_HOST", "127.0.0.1"),
        ("APP_PORT", "0"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ];
    env.extend_from_slice(vars);
    Process::start(&command, &env)
}

/// Waits for the "listening" line of a service started by [`spawn_web`] and returns
/// its port.
pub fn port_of(service: &mut Process) -> u16 {
    let listening = service.wait_for_line(|line| line.contains("listening on http://"));
    let address = json_field(&listening, "address").expect("the listening line has an address");
    address
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port in the address")
}

/// Sends `head` (the request line and headers, without the blank line) and `body` on a
/// fresh connection closed after the answer, and returns the whole answer as text.
pub fn send(port: u16, head: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the service");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let request = format!(
        "{head}\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    // A server that closes early (a refused request) may reset the connection: what was
    // read so far is the answer.
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status code of an answer read by [`send`].
pub fn status_of(answer: &str) -> u16 {
    answer
        .get(9..12)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

/// `name` from a JSON log line, whether the formatter put fields at the top level or
/// under `fields`.
pub fn json_field(line: &str, name: &str) -> Option<String> {
    let value: Value = serde_json::from_str(line).ok()?;
    let field = value
        .get(name)
        .or_else(|| value.get("fields").and_then(|fields| fields.get(name)))?;
    Some(
        field
            .as_str()
            .map_or_else(|| field.to_string(), str::to_owned),
    )
}

/// Sends a request's head with `Expect: 100-continue` and waits for the server to accept
/// it, so the request is provably in flight. The body is sent later by the caller.
fn start_upload(port: u16, path: &str, body_len: usize) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the service");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0_u8; 25];
    stream
        .read_exact(&mut interim)
        .expect("the server accepted the request head");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let (mut service, port) = start_web(&[], &[]);
    let body = br#"{"name":"uploaded during shutdown"}"#;
    let mut upload = start_upload(port, "/items/1", body.len());

    service.signal("TERM");
    service.wait_for_line(|line| line.contains("shutting down"));
    // The listener is closed, but the request already in flight carries on.
    std::thread::sleep(Duration::from_millis(300));
    upload.write_all(body).unwrap();
    let mut response = String::new();
    upload
        .read_to_string(&mut response)
        .expect("read the answer");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(
        response.ends_with(r#"{"id":1,"name":"uploaded during shutdown","description":null}"#),
        "{response}"
    );

    let status = service.wait_for_exit();
    assert!(status.success(), "{status}; stderr:\n{}", service.log());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after the exit"
    );
}

#[test]
fn each_request_logs_one_lean_json_line_with_the_id_it_answered_with() {
    let (mut service, port) = start_web(&[], &[]);
    let answer = send(port, "GET /items/404?token=SECRET HTTP/1.1", "");
    assert_eq!(status_of(&answer), 404, "{answer}");
    let request_id = answer
        .lines()
        .find_map(|line| line.strip_prefix("x-request-id: "))
        .expect("an x-request-id header")
        .trim()
        .to_owned();

    let line = service
        .wait_for_line(|line| line.contains("request completed") && line.contains(&request_id));
    let json: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(json["status"], 404, "{line}");
    assert_eq!(json["span"]["method"], "GET", "{line}");
    assert_eq!(json["span"]["route"], "/items/{id}", "{line}");
    assert_eq!(json["span"]["path"], "/items/404", "{line}");
    // Each field once: no `spans` list repeating the span.
    assert!(json.get("spans").is_none(), "{line}");
    assert_eq!(line.matches(&request_id).count(), 1, "{line}");
    // Rounded to two decimals: 0.38, not 0.38255100000000003.
    let elapsed = json["elapsed_ms"].to_string();
    assert!(
        elapsed
            .split('.')
            .nth(1)
            .is_none_or(|decimals| decimals.len() <= 2),
        "{line}"
    );
    assert!(line.len() < 500, "{} bytes: {line}", line.len());
    // The query string may carry a secret: it is never logged.
    assert!(!service.log().contains("SECRET"), "{}", service.log());
    service.signal("TERM");
    let status = service.wait_for_exit();
    assert!(status.success(), "{status}; stderr:\n{}", service.log());
}

#[test]
fn probes_are_not_logged_at_info_and_clients_cannot_write_error_lines() {
    let (mut service, port) = start_web(&[], &[]);
    assert_eq!(status_of(&send(port, "GET /health HTTP/1.1", "")), 200);
    assert_eq!(status_of(&send(port, "GET /ready HTTP/1.1", "")), 200);
    // Requests that actix refuses itself, before any route: a garbage request line, a
    // header that is not a number, a head larger than any buffer.
    let garbage = send(port, "\u{1}\u{2} NOT HTTP AT ALL", "");
    assert!(
        garbage.is_empty() || status_of(&garbage) == 400,
        "{garbage}"
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"PUT /items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert_eq!(status_of(&answer), 400, "{answer}");
    let long_uri = format!("GET /items/{} HTTP/1.1", "1".repeat(70_000));
    let answer = send(port, &long_uri, "");
    assert!(answer.is_empty() || status_of(&answer) >= 400, "{answer}");

    // A request after them, whose line proves that the ones before were written.
    send(port, "GET /items HTTP/1.1", "");
    service.wait_for_line(|line| line.contains("request completed") && line.contains("/items"));
    std::thread::sleep(Duration::from_millis(300));
    let log = service.log();
    for line in log.lines() {
        let json: Value = serde_json::from_str(line).expect("every line is JSON");
        assert_ne!(json["level"], "ERROR", "{line}");
        let path = json["span"]["path"].as_str().unwrap_or_default();
        assert!(
            !["/health", "/ready"].contains(&path),
            "a probe at info: {line}"
        );
    }
    service.signal("TERM");
    let status = service.wait_for_exit();
    assert!(status.success(), "{status}; stderr:\n{}", service.log());
}

#[test]
fn a_second_signal_during_the_grace_period_ends_the_process_at_once() {
    let (mut service, port) = start_web(&[], &[("APP_SHUTDOWN_TIMEOUT_MS", "600000")]);
    // A request in flight, so the graceful stop has something to wait for.
    let _upload = start_upload(port, "/items/1", 10);
    service.signal("TERM");
    service.wait_for_line(|line| line.contains("shutting down"));
    service.signal("INT");
    let status = service.wait_for_exit();
    assert_eq!(status.code(), Some(130), "stderr:\n{}", service.log());
    let log = service.log();
    let forced: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("received again"))
        .collect();
    assert_eq!(forced.len(), 1, "{log}");
    assert!(forced[0].contains("WARN"), "{log}");
}

#[test]
fn a_port_in_use_is_one_error_line_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let address = format!("127.0.0.1:{port}");
    for format in ["pretty", "json"] {
        let mut service = Process::start(
            &["web"],
            &[
                ("APP_HOST", "127.0.0.1"),
                ("APP_PORT", &port),
                ("LOG_FORMAT", format),
            ],
        );
        let status = service.wait_for_exit();
        assert_eq!(status.code(), Some(1), "{}", service.log());
        let log = service.log();
        let naming: Vec<&str> = log.lines().filter(|line| line.contains(&address)).collect();
        assert_eq!(naming.len(), 1, "{log}");
        assert_eq!(log.lines().last(), Some(naming[0]), "{log}");
        if format == "json" {
            for line in log.lines() {
                let json: Value = serde_json::from_str(line)
                    .unwrap_or_else(|_| panic!("not JSON with LOG_FORMAT=json: {line}"));
                assert!(json["level"].is_string(), "{line}");
            }
        } else {
            assert!(naming[0].starts_with("error: "), "{log}");
        }
    }
}
{%- if redis %}

#[test]
fn a_failing_readiness_probe_is_a_warning() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let (mut service, port) = start_web(&[], &[("CACHE_REDIS_URL", &dead)]);
    assert_eq!(status_of(&send(port, "GET /ready HTTP/1.1", "")), 503);
    // The request's own line, with its status (the readiness check logs its cause too).
    let line = service.wait_for_line(|line| line.contains("/ready") && line.contains("\"status\""));
    let json: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(json["level"], "WARN", "{line}");
    assert_eq!(json["status"], 503, "{line}");
    service.signal("TERM");
    service.wait_for_exit();
}
{%- if database == "none" %}

#[test]
fn after_a_restart_no_item_is_served_that_the_repository_does_not_have() {
    let redis = RedisServer::start();
    let vars = [("CACHE_REDIS_URL", redis.url())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (mut first, port) = start_web(&[], &vars);
    let put = send(
        port,
        "PUT /items/7 HTTP/1.1\r\nContent-Type: application/json",
        r#"{"name":"pen"}"#,
    );
    assert_eq!(status_of(&put), 201, "{put}");
    send(port, "GET /items/7 HTTP/1.1", "");
    let hit = send(port, "GET /items/7 HTTP/1.1", "");
    assert!(hit.contains("x-cache: hit"), "{hit}");
    first.signal("TERM");
    assert!(first.wait_for_exit().success(), "{}", first.log());

    // The new process's repository is empty, so the cached answer must not survive.
    let (mut second, port) = start_web(&[], &vars);
    let answer = send(port, "GET /items/7 HTTP/1.1", "");
    assert_eq!(status_of(&answer), 404, "{answer}");
    let listing = send(port, "GET /items HTTP/1.1", "");
    assert!(listing.ends_with("[]"), "{listing}");
    second.signal("TERM");
    assert!(second.wait_for_exit().success(), "{}", second.log());
}

#[test]
fn a_slow_clean_up_at_start_up_does_not_hold_back_serving() {
    let redis = RedisServer::start();
    // Redis answers nothing for 10 s and each command may wait 8 s: the start-up clean-up
    // of an earlier run's cached items takes that long (as a SCAN of a large shared
    // Redis would).
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(10_000)
        .arg("ALL")
        .query::<()>(&mut redis.client())
        .unwrap();
    let url = redis.url();
    let started = Instant::now();
    let (mut service, port) = start_web(
        &[],
        &[
            ("CACHE_REDIS_URL", url.as_str()),
            ("CACHE_REDIS_TIMEOUT_MS", "8000"),
        ],
    );
    let health = send(port, "GET /health HTTP/1.1", "");
    assert_eq!(status_of(&health), 200, "{health}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "first answer after {:?}",
        started.elapsed()
    );
    service.wait_for_line(|line| line.contains("goes on in the background"));
    service.signal("TERM");
    assert!(service.wait_for_exit().success(), "{}", service.log());
}
{%- endif %}
{%- endif %}

#[tokio::test]
async fn head_works_wherever_get_does_and_probes_answer_405_to_other_methods() {
    let app = spawn_app().await;
    app.put_json("/items/1", &serde_json::json!({ "name": "pen" }))
        .await;
    for path in ["/health", "/ready", "/items", "/items/1"] {
        let get = app.get(path).await;
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-length"),
            get.headers().get("content-length"),
            "HEAD {path}"
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has a body"
        );
    }
    for path in ["/health", "/ready"] {
        let post = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED, "POST {path}");
        assert_eq!(post.headers()["allow"], "GET, HEAD", "POST {path}");
        let body: Value = post.json().await.expect("a JSON error");
        assert_eq!(body["error"], "method_not_allowed");
    }
}

{%- if worker %}

#[test]
fn with_worker_runs_both_and_stops_both_on_sigterm() {
    let (mut service, port) = start_web(&["--with-worker"], &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    service.signal("TERM");
    let status = service.wait_for_exit();
    assert!(status.success(), "{status}; stderr:\n{}", service.log());
}
{%- endif %}
