//! Configuration from the environment, one struct per concern.
//!
//! Every variable is read once at start-up by [`Settings::from_env`]: `envy` maps each
//! concern's prefix (`LOG_` and the others) onto a struct, and [`EnvReader`] checks the
//! values. Invalid values are all collected before giving up, so a misconfigured
//! deployment learns about every mistake in one go, each on its own line naming the
//! variable and the expected form. An empty variable counts as unset, in the
//! environment and in `.env` alike.
//!
//! Each default is a constant next to the setting that uses it; `.env.example`, the
//! README's tables and `--help` are checked against those constants by the tests below.
{% if web %}
pub mod app;
{%- endif %}
{%- if database != "none" %}
pub mod database;
{%- endif %}
pub mod log;
pub mod metrics;
{%- if worker %}
pub mod worker;
{%- endif %}
{% if web %}
pub use app::AppSettings;
{%- endif %}
{%- if database != "none" %}
pub use database::DatabaseSettings;
{%- endif %}
pub use log::{LogFormat, LogSettings};
pub use metrics::MetricsSettings;
{%- if cache %}
/// `CACHE_*`: the cache engine reads and checks its own variables.
pub use service_cache::settings::{CachePreset, CacheSettings};
{%- endif %}
pub use service_env::{DotenvError, EnvReader, InvalidVar, SettingsError, VarValue, read_dotenv};
{%- if worker %}
pub use worker::WorkerSettings;
{%- endif %}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Log format and filter (`LOG_FORMAT`, `RUST_LOG`).
    pub log: LogSettings,
    /// Prometheus metrics (`METRICS_*`).
    pub metrics: MetricsSettings,
{%- if web %}
    /// HTTP server (`APP_*`).
    pub app: AppSettings,
{%- endif %}
{%- if database != "none" %}
    /// The example resource's database (`DATABASE_*`).
    pub database: DatabaseSettings,
{%- endif %}
{%- if cache %}
    /// Cache aliases and their backends (`CACHE_*`).
    pub cache: CacheSettings,
{%- endif %}
{%- if worker %}
    /// Background worker (`WORKER_*`).
    pub worker: WorkerSettings,
{%- endif %}
}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// Returns every invalid variable at once; see [`SettingsError`].
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_reader(&mut EnvReader::from_process())
    }

    /// Reads fixed `(name, value)` pairs instead of the process environment; tests and
    /// examples use it.
    ///
    /// ```
    /// use {{crate_name}}::settings::Settings;
    ///
    /// let settings = Settings::from_vars([("LOG_FORMAT", "json")]).unwrap();
    /// assert_eq!(settings.log.format.as_str(), "json");
    /// assert!(Settings::from_vars([("LOG_FORMAT", "xml")]).is_err());
    /// ```
    ///
    /// # Errors
    /// Returns every invalid variable at once; see [`SettingsError`].
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, SettingsError> {
        Self::from_reader(&mut EnvReader::from_map(vars))
    }

    /// Reads every concern from `reader`: start-up passes the process environment over
    /// the `.env` pairs ([`EnvReader::from_process_with`]).
    ///
    /// # Errors
    /// Returns every invalid variable at once; see [`SettingsError`].
    pub fn from_reader(reader: &mut EnvReader) -> Result<Self, SettingsError> {
        let settings = Self {
            log: LogSettings::read(reader),
            metrics: MetricsSettings::read(reader),
{%- if web %}
            app: AppSettings::read(reader),
{%- endif %}
{%- if database != "none" %}
            database: DatabaseSettings::read(reader),
{%- endif %}
{%- if cache %}
            cache: CacheSettings::read(reader, env!("CARGO_PKG_NAME")),
{%- endif %}
{%- if worker %}
            worker: WorkerSettings::read(reader),
{%- endif %}
        };
        reader.finish()?;
        Ok(settings)
    }

{%- if cache %}
    /// The variables whose value came from a preset (`CACHE_PRESET`), each with the
    /// preset's `NAME=value`, for `config check` to say so.
    pub fn from_preset(&self) -> Vec<(&'static str, String)> {
        let Some(preset) = self.cache.preset else {
            return Vec::new();
        };
        self.cache
            .from_preset
            .iter()
            .map(|name| (*name, format!("CACHE_PRESET={}", preset.as_str())))
            .collect()
    }
{%- else %}
    /// The variables whose value came from a preset: none, no setting has presets.
    pub fn from_preset(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
{%- endif %}

    /// Every variable with the value in effect (`None`: unset), secrets redacted,
    /// grouped by concern with the group's title: what `config check` prints.
    pub fn vars(&self) -> Vec<(&'static str, Vec<VarValue>)> {
        vec![
            // One group per concern, in the order of `.env.example`.
            ("Logging", self.log.vars()),
{%- if web %}
            ("Web server", self.app.vars()),
{%- endif %}
{%- if database != "none" %}
            ("Database", self.database.vars()),
{%- endif %}
{%- if worker %}
            ("Worker", self.worker.vars()),
{%- endif %}
{%- if cache %}
            ("Cache", self.cache.vars()),
{%- endif %}
            ("Metrics", self.metrics.vars()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::{Settings, VarValue};

    const ENV_EXAMPLE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"));
    const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));

    /// The defaults, from the constants the settings code uses.
    fn defaults() -> Vec<VarValue> {
        let settings = Settings::from_vars::<&str, &str>([]).expect("the defaults are valid");
        settings
            .vars()
            .into_iter()
            .flat_map(|(_, vars)| vars)
{%- if database == "postgres" %}
            // `config check` redacts the password; the documented default is the URL.
            .map(|(name, value)| match name {
                "DATABASE_URL" => (name, Some(super::database::default_url())),
                _ => (name, value),
            })
{%- endif %}
            .collect()
    }

    #[test]
    fn env_example_lists_every_variable_with_its_default() {
        for (name, default) in defaults() {
            let listed = ENV_EXAMPLE.lines().find_map(|line| {
                let line = line.trim_start_matches(['#', ' ']);
                let value = line.strip_prefix(name)?.strip_prefix('=')?;
                Some(value.split_whitespace().next().unwrap_or_default())
            });
            let Some(listed) = listed else {
                panic!(".env.example does not list {name}");
            };
            if let Some(default) = default {
                assert_eq!(listed, default, ".env.example gives {name} another default");
            }
        }
    }

    #[test]
    fn the_readme_table_gives_every_default() {
        for (name, default) in defaults() {
            let row = format!("| `{name}` | ");
            let Some(start) = README.find(&row) else {
                panic!("README.md has no table row for {name}");
            };
            let cell = README[start + row.len()..]
                .split(" |")
                .next()
                .unwrap_or_default();
            // Unset by default: the row says what happens instead.
            if let Some(default) = default {
                assert_eq!(cell, format!("`{default}`"), "README.md: {name}");
            }
        }
    }
}
