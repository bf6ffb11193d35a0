//! The database as the running service uses it: the real binary as processes, talking
//! to a real {% if database == "sqlite" %}SQLite file{% else %}PostgreSQL server{% endif %}, over real HTTP. What outlives a restart, what two
//! instances share, what a database that is out of reach costs a request, and who
//! applies the migrations.

{% if database == "postgres" -%}
use std::net::TcpStream;
{% endif -%}
use std::ops::Range;
{%- if database == "postgres" %}
use std::process::Command;
{%- endif %}
{%- if database == "sqlite" %}
use std::str::FromStr;
{%- endif %}
use std::time::{Duration, Instant};

use serde_json::{Value, json};
{%- if redis %}
use service_cache::test_support::RedisServer;
{%- endif %}
use sqlx::Connection as _;
{%- if database == "sqlite" %}
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
{%- endif %}

{% if database == "postgres" -%}
use crate::postgres::PostgresServer;
{% endif -%}
{% if cli -%}
use crate::process::{Process, assert_exit, run, stderr, stdout};
{% else -%}
use crate::process::Process;
{% endif -%}
use crate::test_database::TestDatabase;
use crate::web::{json_field, port_of, send, spawn_web, start_web, status_of};

/// The test's own connection to the database.
{%- if database == "sqlite" %}
type TestConnection = sqlx::SqliteConnection;
{%- else %}
type TestConnection = sqlx::PgConnection;
{%- endif %}

/// How long a test waits for something that should happen soon before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// An answer of the service, read whole.
struct Answer {
    /// The status code.
    status: u16,
    /// The status line and the headers.
    head: String,
    /// The body, as text.
    body: String,
    /// From connecting to the end of the answer.
    took: Duration,
}

impl Answer {
    /// The value of the header `name`, if there is one.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (header, value) = line.split_once(':')?;
            header.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The body as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {self}"))
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n\n{} (after {:?})", self.head, self.body, self.took)
    }
}

/// Sends `method path` with `body` (JSON, when not empty) on a fresh connection, closed
/// after the answer.
fn request(port: u16, method: &str, path: &str, body: &str) -> Answer {
    let started = Instant::now();
    let content_type = if body.is_empty() {
        ""
    } else {
        "\r\nContent-Type: application/json"
    };
    let answer = send(
        port,
        &format!("{method} {path} HTTP/1.1{content_type}"),
        body,
    );
    let took = started.elapsed();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer to {method} {path}: {answer:?}"));
    Answer {
        status: status_of(head),
        head: head.to_owned(),
        body: body.to_owned(),
        took,
    }
}

fn get(port: u16, path: &str) -> Answer {
    request(port, "GET", path, "")
}

fn put(port: u16, path: &str, body: &Value) -> Answer {
    request(port, "PUT", path, &body.to_string())
}

/// `{"id": id, "name": name, "description": null}`, as the service answers it.
fn item(id: u64, name: &str) -> Value {
    json!({ "id": id, "name": name, "description": null })
}

{%- if redis %}

/// Asks `GET path` until `wanted` holds for the answer, for at most 2 s, and returns that
/// answer. For what another instance learns through Redis: at once on a quiet machine,
/// a little later on a loaded one, never much later.
fn get_until(port: u16, path: &str, wanted: impl Fn(&Answer) -> bool) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let answer = get(port, path);
        if wanted(&answer) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} still answers this 2 s on:\n{answer}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
{%- endif %}

/// Stops `service` with SIGTERM and checks that it exits 0; returns its whole log.
fn stop(mut service: Process) -> String {
    service.signal("TERM");
    let status = service.wait_for_exit();
    let log = service.log();
    assert!(status.success(), "{status}; stderr:\n{log}");
    log
}

/// The log lines of a `web` process that say it applied migrations.
fn migration_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("applied the database migrations"))
        .collect()
}

/// The versions of the files in `migrations/` (`0001_create_items.sql` is 1), in order:
/// what a current schema has applied.
fn migration_versions() -> Vec<i64> {
    let mut versions: Vec<i64> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .expect("read migrations/")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".sql")?.split('_').next()?.parse().ok()
            })
            .collect();
    versions.sort_unstable();
    versions
}

/// A runtime for the few async steps of these blocking tests (the test's own queries).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The rows of `_sqlx_migrations` in the database at `url`: (version, success).
fn applied_migrations(url: &str) -> Vec<(i64, bool)> {
    runtime().block_on(async {
        let mut connection = TestConnection::connect(url)
            .await
            .expect("connect to the test database");
        let rows = sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut connection)
            .await
            .expect("read _sqlx_migrations");
        connection.close().await.unwrap();
        rows
    })
}

#[test]
fn items_outlive_the_process_that_wrote_them() {
    // {% if database == "sqlite" %}A file in a directory of the test's own{% else %}A database of the test's own on the shared server{% endif %}, for both processes.
    let database = TestDatabase::new();
    let vars = [("DATABASE_URL", database.url())];
    let (first, port) = start_web(&[], &vars);
    let pen = json!({ "name": "pen", "description": "blue ink" });
    let created = put(port, "/items/7", &pen);
    assert_eq!(created.status, 201, "{created}");
    let log = stop(first);
    assert_eq!(migration_lines(&log).len(), 1, "{log}");

    let (second, port) = start_web(&[], &vars);
    let stored = json!({ "id": 7, "name": "pen", "description": "blue ink" });
    let fetched = get(port, "/items/7");
    assert_eq!(fetched.status, 200, "{fetched}");
    assert_eq!(fetched.json(), stored);
    let listing = get(port, "/items");
    assert_eq!(listing.status, 200, "{listing}");
    assert_eq!(listing.json(), json!([stored]));
    // The schema was there: nothing left to apply.
    let log = stop(second);
    assert!(migration_lines(&log).is_empty(), "{log}");
}

#[test]
fn two_instances_on_one_database_see_each_others_writes() {
    let database = TestDatabase::new();
{%- if redis %}
    // One Redis too, as replicas share it: a write through one instance drops what the
    // other cached.
    let redis = RedisServer::start();
    let redis_url = redis.url();
    let vars = [
        ("DATABASE_URL", database.url()),
        ("CACHE_REDIS_URL", redis_url.as_str()),
    ];
{%- else %}
    let vars = [("DATABASE_URL", database.url())];
{%- endif %}
    let (first, a) = start_web(&[], &vars);
    let (second, b) = start_web(&[], &vars);

    assert_eq!(put(a, "/items/1", &json!({ "name": "pen" })).status, 201);
    let fetched = get(b, "/items/1");
    assert_eq!((fetched.status, fetched.json()), (200, item(1, "pen")));
    assert_eq!(put(b, "/items/2", &json!({ "name": "ink" })).status, 201);
    let fetched = get(a, "/items/2");
    assert_eq!((fetched.status, fetched.json()), (200, item(2, "ink")));
    for port in [a, b] {
        let listing = get(port, "/items");
        assert_eq!(listing.status, 200, "{listing}");
        assert_eq!(listing.json(), json!([item(1, "pen"), item(2, "ink")]));
    }
{%- if redis %}

    // The second instance serves item 1 from its cache; the first replaces it. The
    // second's copy goes when Redis's invalidation message reaches it.
    let cached = get(b, "/items/1");
    assert_eq!(cached.header("x-cache"), Some("hit"), "{cached}");
    assert_eq!(put(a, "/items/1", &json!({ "name": "pencil" })).status, 200);
    let fresh = get_until(b, "/items/1", |answer| answer.json() != item(1, "pen"));
    assert_eq!((fresh.status, fresh.json()), (200, item(1, "pencil")));
    assert_eq!(fresh.header("x-cache"), Some("miss"), "{fresh}");

    // The same for a page of the listing (which that write dropped too).
    let listed = json!([item(1, "pencil"), item(2, "ink")]);
    get_until(b, "/items", |answer| answer.json() == listed);
    let cached = get(b, "/items");
    assert_eq!(cached.header("x-cache"), Some("hit"), "{cached}");
    assert_eq!(cached.json(), listed);
    assert_eq!(put(a, "/items/3", &json!({ "name": "nib" })).status, 201);
    let fresh = get_until(b, "/items", |answer| answer.json() != listed);
    assert_eq!(
        fresh.json(),
        json!([item(1, "pencil"), item(2, "ink"), item(3, "nib")])
    );
    assert_eq!(fresh.header("x-cache"), Some("miss"), "{fresh}");
{%- endif %}
    stop(first);
    stop(second);
}

/// `DATABASE_TIMEOUT_MS` in the tests of a database that is out of reach.
const TIMEOUT: Duration = Duration::from_millis(500);

/// What a request that waits for [`TIMEOUT`] may take at most: a wide margin for a
/// loaded machine, far below a client's patience.
const BOUND: Duration = Duration::from_secs(3);

/// What a request that waits for nothing may take at most, on a loaded machine too.
const QUICK: Duration = Duration::from_secs(1);

/// Checks that the item routes answer 503 (a JSON error with `retry-after`) and `/ready`
/// 503 naming the database as down for one of `reasons`, each after a time in `took`;
/// and that `/health` answers 200 at once. `id` is an item never read before, so that no
/// cached answer stands in for the database.
fn assert_unavailable(port: u16, id: u64, reasons: &[&str], took: Range<Duration>) {
    let item_path = format!("/items/{id}");
    let page_path = format!("/items?page={id}");
    let item = json!({ "name": "pen" }).to_string();
    for (method, path, body) in [
        ("GET", &item_path, ""),
        ("PUT", &item_path, item.as_str()),
        ("DELETE", &item_path, ""),
        ("GET", &page_path, ""),
    ] {
        let answer = request(port, method, path, body);
        assert_eq!(answer.status, 503, "{method} {path}: {answer}");
        assert_eq!(
            answer.header("retry-after"),
            Some("1"),
            "{method} {path}: {answer}"
        );
        let error = &answer.json()["error"];
        assert_eq!(error, "service_unavailable", "{method} {path}: {answer}");
        assert!(
            took.contains(&answer.took),
            "{method} {path} not within {took:?}: {answer}"
        );
    }
    let ready = get(port, "/ready");
    assert_eq!(ready.status, 503, "{ready}");
    let check = &ready.json()["checks"]["database"];
    assert_eq!(check["status"], "down", "{ready}");
    let reason = check["reason"].as_str().unwrap_or_default();
    assert!(reasons.contains(&reason), "not one of {reasons:?}: {ready}");
    assert!(took.contains(&ready.took), "not within {took:?}: {ready}");
    // Liveness never asks the database.
    let health = get(port, "/health");
    assert_eq!(health.status, 200, "{health}");
    assert!(health.took < QUICK, "{health}");
}

/// Asks `GET /items/{id}` until it answers 200 (at most [`PATIENCE`]) and checks that
/// `/ready` is 200 again too.
fn assert_recovers(port: u16, id: u64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = get(port, &format!("/items/{id}"));
        if answer.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not served again {PATIENCE:?} after the database came back:\n{answer}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let ready = get(port, "/ready");
    assert_eq!(ready.status, 200, "{ready}");
}
{%- if database == "postgres" %}

/// A service on a new database of `server`, with `DATABASE_TIMEOUT_MS` at [`TIMEOUT`] and
/// item 1 written; returns it, its port and `DATABASE_URL`.
fn start_with_one_item(server: &PostgresServer) -> (Process, u16, String) {
    let url = server.create_database("app");
    let timeout = TIMEOUT.as_millis().to_string();
    let (service, port) = start_web(
        &[],
        &[("DATABASE_URL", &url), ("DATABASE_TIMEOUT_MS", &timeout)],
    );
    assert_eq!(put(port, "/items/1", &json!({ "name": "pen" })).status, 201);
    (service, port, url)
}

#[test]
fn a_paused_server_costs_each_request_the_timeout_and_the_service_recovers() {
    // A server of this test's own, to pause. Declared before the service, so that a
    // failing test stops the service first, then the server.
    let server = PostgresServer::start();
    let (service, port, _) = start_with_one_item(&server);

    // Paused, the server takes connections (the kernel does) and answers nothing: each
    // request waits for DATABASE_TIMEOUT_MS, and no longer. /ready asks on a pooled
    // connection while the pool holds one ("timeout"), else on a new one that never gets
    // past the handshake ("unreachable"); the timed-out requests may have emptied the pool.
    server.signal_all("STOP");
    assert_unavailable(port, 2, &["timeout", "unreachable"], TIMEOUT * 3 / 4..BOUND);
    server.signal_all("CONT");
    assert_recovers(port, 1);
    stop(service);
}

#[test]
fn a_stopped_server_gives_503_within_the_timeout_and_ready_says_refused() {
    let server = PostgresServer::start();
    let (service, port, url) = start_with_one_item(&server);

    // A fast shutdown (SIGINT), which ends the service's sessions too. (SIGTERM would wait
    // for them to end.) Then nothing listens on the port.
    let status = Command::new("kill")
        .args(["-INT", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let address = url
        .rsplit_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(address, _)| address.to_owned())
        .expect("an address in the URL");
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(&address).is_ok() {
        assert!(Instant::now() < deadline, "postgres did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The pool retries a refused connection until DATABASE_TIMEOUT_MS (sqlx takes it for
    // a server starting up), so a route answers within that bound; /ready connects
    // directly and says at once why.
    assert_unavailable(port, 2, &["refused"], Duration::ZERO..BOUND);
    let ready = get(port, "/ready");
    assert!(ready.took < QUICK, "{ready}");
    stop(service);
}
{%- else %}

#[test]
fn a_database_another_process_locks_gives_503_within_the_timeout() {
    // A SQLite file does not go down; what keeps the service from it is another process
    // holding its lock (a backup, a maintenance job). In WAL mode, a connection in
    // exclusive locking mode keeps every other connection out, and it can take that lock
    // only while no other connection is open: so the test migrates and locks the file
    // before the service ever connects (DATABASE_MIGRATE=false, the pool connects on
    // the first request).
    let database = TestDatabase::new();
    let runtime = runtime();
    let mut lock = runtime.block_on(async {
        let options = SqliteConnectOptions::from_str(database.url())
            .expect("a SQLite URL")
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let mut connection = TestConnection::connect_with(&options)
            .await
            .expect("open the test database");
        {{crate_name}}::database::migrations::migrator()
            .run(&mut connection)
            .await
            .expect("migrate the test database");
        sqlx::raw_sql(
            "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; \
             INSERT INTO items (id, name) VALUES (1, 'pen'); COMMIT",
        )
        .execute(&mut connection)
        .await
        .expect("lock the test database");
        connection
    });
    let timeout = TIMEOUT.as_millis().to_string();
    let (service, port) = start_web(
        &[],
        &[
            ("DATABASE_URL", database.url()),
            ("DATABASE_TIMEOUT_MS", &timeout),
            ("DATABASE_MIGRATE", "false"),
        ],
    );
    // SQLite reports the lock after its busy timeout, which is the same bound.
    assert_unavailable(port, 2, &["timeout", "unreachable"], TIMEOUT * 3 / 4..BOUND);
    // Closing the connection releases the lock; the service recovers without a restart.
    runtime.block_on(async {
        sqlx::raw_sql("PRAGMA locking_mode = NORMAL")
            .execute(&mut lock)
            .await
            .expect("leave exclusive mode");
        lock.close().await.expect("close the test's connection");
    });
    assert_recovers(port, 1);
    stop(service);
}
{%- endif %}

#[test]
fn instances_starting_together_apply_each_migration_once() {
    let database = TestDatabase::new();
    let vars = [("DATABASE_URL", database.url())];
    // Both started before either is waited for: they meet the empty database together.
    let mut services = [spawn_web(&[], &vars), spawn_web(&[], &vars)];
    for service in &mut services {
        let port = port_of(service);
        let ready = get(port, "/ready");
        assert_eq!(ready.status, 200, "{ready}");
    }
    let logs: Vec<String> = services.into_iter().map(stop).collect();
    let announced: Vec<&str> = logs.iter().flat_map(|log| migration_lines(log)).collect();
    assert_eq!(announced.len(), 1, "{logs:#?}");
    let versions = migration_versions();
    assert_eq!(
        json_field(announced[0], "applied"),
        Some(versions.len().to_string()),
        "{}",
        announced[0]
    );

    let rows = applied_migrations(database.url());
    let applied: Vec<i64> = rows.iter().map(|(version, _)| *version).collect();
    assert_eq!(applied, versions, "one row per migration file: {rows:?}");
    assert!(rows.iter().all(|(_, success)| *success), "{rows:?}");
}

#[test]
fn without_migrations_at_start_up_an_older_schema_is_refused_at_start_up() {
    let database = TestDatabase::new();
    let vars = [
        ("APP_PORT", "0"),
        ("DATABASE_URL", database.url()),
        ("DATABASE_MIGRATE", "false"),
    ];
    // The database answers but lacks the tables: every item route would fail on it.
    let mut refused = Process::start(&["web"], &vars);
    let status = refused.wait_for_exit();
    let log = refused.log();
    assert_eq!(status.code(), Some(1), "{log}");
    let error = log
        .lines()
        .find(|line| line.contains("migrations"))
        .unwrap_or_else(|| panic!("no line names the migrations:\n{log}"));
    assert!(error.contains("DATABASE_MIGRATE=true"), "{error}");
{%- if cli %}
    assert!(error.contains("db migrate"), "{error}");
    assert_exit(&run(&["db", "migrate"], &vars), 0);
{%- else %}
    // Applied by a start with DATABASE_MIGRATE=true.
    let (migrating, _) = start_web(&[], &[("DATABASE_URL", database.url())]);
    stop(migrating);
{%- endif %}
    // Current, it serves without migrating.
    let (service, port) = start_web(&[], &vars[1..]);
    assert_eq!(put(port, "/items/1", &json!({ "name": "pen" })).status, 201);
    let log = stop(service);
    assert!(migration_lines(&log).is_empty(), "{log}");
}
{%- if database == "sqlite" %}

#[test]
fn the_sqlite_file_is_created_with_its_folder_on_the_first_start() {
    let database = TestDatabase::new();
    let url = database.url().replace("test.db", "data/items/app.db");
    let (service, port) = start_web(&[], &[("DATABASE_URL", &url)]);
    assert_eq!(put(port, "/items/1", &json!({ "name": "pen" })).status, 201);
    stop(service);
    let file = std::path::PathBuf::from(url.trim_start_matches("sqlite:"));
    assert!(file.is_file(), "{} was not created", file.display());
}
{%- endif %}
{%- if cli %}

#[test]
fn db_migrate_applies_what_is_pending_once() {
    let database = TestDatabase::new();
    let vars = [("DATABASE_URL", database.url())];
    let first = run(&["db", "migrate"], &vars);
    assert_exit(&first, 0);
    let expected = format!("applied {} migration(s)", migration_versions().len());
    assert!(stdout(&first).contains(&expected), "{}", stdout(&first));
    let again = run(&["db", "migrate"], &vars);
    assert_exit(&again, 0);
    assert!(
        stdout(&again).contains("applied 0 migration(s)"),
        "{}",
        stdout(&again)
    );
    let applied = applied_migrations(database.url());
    assert_eq!(applied.len(), migration_versions().len(), "{applied:?}");
}

#[test]
fn db_migrate_names_an_unreachable_database() {
{%- if database == "postgres" %}
    // Nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("find a free port");
    let unreachable = format!("postgres://postgres@127.0.0.1:{port}/app");
    let causes = ["refused"];
{%- else %}
    // The file's folder cannot be made: its parent is a device, not a folder.
    let unreachable = "sqlite:/dev/null/app.db".to_owned();
    let causes = ["unable to open database file"];
{%- endif %}
    let failed = run(&["db", "migrate"], &[("DATABASE_URL", &unreachable)]);
    assert_exit(&failed, 1);
    assert!(stdout(&failed).is_empty(), "{}", stdout(&failed));
    let errors = stderr(&failed);
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 1, "{errors}");
    assert!(lines[0].starts_with("error: "), "{errors}");
    assert!(lines[0].contains("migrations"), "{errors}");
    assert!(
        causes.iter().any(|cause| lines[0].contains(cause)),
        "the cause is not named: {errors}"
    );
}

#[test]
fn config_check_never_prints_the_database_password() {
{%- if database == "postgres" %}
    let output = run(
        &["config", "check"],
        &[("DATABASE_URL", "postgres://app:s3cret@db.internal:5432/app")],
    );
    assert_exit(&output, 0);
    let (settings, errors) = (stdout(&output), stderr(&output));
    assert!(
        settings.contains("\nDATABASE_URL=postgres://app:[redacted]@db.internal:5432/app\n"),
        "{settings}"
    );
    assert!(
        !settings.contains("s3cret") && !errors.contains("s3cret"),
        "{settings}{errors}"
    );

    let (wrong, expected) = ("mysql://app:s3cret@db.internal/app", "postgres://");
{%- else %}
    let (wrong, expected) = ("postgres://app:s3cret@db.internal/app", "sqlite:");
{%- endif %}
    let output = run(&["config", "check"], &[("DATABASE_URL", wrong)]);
    assert_exit(&output, 78);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    let errors = stderr(&output);
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 1, "{errors}");
    assert!(lines[0].contains("DATABASE_URL"), "{errors}");
    assert!(lines[0].contains(expected), "{errors}");
    assert!(!errors.contains("s3cret"), "{errors}");
}
{%- endif %}
