//! PostgreSQL for the harness: where its server programs are, and a throwaway server.
//!
//! Generated projects with `database=postgres` start their own servers in their tests;
//! the full checks only check that the programs are there ([`binaries`]). The harness
//! runs a server itself ([`Server`]) where it runs a generated service as a user would,
//! since that service needs its database to start.
//!
//! PostgreSQL refuses to run as root: when the harness does, the server runs as the
//! `postgres` user that the distribution's package creates.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The programs a server needs.
const PROGRAMS: [&str; 2] = ["initdb", "postgres"];

/// How long a fresh server may take to accept connections.
const START_PATIENCE: Duration = Duration::from_secs(60);

/// The folder holding `initdb` and `postgres`: on `PATH`, or Debian's versioned
/// `/usr/lib/postgresql/<major>/bin`, which its package keeps off `PATH`.
pub fn binaries() -> Result<PathBuf, String> {
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    // The newest major first.
    debian.sort();
    debian.reverse();
    on_path
        .into_iter()
        .chain(debian)
        .find(|dir| PROGRAMS.iter().all(|program| dir.join(program).is_file()))
        .ok_or_else(|| {
            "PostgreSQL's server programs (initdb, postgres) are not installed; \
             the generated tests with database=postgres need them: apt-get install postgresql \
             (they land in /usr/lib/postgresql/<major>/bin)"
                .to_owned()
        })
}

/// A running server on a free loopback port, with trust authentication for the
/// `postgres` role; stopped by its pid and its data removed when dropped.
pub struct Server {
    process: Child,
    port: u16,
    /// The data directory, removed after the process.
    data: tempfile::TempDir,
}

impl Server {
    /// Creates a cluster in a fresh directory and starts it; panics naming the step that
    /// failed.
    pub fn start(port: u16) -> Self {
        let binaries = binaries().unwrap_or_else(|missing| panic!("{missing}"));
        let data = tempfile::Builder::new()
            .prefix("template-matrix-postgres-")
            .tempdir()
            .expect("a data directory");
        let user = server_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(data.path(), Some(uid), Some(gid))
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
            .arg(data.path())
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let process = as_user(Command::new(binaries.join("postgres")), user)
            .arg("-D")
            .arg(data.path())
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", data.path().display()))
            // Throwaway data: durability costs time and buys nothing here.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let server = Server {
            process,
            port,
            data,
        };
        server.wait_until_ready();
        server
    }

    /// `DATABASE_URL` of the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Waits for the status line of `postmaster.pid` (its eighth) to say `ready`, which
    /// the server writes once it accepts connections.
    fn wait_until_ready(&self) {
        let pid_file = self.data.path().join("postmaster.pid");
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            let status = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if status
                .lines()
                .nth(7)
                .is_some_and(|line| line.trim() == "ready")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections within {START_PATIENCE:?} (data in {})",
                self.data.path().display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: a smart shutdown, after which the backends are gone too.
        let _ = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status();
        let _ = self.process.wait();
    }
}

/// The `postgres` user's uid and gid when this process is root; `None` otherwise.
fn server_user() -> Option<(u32, u32)> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let entry = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres"))
        .expect("PostgreSQL refuses to run as root, and there is no postgres user to run it as");
    let id = |field: usize| entry.get(field).and_then(|id| id.parse().ok());
    id(2).zip(id(3))
}

/// `command` set to run as `user`, if any.
fn as_user(mut command: Command, user: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

#[test]
fn a_throwaway_server_starts_answers_and_stops() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port");
    let server = Server::start(port);
    let data = server.data.path().to_path_buf();
    assert!(server.url().ends_with(&format!(":{port}/postgres")));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the server does not answer once ready"
    );
    drop(server);
    assert!(!data.exists(), "the data directory outlived the server");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still answers after its drop"
    );
}
