//! Configuration from the environment, one struct per concern.
//!
//! Every variable is read once at start-up by [`Settings::from_env`]. Invalid values are
//! all collected before giving up, so a misconfigured deployment learns about every
//! mistake in one go, each on its own line naming the variable and the expected form.
//! `.env.example` lists every variable with its default.
{% if web %}
mod app;
{%- endif %}
{%- if cache %}
mod cache;
{%- endif %}
mod env;
mod log;
{%- if redis %}
mod secret;
{%- endif %}
{%- if worker %}
mod worker;
{%- endif %}
{% if web %}
pub use app::AppSettings;
{%- endif %}
{%- if cache %}
pub use cache::CacheSettings;
{%- endif %}
{%- if redis %}
pub use cache::RedisSettings;
{%- endif %}
pub use env::{EnvReader, InvalidVar, SettingsError};
pub use log::{LogFormat, LogSettings};
{%- if redis %}
pub use secret::Secret;
{%- endif %}
{%- if worker %}
pub use worker::WorkerSettings;
{%- endif %}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Log format and filter (`LOG_FORMAT`, `RUST_LOG`).
    pub log: LogSettings,
{%- if web %}
    /// HTTP server (`APP_*`).
    pub app: AppSettings,
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

    /// Reads settings through `reader`; tests pass a reader over a fixed map.
    ///
    /// # Errors
    /// Returns every invalid variable at once; see [`SettingsError`].
    pub fn from_reader(reader: &mut EnvReader) -> Result<Self, SettingsError> {
        let settings = Self {
            log: LogSettings::read(reader),
{%- if web %}
            app: AppSettings::read(reader),
{%- endif %}
{%- if cache %}
            cache: CacheSettings::read(reader),
{%- endif %}
{%- if worker %}
            worker: WorkerSettings::read(reader),
{%- endif %}
        };
        reader.finish()?;
        Ok(settings)
    }
}
