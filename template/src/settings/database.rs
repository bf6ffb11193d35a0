//! Database settings: `DATABASE_*`.
//!
//! `DATABASE_URL` is checked here, at start-up, against the driver this service was
//! generated with{% if database == "sqlite" %} (SQLite){% else %} (PostgreSQL){% endif %}, so a wrong scheme stops start-up with one line instead
//! of failing on the first request. Connecting happens later, lazily.

use std::time::Duration;

use serde::Deserialize;

use super::{EnvReader, VarValue};
{%- if database == "sqlite" %}
use service_env::Secret;
{%- else %}
use service_env::{Secret, url_without_password};
{%- endif %}

{%- if database == "postgres" %}
/// The database `compose.yaml` creates, named after the service.
pub const DATABASE_NAME: &str = "{{crate_name}}";
{%- endif %}
/// `DATABASE_MAX_CONNECTIONS` when unset.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 10;
/// `DATABASE_TIMEOUT_MS` when unset.
pub const DEFAULT_TIMEOUT_MS: u64 = 2_000;
/// `DATABASE_MIGRATE` when unset.
pub const DEFAULT_MIGRATE: bool = true;

{% if database == "sqlite" -%}
/// `DATABASE_URL` when unset: a file in the working directory, created on first start.
pub fn default_url() -> String {
    "sqlite:{{project-name}}.db".to_owned()
}
{%- else -%}
/// `DATABASE_URL` when unset: the PostgreSQL that `compose.yaml` publishes on this host.
pub fn default_url() -> String {
    format!("postgres://postgres:postgres@localhost:5432/{DATABASE_NAME}")
}
{%- endif %}

/// Where the database is and how the service uses it.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`: which database; it may hold a password, so it is a [`Secret`].
    pub url: Secret,
    /// `DATABASE_MAX_CONNECTIONS`: the pool's connections at most, per process.
    pub max_connections: u32,
    /// `DATABASE_TIMEOUT_MS`: how long one query may take, waiting for a connection
    /// included, before the request gets a 503; also `/ready`'s bound for its check.
    pub timeout: Duration,
    /// `DATABASE_MIGRATE`: whether `web` applies pending migrations before it serves
    /// (`false`: run `db migrate` yourself, from a release step).
    pub migrate: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new(default_url()),
            max_connections: DEFAULT_MAX_CONNECTIONS as u32,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            migrate: DEFAULT_MIGRATE,
        }
    }
}

/// `DATABASE_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct DatabaseVars {
    url: Option<String>,
    max_connections: Option<String>,
    timeout_ms: Option<String>,
    migrate: Option<String>,
}

impl DatabaseSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let vars: DatabaseVars = env.prefixed("DATABASE_");
        let url = match vars.url {
            Some(url) if !is_supported(&url) => {
                // The value may hold a password: it is not repeated.
                env.reject("DATABASE_URL", None, EXPECTED_URL);
                default_url()
            }
            url => url.unwrap_or_else(default_url),
        };
        let max_connections = env.number(
            "DATABASE_MAX_CONNECTIONS",
            vars.max_connections,
            DEFAULT_MAX_CONNECTIONS,
            1..=1_000,
        );
        Self {
            url: Secret::new(url),
            max_connections: u32::try_from(max_connections).unwrap_or(u32::MAX),
            timeout: env.millis(
                "DATABASE_TIMEOUT_MS",
                vars.timeout_ms,
                Duration::from_millis(DEFAULT_TIMEOUT_MS),
            ),
            migrate: env.bool("DATABASE_MIGRATE", vars.migrate, DEFAULT_MIGRATE),
        }
    }

    /// Every `DATABASE_*` variable with the value in effect, the password redacted.
    pub fn vars(&self) -> Vec<VarValue> {
        vec![
{%- if database == "sqlite" %}
            // A SQLite URL names a file and holds no password.
            ("DATABASE_URL", Some(self.url.expose().to_owned())),
{%- else %}
            (
                "DATABASE_URL",
                Some(url_without_password(self.url.expose())),
            ),
{%- endif %}
            (
                "DATABASE_MAX_CONNECTIONS",
                Some(self.max_connections.to_string()),
            ),
            (
                "DATABASE_TIMEOUT_MS",
                Some(self.timeout.as_millis().to_string()),
            ),
            ("DATABASE_MIGRATE", Some(self.migrate.to_string())),
        ]
    }
}
{%- if database == "sqlite" %}

/// What `DATABASE_URL` must look like.
const EXPECTED_URL: &str = "a SQLite URL such as sqlite:data.db or sqlite:///var/lib/app/data.db (this service was generated with database=sqlite)";

/// Whether `url` is one the SQLite driver takes. The driver reads anything else as a
/// file name, so a PostgreSQL URL would quietly become a file called `postgres:`.
fn is_supported(url: &str) -> bool {
    url.starts_with("sqlite:") && url.parse::<sqlx::sqlite::SqliteConnectOptions>().is_ok()
}
{%- else %}

/// What `DATABASE_URL` must look like.
const EXPECTED_URL: &str = "a PostgreSQL URL such as postgres://user:password@host:5432/name (this service was generated with database=postgres)";

/// Whether `url` is one the PostgreSQL driver takes. The driver reads the rest of any
/// URL whatever its scheme, so the scheme is checked here.
fn is_supported(url: &str) -> bool {
    (url.starts_with("postgres://") || url.starts_with("postgresql://"))
        && url.parse::<sqlx::postgres::PgConnectOptions>().is_ok()
}
{%- endif %}

#[cfg(test)]
mod tests {
    use super::DatabaseSettings;
    use crate::settings::EnvReader;

    fn read(vars: &[(&str, &str)]) -> Result<DatabaseSettings, Vec<String>> {
        let mut env = EnvReader::from_map(vars.iter().copied());
        let settings = DatabaseSettings::read(&mut env);
        env.finish()
            .map(|()| settings)
            .map_err(|error| error.messages())
    }

    #[test]
    fn a_url_for_another_database_is_refused_without_repeating_it() {
{%- if database == "sqlite" %}
        let url = "postgres://app:s3cret@db/app";
{%- else %}
        let url = "mysql://app:s3cret@db/app";
{%- endif %}
        let messages = read(&[("DATABASE_URL", url)]).unwrap_err();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("DATABASE_URL"), "{messages:?}");
        assert!(messages[0].contains("database={{database}}"), "{messages:?}");
        assert!(!messages[0].contains("s3cret"), "{messages:?}");
    }

    #[test]
    fn the_pool_size_and_the_timeout_have_ranges() {
        assert!(read(&[("DATABASE_MAX_CONNECTIONS", "0")]).is_err());
        assert!(read(&[("DATABASE_TIMEOUT_MS", "0")]).is_err());
        let settings = read(&[("DATABASE_MAX_CONNECTIONS", "3")]).unwrap();
        assert_eq!(settings.max_connections, 3);
    }
{%- if database == "postgres" %}

    #[test]
    fn the_password_never_shows() {
        let settings = read(&[("DATABASE_URL", "postgres://app:s3cret@db:5432/app")]).unwrap();
        let shown = format!("{:?} {:?}", settings, settings.vars());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://app:[redacted]@db:5432/app"),
            "{shown}"
        );
    }
{%- endif %}
}
