//! The metrics of a generated service, read by the real Prometheus tools: `promtool check
//! metrics` on a scrape of the everything-on service, then a Prometheus server on a free
//! loopback port scraping that service, asked through its HTTP API for the cache hit
//! counter, which must equal the hits this test made.
//!
//! Debian's `prometheus` package provides both binaries (`ci/prerequisites` installs
//! it); the service runs with its persistent alias on a `redis-server` started here, so
//! the Redis series are in the scrape too, and its database on a PostgreSQL server
//! started here when that is its database. Every process is stopped by its pid.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cargo;
use crate::combinations::Combination;
use crate::{generate, postgres};

/// Cache hits the test makes through `GET /items/1`.
const HITS: usize = 7;

/// A child process killed (by its pid) and reaped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn start(command: &mut Command, what: &str) -> Running {
    Running(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}")),
    )
}

/// One HTTP/1.1 request on a fresh connection: status, headers (lower-case) and body.
fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .unwrap_or_else(|error| panic!("connect to {address}: {error}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("set a read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send a request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read a response");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// Retries `ready` for up to a minute.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn answers(address: SocketAddr) -> bool {
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// `value` with everything but unreserved characters percent-encoded.
fn percent_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn require(binary: &str) {
    let found = Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "{binary} is not installed; run ci/prerequisites (it installs Debian's prometheus package)"
    );
}

#[test]
fn prometheus_reads_the_everything_on_service_and_counts_its_cache_hits() {
    for binary in ["promtool", "prometheus", "redis-server"] {
        require(binary);
    }
    let combination = Combination::everything_on();
    let mut project = generate::combination(&combination)
        .unwrap_or_else(|failed| panic!("{combination}: generation failed: {failed}"));
    if let Err(failure) = cargo::run(&combination.label(), &project.path, cargo::Step::Build) {
        let kept = project.keep();
        panic!("{failure}\n(project kept in {})", kept.display());
    }
    let binary = cargo::target_dir().join("debug").join(&project.name);
    let scratch = tempfile::tempdir().expect("a scratch directory");

    let redis_port = free_port();
    let _redis = start(
        Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(scratch.path()),
        "redis-server",
    );
    let redis = SocketAddr::from(([127, 0, 0, 1], redis_port));
    wait_until("redis-server", || answers(redis));
    // The example resource lives in the database, which the service migrates on start.
    let postgres = combination
        .is("database", "postgres")
        .then(|| postgres::Server::start(free_port()));

    let service = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _service = start(
        Command::new(&binary)
            .arg("web")
            .env_clear()
            .env("APP_HOST", "127.0.0.1")
            .env("APP_PORT", service.port().to_string())
            .env("CACHE_REDIS_HOST", "127.0.0.1")
            .env("CACHE_REDIS_PORT", redis_port.to_string())
            .env(
                "CACHE_PREFIX",
                format!("prometheus-test-{}", std::process::id()),
            )
            .env("RUST_LOG", "warn")
            .envs(postgres.iter().map(|server| ("DATABASE_URL", server.url())))
            .current_dir(scratch.path()),
        "the generated service",
    );
    wait_until("the service", || answers(service));

    let (status, _, _) = http(service, "PUT", "/items/1", r#"{"name":"pen"}"#);
    assert!(
        status == 200 || status == 201,
        "PUT /items/1 answered {status}"
    );
    let mut hits = 0;
    for _ in 0..=HITS {
        let (status, head, _) = http(service, "GET", "/items/1", "");
        assert_eq!(status, 200);
        if head.contains("x-cache: hit") {
            hits += 1;
        }
    }
    assert_eq!(hits, HITS, "the first read misses and every later one hits");

    check_with_promtool(service);

    let prometheus = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = scratch.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: service\n    \
             static_configs:\n      - targets: [\"{service}\"]\n"
        ),
    )
    .expect("write the Prometheus configuration");
    let _prometheus = start(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                scratch.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .current_dir(scratch.path()),
        "prometheus",
    );
    wait_until("prometheus", || answers(prometheus));

    let query = r#"cache_operations_total{alias="persistent",operation="get",outcome="hit"}"#;
    let path = format!("/api/v1/query?query={}", percent_encoded(query));
    let mut last = String::new();
    wait_until("Prometheus to scrape the hit counter", || {
        let (status, _, body) = http(prometheus, "GET", &path, "");
        last = body;
        status == 200 && last.contains(r#""result":[{"#)
    });
    let answer: serde_yaml::Value = serde_yaml::from_str(&last).expect("the API answers JSON");
    let results = answer["data"]["result"]
        .as_sequence()
        .expect("a result list");
    assert_eq!(results.len(), 1, "one series: {last}");
    let value = results[0]["value"][1].as_str().expect("a sample value");
    assert_eq!(
        value,
        HITS.to_string(),
        "the hit counter Prometheus scraped: {last}"
    );
}

/// `promtool check metrics` on a scrape of `service`: it must find no problem.
fn check_with_promtool(service: SocketAddr) {
    let (status, head, body) = http(service, "GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    for family in [
        "http_requests_total",
        "cache_operations_total",
        "redis_command_duration_seconds",
        "build_info",
    ] {
        assert!(
            body.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{body}"
        );
    }
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    promtool
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(body.as_bytes())
        .expect("feed promtool");
    let output = promtool.wait_with_output().expect("run promtool");
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool check metrics found problems ({}):\n{}{}\n--- the scrape ---\n{body}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

#[test]
fn the_compose_prometheus_configuration_is_valid() {
    require("promtool");
    let combination = Combination::everything_on();
    let project = generate::combination(&combination)
        .unwrap_or_else(|failed| panic!("{combination}: generation failed: {failed}"));
    let config = project.path.join("prometheus.yml");
    assert!(Path::new(&config).exists(), "no prometheus.yml");
    let output = Command::new("promtool")
        .args(["check", "config"])
        .arg(&config)
        .output()
        .expect("run promtool");
    assert!(
        output.status.success(),
        "promtool check config {}:\n{}{}",
        config.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
