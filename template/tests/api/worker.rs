//! The worker as a real process: it runs the example job on every tick, keeps going
//! when the job fails, and exits 0 on SIGTERM or ctrl-c. Its log (stderr) is read line
//! by line while it runs{% if redis %}; with Redis, the heartbeat is also read back from the server{% endif %}.
{% if redis %}
use std::time::{Duration, Instant};

use service_cache::test_support::{RedisServer, free_port};
{% endif %}
use crate::process::Process;

/// Starts `worker` with `vars`.
fn start_worker(vars: &[(&str, &str)]) -> Process {
    Process::start(&["worker"], vars)
}

/// Waits until `count` log lines contain every one of `parts`.
fn wait_for_lines(worker: &mut Process, parts: &[&str], count: usize) {
    worker.wait_for_lines(|line| parts.iter().all(|part| line.contains(part)), count);
}

const FAST: [(&str, &str); 2] = [
    ("WORKER_INTERVAL_MS", "100"),
    ("WORKER_SHUTDOWN_TIMEOUT_MS", "5000"),
];

#[test]
fn the_heartbeat_runs_on_every_tick_until_sigterm() {
{%- if redis %}
    let server = RedisServer::start();
    let url = server.url();
    let mut vars = FAST.to_vec();
    vars.extend([
        ("CACHE_REDIS_URL", url.as_str()),
        ("CACHE_PREFIX", "worker-test"),
    ]);
    let mut worker = start_worker(&vars);
{%- else %}
    let mut worker = start_worker(&FAST);
{%- endif %}
    wait_for_lines(&mut worker, &["job finished", "heartbeat"], 3);
{%- if redis %}

    // Read until a complete record is caught: on a loaded machine the 300 ms TTL may
    // lapse between two heartbeats, which is the TTL doing its job, not a failure.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (raw, pttl) = loop {
        let mut redis = server.client();
        let raw: Option<String> = redis::cmd("GET")
            .arg("worker-test:v1:worker:heartbeat")
            .query(&mut redis)
            .expect("GET");
        let pttl: i64 = redis::cmd("PTTL")
            .arg("worker-test:v1:worker:heartbeat")
            .query(&mut redis)
            .expect("PTTL");
        if let Some(raw) = raw.filter(|_| pttl != -2) {
            break (raw, pttl);
        }
        assert!(
            Instant::now() < deadline,
            "no heartbeat in Redis:\n{}",
            worker.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let beat: serde_json::Value = serde_json::from_str(&raw).expect("the heartbeat is JSON");
    assert_eq!(beat["pid"], worker.pid(), "{raw}");
    assert!(
        beat["beats"].as_u64().is_some_and(|beats| beats >= 1),
        "{raw}"
    );
    assert!(
        (1..=300).contains(&pttl),
        "the heartbeat should expire after 3 intervals, PTTL {pttl}"
    );
{%- endif %}

    worker.signal("TERM");
    let status = worker.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", worker.log());
    assert!(worker.log().contains("worker stopped"), "{}", worker.log());
}

#[test]
fn ctrl_c_stops_the_worker_cleanly() {
    let mut worker = start_worker(&FAST);
    wait_for_lines(&mut worker, &["job finished", "heartbeat"], 1);
    worker.signal("INT");
    let status = worker.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", worker.log());
}
{%- if redis %}

#[test]
fn a_failing_job_is_logged_and_retried_without_stopping_the_worker() {
    // Nothing listens on this port, so every heartbeat fails to reach Redis.
    let url = format!("redis://127.0.0.1:{}/0", free_port());
    let mut vars = FAST.to_vec();
    vars.extend([
        ("CACHE_REDIS_URL", url.as_str()),
        ("CACHE_REDIS_TIMEOUT_MS", "200"),
    ]);
    let mut worker = start_worker(&vars);
    wait_for_lines(&mut worker, &["job failed", "heartbeat"], 3);
    assert!(worker.is_running(), "the worker stopped:\n{}", worker.log());

    worker.signal("TERM");
    let status = worker.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", worker.log());
}
{%- endif %}
