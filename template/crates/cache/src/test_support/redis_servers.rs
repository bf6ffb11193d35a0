//! Real Redis for one test: a `redis-server` ([`RedisServer`]), a Redis Cluster of six
//! ([`RedisCluster`]) and a primary with a replica watched by a sentinel
//! ([`RedisSentinel`]). Every process listens on a free loopback port, keeps no data on
//! disk, and is stopped by its pid (never by name) when the fixture is dropped.
//!
//! Set `REDIS_SERVER_BIN` (and `REDIS_CLI_BIN`) to use binaries that are not on `PATH`.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A running (or stopped) `redis-server` owned by one test.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// Its working directory, removed on drop.
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
            dir: tempdir("server"),
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
        self.child = Some(spawn_redis(self.port, &self.dir, &[]));
        wait_for_ping(self.port);
    }
}

/// Starts `redis-server` on `port` (loopback, no persistence) with `extra` arguments,
/// working in `dir`: a replica writes the data it receives there, and a server started
/// later in the same directory would load it.
fn spawn_redis(port: u16, dir: &Path, extra: &[&str]) -> Child {
    Command::new(binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "yes"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "could not start {}: {error}. Install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_SERVER_BIN",
                binary().display()
            )
        })
}

/// A plain client of the server on `port`.
pub fn client_on(port: u16) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}/0"))?
        .get_connection_with_timeout(Duration::from_millis(500))
}

fn wait_for_ping(port: u16) {
    wait_until(
        || {
            client_on(port)
                .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
                .is_ok()
        },
        "redis-server to accept connections",
    );
}

/// Stops every child by its pid.
fn stop_all(children: &mut [Option<Child>]) {
    for child in children.iter_mut().filter_map(Option::take) {
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A Redis Cluster of three primaries, each with one replica, created with
/// `redis-cli --cluster create`. A short `cluster-node-timeout` makes a replica take
/// over within a few seconds of its primary dying.
pub struct RedisCluster {
    ports: Vec<u16>,
    children: Vec<Option<Child>>,
    /// The nodes' cluster config files, removed on drop.
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts six nodes, creates the cluster and waits until every slot is served.
    pub fn start() -> Self {
        let dir = tempdir("cluster");
        let ports: Vec<u16> = (0..6).map(|_| free_cluster_port()).collect();
        let children = ports
            .iter()
            .map(|port| {
                let config = dir.join(format!("nodes-{port}.conf"));
                let node_dir = dir.join(port.to_string());
                std::fs::create_dir_all(&node_dir).expect("create a node directory");
                Some(spawn_redis(
                    *port,
                    &node_dir,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        &config.to_string_lossy(),
                        "--cluster-node-timeout",
                        "1000",
                    ],
                ))
            })
            .collect();
        let cluster = Self {
            ports,
            children,
            dir,
        };
        for port in &cluster.ports {
            wait_for_ping(*port);
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let output = Command::new(cli_binary())
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        cluster.wait_until_healthy();
        // A replica that has not finished its first sync cannot take over; tests that
        // kill a primary rely on the takeover.
        wait_until_for(
            Duration::from_secs(30),
            || cluster.replicas_in_sync() == 3,
            "every replica to sync with its primary",
        );
        cluster
    }

    /// How many replicas have a live link to their primary.
    fn replicas_in_sync(&self) -> usize {
        self.live_ports()
            .filter(|port| {
                client_on(*port)
                    .and_then(|mut connection| {
                        redis::cmd("INFO")
                            .arg("replication")
                            .query::<String>(&mut connection)
                    })
                    .is_ok_and(|info| {
                        info.contains("role:slave") && info.contains("master_link_status:up")
                    })
            })
            .count()
    }

    /// `CACHE_REDIS_CLUSTER_NODES`: two of the nodes; the rest are discovered.
    pub fn nodes_var(&self) -> String {
        format!("127.0.0.1:{},127.0.0.1:{}", self.ports[0], self.ports[1])
    }

    /// Every node answers and reports the whole cluster as up.
    pub fn wait_until_healthy(&self) {
        wait_until_for(
            Duration::from_secs(30),
            || {
                self.live_ports().all(|port| {
                    client_on(port)
                        .and_then(|mut connection| {
                            redis::cmd("CLUSTER")
                                .arg("INFO")
                                .query::<String>(&mut connection)
                        })
                        .is_ok_and(|info| info.contains("cluster_state:ok"))
                })
            },
            "the cluster to serve every slot",
        );
    }

    /// The ports of the nodes that are running.
    fn live_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.ports
            .iter()
            .zip(&self.children)
            .filter(|(_, child)| child.is_some())
            .map(|(port, _)| *port)
    }

    /// Kills (by pid) the primary that serves `key` and returns its port.
    pub fn kill_primary_of(&mut self, key: &str) -> u16 {
        let port = self.live_ports().next().expect("a live node");
        let mut connection = client_on(port).expect("connect to a node");
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut connection)
            .expect("CLUSTER KEYSLOT");
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut connection)
            .expect("CLUSTER NODES");
        let primary = nodes
            .lines()
            .find(|line| {
                line.contains("master")
                    && line.split_whitespace().skip(8).any(|range| {
                        let (start, end) = range.split_once('-').unwrap_or((range, range));
                        match (start.parse::<u16>(), end.parse::<u16>()) {
                            (Ok(start), Ok(end)) => (start..=end).contains(&slot),
                            _ => false,
                        }
                    })
            })
            .expect("a primary serves the slot");
        let address = primary.split_whitespace().nth(1).expect("an address");
        let port: u16 = address
            .split('@')
            .next()
            .and_then(|address| address.rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok())
            .expect("a port");
        let index = self
            .ports
            .iter()
            .position(|p| *p == port)
            .expect("one of ours");
        stop_all(&mut self.children[index..=index]);
        port
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        stop_all(&mut self.children);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A primary and its replica, watched by one sentinel that promotes the replica within
/// a few seconds of the primary dying.
pub struct RedisSentinel {
    /// The replica's port: the primary after a failover.
    replica: u16,
    sentinel: u16,
    children: Vec<Option<Child>>,
    /// The sentinel's config file (the sentinel rewrites it), removed on drop.
    dir: PathBuf,
}

impl RedisSentinel {
    /// The name the sentinel knows the primary by.
    pub const MASTER: &'static str = "cache-primary";

    /// Starts the primary, the replica and the sentinel, and waits until the sentinel
    /// names the primary.
    pub fn start() -> Self {
        let dir = tempdir("sentinel");
        let (primary, replica, sentinel) = (free_port(), free_port(), free_port());
        let (primary_dir, replica_dir) = (dir.join("primary"), dir.join("replica"));
        for node_dir in [&primary_dir, &replica_dir] {
            std::fs::create_dir_all(node_dir).expect("create a node directory");
        }
        let primary_child = spawn_redis(primary, &primary_dir, &[]);
        wait_for_ping(primary);
        let replica_child = spawn_redis(
            replica,
            &replica_dir,
            &["--replicaof", "127.0.0.1", &primary.to_string()],
        );
        wait_for_ping(replica);
        let config = dir.join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "port {sentinel}
bind 127.0.0.1
dir {dir}
                 sentinel monitor {master} 127.0.0.1 {primary} 1
                 sentinel down-after-milliseconds {master} 1000
                 sentinel failover-timeout {master} 2000
                 sentinel parallel-syncs {master} 1
",
                dir = dir.display(),
                master = Self::MASTER,
            ),
        )
        .expect("write the sentinel config");
        let sentinel_child = Command::new(binary())
            .arg(&config)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sentinel");
        let fixture = Self {
            replica,
            sentinel,
            children: vec![
                Some(primary_child),
                Some(replica_child),
                Some(sentinel_child),
            ],
            dir,
        };
        wait_until(
            || fixture.named_primary() == Some(primary),
            "the sentinel to name the primary",
        );
        fixture
    }

    /// `CACHE_REDIS_SENTINEL_NODES` and `CACHE_REDIS_SENTINEL_MASTER`.
    pub fn vars(&self) -> [(&'static str, String); 2] {
        [
            (
                "CACHE_REDIS_SENTINEL_NODES",
                format!("127.0.0.1:{}", self.sentinel),
            ),
            ("CACHE_REDIS_SENTINEL_MASTER", Self::MASTER.to_owned()),
        ]
    }

    /// The port of the primary the sentinel names now.
    pub fn named_primary(&self) -> Option<u16> {
        let mut connection = client_on(self.sentinel).ok()?;
        let (_, port): (String, String) = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(Self::MASTER)
            .query(&mut connection)
            .ok()?;
        port.parse().ok()
    }

    /// Kills the primary (by pid) and waits until the sentinel names the replica.
    pub fn fail_over(&mut self) {
        stop_all(&mut self.children[0..1]);
        let replica = self.replica;
        wait_until_for(
            Duration::from_secs(30),
            || self.named_primary() == Some(replica),
            "the sentinel to promote the replica",
        );
    }
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        stop_all(&mut self.children);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory under the system's temporary directory for one fixture's files.
fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "redis-{what}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("create a fixture directory");
    dir
}

/// A free port whose cluster bus port (+10000) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port <= 55_535
            && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10_000)).is_ok()
            && reserve(port + 10_000)
        {
            return port;
        }
    }
}

fn cli_binary() -> PathBuf {
    std::env::var_os("REDIS_CLI_BIN").map_or_else(|| PathBuf::from("redis-cli"), PathBuf::from)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER_BIN")
        .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A port that was free a moment ago (the OS picks it; the listener is dropped), and
/// that this process has not handed out before: the OS may offer a port again as soon
/// as its listener is gone, and two servers of parallel tests must not race for it.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("find a free port");
        if reserve(port) {
            return port;
        }
    }
}

/// Marks `port` as handed out in this process; `false` if it already was.
fn reserve(port: u16) -> bool {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    HANDED_OUT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(port)
}

fn wait_until(ready: impl FnMut() -> bool, what: &str) {
    wait_until_for(Duration::from_secs(10), ready, what);
}

fn wait_until_for(patience: Duration, mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + patience;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A CA, a server certificate for `127.0.0.1` and `localhost`, and a client
/// certificate, made with the `openssl` command for one test.
pub struct TestCertificates {
    /// The directory holding them, removed on drop.
    pub dir: PathBuf,
}

impl TestCertificates {
    /// Makes the CA and both certificates (ECDSA P-256, valid for a day).
    pub fn make() -> Self {
        let dir = tempdir("tls");
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("run openssl (Debian/Ubuntu: apt-get install openssl)");
            assert!(
                output.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &key,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=Test CA",
                ],
            ]
            .concat(),
        );
        for (name, extension) in [
            ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            ("client", "extendedKeyUsage=clientAuth"),
        ] {
            let (key_file, csr, pem) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
            );
            openssl(
                &[
                    &["req"][..],
                    &key,
                    &[
                        "-keyout",
                        &key_file,
                        "-out",
                        &csr,
                        "-subj",
                        &format!("/CN={name}"),
                    ],
                ]
                .concat(),
            );
            std::fs::write(dir.join(format!("{name}.ext")), extension)
                .expect("write an extension file");
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "1",
                "-extfile",
                &format!("{name}.ext"),
            ]);
        }
        Self { dir }
    }

    /// The path of `file` (`ca.pem`, `client.pem`, `client.key`, ...) as text.
    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for TestCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `redis-server` that speaks only TLS, with [`TestCertificates`]' server certificate.
pub struct TlsRedisServer {
    port: u16,
    child: Option<Child>,
    /// The certificates it was started with.
    pub certificates: TestCertificates,
}

impl TlsRedisServer {
    /// Starts it; with `client_certificates`, clients must present a certificate the CA
    /// signed (`tls-auth-clients yes`).
    pub fn start(client_certificates: bool) -> Self {
        let certificates = TestCertificates::make();
        let port = free_port();
        let child = Command::new(binary())
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&certificates.dir)
            .args(["--tls-cert-file", &certificates.path("server.pem")])
            .args(["--tls-key-file", &certificates.path("server.key")])
            .args(["--tls-ca-cert-file", &certificates.path("ca.pem")])
            .args([
                "--tls-auth-clients",
                if client_certificates { "yes" } else { "no" },
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a TLS redis-server");
        let server = Self {
            port,
            child: Some(child),
            certificates,
        };
        wait_until(
            || TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok(),
            "the TLS redis-server to listen",
        );
        server
    }

    /// `rediss://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for TlsRedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
