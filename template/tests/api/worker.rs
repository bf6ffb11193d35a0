//! The worker as a real process: it runs the example job on every tick, keeps going
//! when the job fails, and exits 0 on SIGTERM or ctrl-c. Its log (stderr) is read line
//! by line while it runs{% if redis %}; with Redis, the heartbeat is also read back from the server{% endif %}.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
{%- if redis %}

use crate::redis_server::{RedisServer, free_port};
{%- endif %}

/// A running `worker` process, killed by pid if a test ends without stopping it.
struct Worker {
    child: Child,
    /// Everything it has written to stderr so far.
    log: Arc<Mutex<String>>,
}

impl Worker {
    /// Starts `worker` with only `vars` (plus `PATH`) in its environment, from a
    /// directory without a `.env`.
    fn start(vars: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_{{project-name}}"))
            .arg("worker")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(vars.iter().copied())
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the worker");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits until `count` log lines contain every one of `parts`.
    fn wait_for_lines(&self, parts: &[&str], count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            let seen = log
                .lines()
                .filter(|line| parts.iter().all(|part| line.contains(part)))
                .count();
            if seen >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} lines with {parts:?}, got {seen}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (e.g. `TERM`) to the process by its pid.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit; a generous bound, so a hang fails the test.
    fn exit_status(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the worker") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let mut worker = Worker::start(&vars);
{%- else %}
    let mut worker = Worker::start(&FAST);
{%- endif %}
    worker.wait_for_lines(&["job finished", "heartbeat"], 3);
{%- if redis %}

    // Read until a complete record is caught: on a loaded machine the 300 ms TTL may
    // lapse between two heartbeats, which is the TTL doing its job, not a failure.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (raw, pttl) = loop {
        let mut redis = server.client();
        let raw: Option<String> = redis::cmd("GET")
            .arg("worker-test:worker:heartbeat")
            .query(&mut redis)
            .expect("GET");
        let pttl: i64 = redis::cmd("PTTL")
            .arg("worker-test:worker:heartbeat")
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
    assert_eq!(beat["pid"], worker.child.id(), "{raw}");
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
    let status = worker.exit_status();
    assert!(status.success(), "{status}:\n{}", worker.log());
    assert!(worker.log().contains("worker stopped"), "{}", worker.log());
}

#[test]
fn ctrl_c_stops_the_worker_cleanly() {
    let mut worker = Worker::start(&FAST);
    worker.wait_for_lines(&["job finished", "heartbeat"], 1);
    worker.signal("INT");
    let status = worker.exit_status();
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
    let mut worker = Worker::start(&vars);
    worker.wait_for_lines(&["job failed", "heartbeat"], 3);
    assert!(
        worker.child.try_wait().expect("poll the worker").is_none(),
        "the worker stopped:\n{}",
        worker.log()
    );

    worker.signal("TERM");
    let status = worker.exit_status();
    assert!(status.success(), "{status}:\n{}", worker.log());
}
{%- endif %}
