//! Slow clients against the real `web` process over real sockets: clients that dribble
//! a request's head or body are cut off within the configured timeouts, on every request
//! of a connection, while a new client is still answered at once.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::web::start_web;

/// `APP_REQUEST_HEAD_TIMEOUT_MS` and `APP_KEEP_ALIVE_MS` in these tests.
const HEAD_TIMEOUT: Duration = Duration::from_millis(1_000);
/// How many slow clients hold connections at once.
const SLOW_CLIENTS: usize = 2_000;
/// The time between two bytes of a slow client: well inside the keep-alive time, so
/// only a head deadline can stop it.
const DRIBBLE_EVERY: Duration = Duration::from_millis(500);
/// Warnings, and the line that gives the port.
const QUIET: &str = "warn,{{crate_name}}::web::application=info";
/// The slack a loaded machine gets on top of a timeout before the test fails.
const SLACK: Duration = Duration::from_millis(1_500);

/// `GET /health` on a fresh connection, `Connection: close`: the time until the whole
/// answer has arrived. Panics unless it is a 200.
fn fresh_get(port: u16) -> Duration {
    let start = Instant::now();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "a fresh client got no 200 while slow clients were connected: {:?}",
        String::from_utf8_lossy(&answer)
    );
    start.elapsed()
}

/// A keep-alive client that gets one answer, then sends the next request one byte
/// every [`DRIBBLE_EVERY`]. Returns how long after its first dribbled byte the server
/// closed the connection, or `None` if it was still open after `give_up`.
async fn dribbler(port: u16, give_up: Duration, answered: Arc<AtomicUsize>) -> Option<Duration> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("send the first request");
    let mut answer = vec![0; 4096];
    let read = stream.read(&mut answer).await.expect("the first answer");
    assert!(
        answer[..read].starts_with(b"HTTP/1.1 200"),
        "the first answer"
    );
    answered.fetch_add(1, Ordering::SeqCst);
    let started = Instant::now();
    let next = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        .iter()
        .cycle();
    for &byte in next {
        if started.elapsed() > give_up {
            return None;
        }
        if stream.write_all(&[byte]).await.is_err() {
            return Some(started.elapsed());
        }
        // Closed by the server: a read sees the end (or a reset) at once.
        let read = tokio::time::timeout(DRIBBLE_EVERY, stream.read(&mut answer)).await;
        if matches!(read, Ok(Ok(0) | Err(_))) {
            return Some(started.elapsed());
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dribbling_clients_are_cut_off_on_later_requests_and_new_clients_are_answered() {
    let head_ms = HEAD_TIMEOUT.as_millis().to_string();
    let (mut service, port) = start_web(
        &[],
        &[
            ("APP_REQUEST_HEAD_TIMEOUT_MS", &head_ms),
            ("APP_KEEP_ALIVE_MS", &head_ms),
            // One line per request would be 2,000 lines: not what this test is about.
            ("RUST_LOG", QUIET),
        ],
    );
    let give_up = HEAD_TIMEOUT + SLACK;
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| tokio::spawn(dribbler(port, give_up * 2, Arc::clone(&answered))))
        .collect();

    // Once every slow client is connected and dribbling, a fresh client every 20 ms
    // until they have all been cut off, from a thread of its own so that the slow
    // clients' tasks do not delay it. (While 2,000 clients connect at once, a new one
    // queues behind them in the listen backlog: that burst is not what is measured.)
    let probe = std::thread::spawn(move || {
        let connecting = Instant::now();
        while answered.load(Ordering::SeqCst) < SLOW_CLIENTS {
            assert!(
                connecting.elapsed() < Duration::from_secs(20),
                "the slow clients did not all get their first answer"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut latencies = Vec::new();
        let probing = Instant::now();
        while probing.elapsed() < give_up {
            latencies.push(fresh_get(port));
            std::thread::sleep(Duration::from_millis(20));
        }
        latencies
    });
    let mut latencies = tokio::task::spawn_blocking(move || probe.join())
        .await
        .expect("the probe thread")
        .expect("the probe thread ends");

    let mut held = 0;
    let mut longest = Duration::ZERO;
    for client in clients {
        match client.await.expect("the client task") {
            Some(closed_after) => longest = longest.max(closed_after),
            None => held += 1,
        }
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    let max = latencies[latencies.len() - 1];
    eprintln!(
        "slow clients: {SLOW_CLIENTS} cut off, the last after {longest:?}; fresh GET /health \
         over {} probes: p99 {p99:?}, max {max:?}",
        latencies.len()
    );
    assert_eq!(
        held,
        0,
        "{held} of {SLOW_CLIENTS} dribbling clients still held their connection after {:?}",
        give_up * 2
    );
    assert!(
        longest <= give_up,
        "a dribbling client was cut off only after {longest:?} (head timeout {HEAD_TIMEOUT:?})"
    );
    // A bound on behaviour, not a benchmark: a server stuck behind the slow clients
    // would answer in seconds, if at all.
    assert!(
        p99 < Duration::from_millis(100) && max < Duration::from_secs(1),
        "fresh clients waited too long: p99 {p99:?}, max {max:?}"
    );
    service.signal("TERM");
    assert!(service.wait_for_exit().success(), "{}", service.log());
}

#[tokio::test]
async fn a_dribbled_body_gets_408_and_a_closed_connection() {
    let (mut service, port) = start_web(
        &[],
        &[("APP_REQUEST_BODY_TIMEOUT_MS", "1000"), ("RUST_LOG", QUIET)],
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let body = br#"{"name": "a pen that arrives one byte at a time"}"#;
    let head = format!(
        "PUT /items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    let started = Instant::now();
    let mut answer = Vec::new();
    for &byte in &body[..body.len() - 1] {
        if stream.write_all(&[byte]).await.is_err() {
            break;
        }
        let mut chunk = [0; 4096];
        match tokio::time::timeout(DRIBBLE_EVERY, stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(read)) => answer.extend_from_slice(&chunk[..read]),
            Err(_) => {}
        }
    }
    let _ = tokio::time::timeout(SLACK, stream.read_to_end(&mut answer)).await;
    let elapsed = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        answer.contains("APP_REQUEST_BODY_TIMEOUT_MS"),
        "the answer names the setting: {answer}"
    );
    assert!(
        elapsed < Duration::from_millis(1_000) + SLACK,
        "the connection stayed open for {elapsed:?}"
    );
    // The connection is closed: the read above ended rather than timed out.
    let mut rest = [0; 16];
    let closed = matches!(
        tokio::time::timeout(Duration::from_millis(100), stream.read(&mut rest)).await,
        Ok(Ok(0) | Err(_))
    );
    assert!(closed, "the connection was left open after the 408");
    service.signal("TERM");
    assert!(service.wait_for_exit().success(), "{}", service.log());
}
