//! A database of its own for every test{% if database == "sqlite" %}: a SQLite file in a fresh directory under
//! cargo's scratch space for tests, removed when the test ends{% else %}: a fresh database on the PostgreSQL server
//! this test binary starts ([`crate::postgres`]), so tests run in parallel without
//! seeing each other's rows{% endif %}.

{% if database == "sqlite" -%}
use std::path::PathBuf;
{% endif -%}
use std::sync::atomic::{AtomicU32, Ordering};

/// Numbers the databases of this test binary.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// One test's database; gone when dropped{% if database == "postgres" %} (the server removes every test database when
/// the test binary ends){% endif %}.
pub struct TestDatabase {
    /// `DATABASE_URL` for it.
    url: String,
{%- if database == "sqlite" %}
    /// The directory holding the file and its `-wal` and `-shm` companions.
    dir: PathBuf,
{%- endif %}
}

impl TestDatabase {
    /// A new, empty database (no tables: migrations run when the service starts).
    pub fn new() -> Self {
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
{%- if database == "sqlite" %}
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("db-{}-{number}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test database's directory");
        let url = format!("sqlite:{}", dir.join("test.db").display());
        Self { url, dir }
{%- else %}
        let name = format!("test_{}_{number}", std::process::id());
        let url = crate::postgres::PostgresServer::shared().create_database(&name);
        Self { url }
{%- endif %}
    }

    /// `DATABASE_URL` for this database.
    pub fn url(&self) -> &str {
        &self.url
    }
}
{%- if database == "sqlite" %}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
{%- endif %}
