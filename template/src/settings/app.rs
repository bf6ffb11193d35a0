//! HTTP server settings: `APP_*`.

use std::time::Duration;

use super::EnvReader;

/// Where the web server listens and how it treats requests.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// `APP_HOST` (default `127.0.0.1`; the Docker image sets `0.0.0.0`).
    pub host: String,
    /// `APP_PORT` (default 8080; 0 picks a free port, as the tests do).
    pub port: u16,
    /// `APP_BODY_LIMIT_BYTES` (default 262144): larger JSON bodies get 413.
    pub body_limit_bytes: usize,
    /// `APP_SHUTDOWN_TIMEOUT_MS` (default 30000): how long in-flight requests may run
    /// after SIGTERM before the server stops anyway.
    pub shutdown_timeout: Duration,
}

impl AppSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        Self {
            host: env
                .string("APP_HOST")
                .unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: env.port("APP_PORT", 8080, true),
            body_limit_bytes: usize::try_from(env.number("APP_BODY_LIMIT_BYTES", 262_144, 1))
                .unwrap_or(usize::MAX),
            shutdown_timeout: env.millis("APP_SHUTDOWN_TIMEOUT_MS", Duration::from_secs(30)),
        }
    }
}
