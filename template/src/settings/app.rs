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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::AppSettings;
    use crate::settings::EnvReader;

    #[test]
    fn defaults_match_the_documented_values() {
        let mut env = EnvReader::from_map::<&str, &str>([]);
        let settings = AppSettings::read(&mut env);
        assert!(env.finish().is_ok());
        assert_eq!((settings.host.as_str(), settings.port), ("127.0.0.1", 8080));
        assert_eq!(settings.body_limit_bytes, 262_144);
        assert_eq!(settings.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn port_zero_is_allowed_and_bad_values_name_their_variable() {
        let mut env = EnvReader::from_map([("APP_PORT", "0")]);
        assert_eq!(AppSettings::read(&mut env).port, 0);
        assert!(env.finish().is_ok());

        let mut env = EnvReader::from_map([
            ("APP_PORT", "http"),
            ("APP_BODY_LIMIT_BYTES", "0"),
            ("APP_SHUTDOWN_TIMEOUT_MS", "-1"),
        ]);
        AppSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        for name in [
            "APP_PORT",
            "APP_BODY_LIMIT_BYTES",
            "APP_SHUTDOWN_TIMEOUT_MS",
        ] {
            assert!(message.contains(name), "{name} missing from: {message}");
        }
    }
}
