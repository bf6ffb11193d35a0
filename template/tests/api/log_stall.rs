//! A stalled log reader against the real `web` process: nobody reads its stderr, yet it
//! keeps answering; the lines it could not write are counted in `/metrics` and reported
//! once stderr is read again.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::process::command;
use crate::scrape::scrape;

/// How long the service is kept busy while nobody reads its stderr.
const LOAD_FOR: Duration = Duration::from_secs(3);
/// Clients sending requests at the same time.
const CLIENTS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stderr_reader_costs_log_lines_not_answers() {
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        free.local_addr().expect("its address").port()
    };
    let port_text = port.to_string();
    // A small queue, so that it is full within the first second; every request logs a
    // line (probes at debug).
    let mut child = KillOnDrop(
        command(
            &["web"],
            &[
                ("APP_HOST", "127.0.0.1"),
                ("APP_PORT", &port_text),
                ("LOG_QUEUE_LINES", "1000"),
                ("RUST_LOG", "debug"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary"),
    );
    // Held, never read until the end: the pipe fills, then the log queue.
    let stderr = child.0.stderr.take().expect("stderr is piped");

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let health = format!("http://127.0.0.1:{port}/health");
    let started = Instant::now();
    while client.get(&health).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the service did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let loads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let client = client.clone();
            let health = health.clone();
            tokio::spawn(async move {
                let mut answered = 0_u64;
                let busy = Instant::now();
                while busy.elapsed() < LOAD_FOR {
                    let response = client.get(&health).send().await;
                    // A service that waits for stderr stops answering here.
                    let status = response.map(|response| response.status().as_u16());
                    assert_eq!(status.ok(), Some(200), "GET /health with stderr stalled");
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    let mut answered = 0;
    for load in loads {
        answered += load.await.expect("a load task");
    }

    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let dropped = tokio::task::spawn_blocking(move || {
        scrape(address)
            .value("log_lines_dropped_total", &[])
            .expect("the dropped-lines counter")
    })
    .await
    .expect("the scrape");
    eprintln!(
        "log stall: {answered} requests answered in {LOAD_FOR:?} with stderr unread; {dropped} lines dropped"
    );
    assert!(dropped > 0.0, "no line was counted as dropped");

    // Reading again: the service says what was lost.
    let (lines, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let report = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = seen
            .recv_timeout(left)
            .expect("a line reporting the dropped lines within 20 s");
        if line.contains("log lines were dropped") {
            break line;
        }
    };
    assert!(report.contains("LOG_QUEUE_LINES"), "{report}");
}

/// The service, killed by its pid when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
