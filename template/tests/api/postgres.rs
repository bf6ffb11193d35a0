//! A real PostgreSQL server for the tests, from the distribution's binaries (`initdb`
//! and `postgres`, found on `PATH` or under `/usr/lib/postgresql/*/bin`), on a free
//! loopback port, in a fresh data directory under the system's temporary directory.
//!
//! PostgreSQL refuses to run as root: when the tests do, the server runs as the
//! `postgres` user that the distribution's package creates. [`PostgresServer::shared`]
//! is one server for the whole test binary: a watcher stops it by its pid once this
//! process is gone. [`PostgresServer::start`] gives a test a server of its own, to stop
//! or pause, stopped by pid when dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection as _;

/// How long the server may take to accept connections.
const START_PATIENCE: Duration = Duration::from_secs(60);

/// A running server.
pub struct PostgresServer {
    /// Its port on 127.0.0.1.
    port: u16,
    /// The `postgres` process.
    process: Child,
    /// The data directory, removed when the server stops.
    data: PathBuf,
}

impl PostgresServer {
    /// The test binary's server, started on first use.
    pub fn shared() -> &'static Self {
        static SERVER: OnceLock<PostgresServer> = OnceLock::new();
        SERVER.get_or_init(|| {
            let server = Self::start();
            server.stop_when_this_process_ends();
            server
        })
    }

    /// A server of this test's own.
    pub fn start() -> Self {
        let binaries = binaries();
        let data = std::env::temp_dir().join(format!(
            "{}-postgres-{}-{}",
            env!("CARGO_PKG_NAME"),
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&data).expect("create the data directory");
        let user = server_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))
                .expect("give the data directory to the postgres user");
        }
        let initdb = as_user(Command::new(binaries.join("initdb")), user)
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_port();
        let process = as_user(Command::new(binaries.join("postgres")), user)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", data.display()))
            // Throwaway data: durability costs time and buys nothing here.
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let server = Self {
            port,
            process,
            data,
        };
        server.wait_until_ready();
        server
    }

    /// The server's pid, to stop or pause it.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `DATABASE_URL` for the database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates the database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let admin = self.url("postgres");
        let statement = format!("CREATE DATABASE \"{name}\"");
        block_on(async move {
            let mut connection = sqlx::PgConnection::connect(&admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut connection)
                .await?;
            connection.close().await
        })
        .expect("create a test database");
        self.url(name)
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`) to the server and every backend process
    /// it forked: they share its process group only when it leads one, so they are
    /// found by their parent.
    pub fn signal_all(&self, signal: &str) {
        let mut pids = vec![self.pid()];
        pids.extend(children(self.pid()));
        for pid in pids {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid.to_string()])
                .status();
        }
    }

    fn wait_until_ready(&self) {
        let url = self.url("postgres");
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            let ready = block_on({
                let url = url.clone();
                async move { sqlx::PgConnection::connect(&url).await?.close().await }
            });
            match ready {
                Ok(()) => return,
                Err(error) if Instant::now() > deadline => {
                    panic!("postgres did not accept connections within {START_PATIENCE:?}: {error}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Starts a shell that waits for this process to end, then stops the server by its
    /// pid and removes its data: statics are never dropped.
    #[expect(
        clippy::zombie_processes,
        reason = "the watcher outlives this process on purpose"
    )]
    fn stop_when_this_process_ends(&self) {
        let script = "while kill -0 \"$0\" 2>/dev/null; do sleep 0.5; done; \
                      kill -INT \"$1\"; while kill -0 \"$1\" 2>/dev/null; do sleep 0.1; done; \
                      rm -rf \"$2\"";
        Command::new("sh")
            .args(["-c", script])
            .arg(std::process::id().to_string())
            .arg(self.pid().to_string())
            .arg(&self.data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server's watcher");
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // Paused servers must be woken to stop. INT is PostgreSQL's fast shutdown: it
        // does not wait for the clients still connected (TERM would).
        self.signal_all("CONT");
        let _ = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Runs `future` on a runtime of its own, on a thread of its own, so that sync and
/// async tests alike can call it.
fn block_on<T: Send + 'static>(future: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    })
    .join()
    .expect("the thread ran to its end")
}

/// The folder of `initdb` and `postgres`.
fn binaries() -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                return dir;
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|dir| dir.join("initdb").is_file());
    versions.sort_by_key(|dir| version_of(dir));
    versions.pop().unwrap_or_else(|| {
        panic!("PostgreSQL's server is not installed: initdb and postgres are neither on PATH nor under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    })
}

/// `15` from `/usr/lib/postgresql/15/bin`.
fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .and_then(|name| name.parse().ok())
        .unwrap_or(0)
}

/// The uid and gid to run the server as: the `postgres` user when the tests run as
/// root (which PostgreSQL refuses), nobody else otherwise.
fn server_user() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let is_root = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        == Some("0");
    if !is_root {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let entry = passwd
        .lines()
        .find(|line| line.starts_with("postgres:"))
        .expect("running as root, the server needs the postgres user (apt-get install postgresql creates it)");
    let fields: Vec<&str> = entry.split(':').collect();
    Some((
        fields[2].parse().expect("a uid"),
        fields[3].parse().expect("a gid"),
    ))
}

/// `command`, run from the temporary directory (which every user may enter) and as
/// `user` when there is one.
fn as_user(mut command: Command, user: Option<(u32, u32)>) -> Command {
    command.current_dir(std::env::temp_dir());
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

/// The pids whose parent is `pid`, from `/proc`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|candidate| {
            std::fs::read_to_string(format!("/proc/{candidate}/stat"))
                .ok()
                .and_then(|stat| {
                    // The fields after the command name (which is in parentheses).
                    let rest = stat.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("find a free port")
}
