//! The database behind the example resource: a sqlx pool{% if database == "sqlite" %} on SQLite{% else %} on PostgreSQL{% endif %}, its migrations
//! and its health.
//!
//! [`Database`] is built once, into the start-up context, and connects lazily: building
//! it never touches the server, so `config check` and `--help` work while the database
//! is down, and the first query connects. `web` applies pending migrations before it
//! serves (unless `DATABASE_MIGRATE=false`); `db migrate` applies them on demand.
//!
//! Every query goes through [`Database::run`]: bounded by `DATABASE_TIMEOUT_MS`, waiting
//! for a connection included, so a database that hangs costs a request that long and no
//! longer; timed into `db_query_duration_seconds`; and its error sorted into
//! [`DatabaseError`] (unavailable, or a query the database refused).
//!
//! Queries are checked at run time (`sqlx::query`, not `sqlx::query!`), so building
//! needs no database; the tests run every query against a real one.

mod error;
pub mod migrations;

use std::future::Future;
{%- if database == "sqlite" %}
use std::str::FromStr;
{%- endif %}
use std::time::{Duration, Instant};

use sqlx::ConnectOptions as _;
use sqlx::Connection as _;
use sqlx::migrate::Migrate as _;
{% if database == "sqlite" -%}
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
{% else -%}
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
{% endif %}
pub use error::DatabaseError;

use crate::metrics::database::DatabaseMetrics;
use crate::settings::DatabaseSettings;

/// The database this service was generated for.
{%- if database == "sqlite" %}
pub type Db = sqlx::Sqlite;
{%- else %}
pub type Db = sqlx::Postgres;
{%- endif %}

/// A connection of the pool, returned to it when dropped.
pub type Connection = sqlx::pool::PoolConnection<Db>;

/// The pool and what every query is measured against; cheap to clone (handles only).
#[derive(Clone)]
pub struct Database {
    /// The connections, opened on demand up to `DATABASE_MAX_CONNECTIONS`.
    pool: sqlx::Pool<Db>,
    /// `DATABASE_TIMEOUT_MS`.
    timeout: Duration,
    /// Query durations and pool waits; `None` when metrics are off.
    metrics: Option<DatabaseMetrics>,
}

impl Database {
    /// A pool for `settings`, not connected yet. `metrics` receives every query's
    /// duration.
    pub fn new(settings: &DatabaseSettings, metrics: Option<DatabaseMetrics>) -> Self {
{%- if database == "sqlite" %}
        // Checked when the settings were read.
        let options = SqliteConnectOptions::from_str(settings.url.expose())
            .expect("DATABASE_URL was checked at start-up")
            .create_if_missing(true)
            // Readers do not wait for the writer, and a commit costs no fsync of the
            // database file: the usual set-up for SQLite behind a server.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // A writer waits for another's lock this long before it reports busy.
            .busy_timeout(settings.timeout);
        let pool = SqlitePoolOptions::new()
{%- else %}
        let options: PgConnectOptions = settings
            .url
            .expose()
            .parse()
            .expect("DATABASE_URL was checked at start-up");
        // The server gives up on a statement the service has stopped waiting for.
        let statement_timeout = settings.timeout.as_millis().to_string();
        let options = options.options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
{%- endif %}
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.timeout)
            .connect_lazy_with(options);
        Self {
            pool,
            timeout: settings.timeout,
            metrics,
        }
    }

    /// The pool, for the metrics that read its size.
    pub fn pool(&self) -> &sqlx::Pool<Db> {
        &self.pool
    }

    /// Runs `query` on a connection of the pool, bounded by `DATABASE_TIMEOUT_MS`
    /// (waiting for the connection included) and timed under the label `name`.
    ///
    /// ```ignore
    /// let count: i64 = database
    ///     .run("items.count", |mut connection| async move {
    ///         sqlx::query_scalar("SELECT COUNT(*) FROM items")
    ///             .fetch_one(&mut *connection)
    ///             .await
    ///     })
    ///     .await?;
    /// ```
    ///
    /// # Errors
    /// [`DatabaseError::Timeout`] past the bound, [`DatabaseError::Unreachable`] when no
    /// connection could be opened within it, [`DatabaseError::Unavailable`] when the
    /// connection failed, [`DatabaseError::Query`] when the database refused the query.
    pub async fn run<T, F, Fut>(&self, name: &'static str, query: F) -> Result<T, DatabaseError>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let started = Instant::now();
        let work = async {
            if self.pool.num_idle() == 0
                && let Some(metrics) = &self.metrics
            {
                metrics.waited();
            }
            let connection = self.pool.acquire().await?;
            query(connection).await
        };
        let outcome = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            // The pool gives up when its own bound (the same one) passes. With no
            // connection open, it was retrying to connect: sqlx retries a refused
            // connection until then, taking it for a server starting up.
            Ok(Err(sqlx::Error::PoolTimedOut)) if self.pool.size() == 0 => {
                Err(DatabaseError::Unreachable(self.timeout))
            }
            Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => {
                Err(DatabaseError::Timeout(self.timeout))
            }
            Ok(Err(error)) => Err(DatabaseError::from(error)),
        };
        if let Some(metrics) = &self.metrics {
            metrics.observe(name, outcome.as_ref().err(), started.elapsed());
        }
        outcome
    }

    /// Whether the database answers a trivial query within `DATABASE_TIMEOUT_MS`.
    ///
    /// With no connection open, the check connects directly rather than through the
    /// pool, so that a server that refuses connections is reported as such at once
    /// (the pool would retry until the timeout and say only that it passed).
    ///
    /// # Errors
    /// Why it does not.
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        if self.pool.size() > 0 {
            return self
                .run("ping", |mut connection| async move {
                    sqlx::query("SELECT 1").execute(&mut *connection).await
                })
                .await
                .map(drop);
        }
        let mut connection = self.connect().await?;
        let answered = tokio::time::timeout(
            self.timeout,
            sqlx::query("SELECT 1").execute(&mut connection),
        )
        .await;
        let _ = connection.close().await;
        match answered {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error.into()),
            Err(_elapsed) => Err(DatabaseError::Timeout(self.timeout)),
        }
    }

    /// Applies the migrations this binary has and the database lacks, and returns how
    /// many it applied. Several processes starting at once apply each migration once:
{%- if database == "sqlite" %}
    /// the whole run is one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
    /// first, so a second process waits for it (up to `DATABASE_TIMEOUT_MS`) and then
    /// finds nothing left to do. Not bounded otherwise: a migration takes what it takes.
{%- else %}
    /// the run holds PostgreSQL's advisory lock for migrations, so a second process waits
    /// for it and then finds nothing left to do. Not bounded by `DATABASE_TIMEOUT_MS`:
    /// a migration takes what it takes (the session lifts `statement_timeout`).
{%- endif %}
    ///
    /// It runs on a connection of its own, outside the pool, closed at the end: the
    /// connection error, if any, is the one reported, and closing the session
    /// {%- if database == "sqlite" %} ends the transaction{% else %} lifts the lock{% endif %} whatever happened.
    ///
    /// # Errors
    /// When the database cannot be reached, a migration fails (it is rolled back), or
    /// one that already ran was edited since (its checksum differs).{% if database == "sqlite" %} The file's folder is
    /// created first when it is missing.{% endif %}
    pub async fn migrate(&self) -> Result<usize, DatabaseError> {
        let migrator = migrations::migrator();
{%- if database == "sqlite" %}
        // SQLite creates the file, not its folder (`sqlite:data/app.db`). A folder that
        // cannot be made shows as the file failing to open, which names it.
        let file = self.pool.connect_options().get_filename().to_owned();
        if let Some(folder) = file
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
        {
            let _ = std::fs::create_dir_all(folder);
        }
        let mut connection = self.connect().await?;
        let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await?;
        let applied = apply(&migrator, &mut transaction).await?;
        transaction.commit().await?;
{%- else %}
        let mut connection = self.connect().await?;
        sqlx::query("SET statement_timeout = 0")
            .execute(&mut connection)
            .await?;
        connection.lock().await.map_err(sqlx::Error::from)?;
        let applied = apply(&migrator, &mut connection).await?;
        connection.unlock().await.map_err(sqlx::Error::from)?;
{%- endif %}
        connection.close().await?;
        Ok(applied)
    }

    /// How many of this binary's migrations the database lacks, without changing it
    /// (what `web` checks at start-up when `DATABASE_MIGRATE=false`).
    ///
    /// # Errors
    /// When the database cannot be reached or read.
    pub async fn pending(&self) -> Result<usize, DatabaseError> {
        let mut connection = self.connect().await?;
{%- if database == "sqlite" %}
        let table: Option<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(migrations::TABLE)
                .fetch_optional(&mut connection)
                .await?;
{%- else %}
        let table: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(migrations::TABLE)
            .fetch_one(&mut connection)
            .await?;
{%- endif %}
        let applied: Vec<i64> = match table {
            Some(_) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT version FROM {} WHERE success",
                    migrations::TABLE
                )))
                .fetch_all(&mut connection)
                .await?
            }
            None => Vec::new(),
        };
        let _ = connection.close().await;
        Ok(migrations::migrator()
            .iter()
            .filter(|migration| !applied.contains(&migration.version))
            .count())
    }

    /// A connection of its own, outside the pool, opened within `DATABASE_TIMEOUT_MS`.
    async fn connect(&self) -> Result<<Db as sqlx::Database>::Connection, DatabaseError> {
        match tokio::time::timeout(self.timeout, self.pool.connect_options().connect()).await {
            Ok(connection) => Ok(connection?),
            Err(_elapsed) => Err(DatabaseError::Unreachable(self.timeout)),
        }
    }

    /// Closes every connection; queries after this fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Applies what `migrator` has and the database lacks on `connection`, which the caller
/// holds exclusively, and counts it.
async fn apply(
    migrator: &sqlx::migrate::Migrator,
    connection: &mut <Db as sqlx::Database>::Connection,
) -> Result<usize, DatabaseError> {
    connection
        .ensure_migrations_table(migrations::TABLE)
        .await
        .map_err(sqlx::Error::from)?;
    let before = connection
        .list_applied_migrations(migrations::TABLE)
        .await
        .map_err(sqlx::Error::from)?
        .len();
    migrator
        .run(&mut *connection)
        .await
        .map_err(sqlx::Error::from)?;
    let after = connection
        .list_applied_migrations(migrations::TABLE)
        .await
        .map_err(sqlx::Error::from)?
        .len();
    Ok(after - before)
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
