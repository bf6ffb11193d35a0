//! A real `redis-server` for one test: started on a free loopback port with no
//! persistence, stopped by pid (never by name), restartable on the same port to test
//! reconnection.
//!
//! Set `REDIS_SERVER_BIN` to use a binary that is not on `PATH`.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) `redis-server` owned by one test.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.restart();
        server
    }

    /// The port it listens on (kept across [`RedisServer::stop`] and restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A plain client for checking what the service wrote, independently of it.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("connect to the test redis-server")
    }

    /// Stops the server (SIGKILL to its pid) and waits until the port is closed.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_until(
            || TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err(),
            "redis-server to stop",
        );
    }

    /// Starts the server again on the same port, with an empty data set.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "could not start {}: {error}. Install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_SERVER_BIN",
                    binary().display()
                )
            });
        self.child = Some(child);
        let url = self.url();
        wait_until(
            || {
                redis::Client::open(url.as_str())
                    .and_then(|client| {
                        client.get_connection_with_timeout(Duration::from_millis(200))
                    })
                    .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
                    .is_ok()
            },
            "redis-server to accept connections",
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER_BIN")
        .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A port that was free a moment ago (the OS picks it; the listener is dropped).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("find a free port")
}

fn wait_until(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
