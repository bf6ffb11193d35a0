//! HTTP server settings: `APP_*`.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use super::{EnvReader, VarValue};

/// `APP_HOST` when unset: loopback only (the Docker image sets `0.0.0.0`).
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// `APP_PORT` when unset.
pub const DEFAULT_PORT: u16 = 8080;
/// `APP_BODY_LIMIT_BYTES` when unset.
pub const DEFAULT_BODY_LIMIT_BYTES: u64 = 262_144;
/// `APP_SHUTDOWN_TIMEOUT_MS` when unset.
pub const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 30_000;

/// Where the web server listens and how it treats requests.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// `APP_HOST`: the address to bind.
    pub host: String,
    /// `APP_PORT` (0 picks a free port, as the tests do).
    pub port: u16,
    /// `APP_BODY_LIMIT_BYTES`: larger JSON bodies get 413.
    pub body_limit_bytes: usize,
    /// `APP_SHUTDOWN_TIMEOUT_MS`: how long in-flight requests may run after SIGTERM
    /// before the server stops anyway.
    pub shutdown_timeout: Duration,
}

/// `APP_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct AppVars {
    host: Option<String>,
    port: Option<String>,
    body_limit_bytes: Option<String>,
    shutdown_timeout_ms: Option<String>,
}

impl AppSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let vars: AppVars = env.prefixed("APP_");
        let body_limit_bytes = env.number(
            "APP_BODY_LIMIT_BYTES",
            vars.body_limit_bytes,
            DEFAULT_BODY_LIMIT_BYTES,
            // actix-web takes any `usize` and allocates as the body arrives, not up front.
            1..=u64::try_from(usize::MAX).unwrap_or(u64::MAX),
        );
        let host = env.parse(
            "APP_HOST",
            vars.host,
            DEFAULT_HOST.to_owned(),
            "an IP address (127.0.0.1, 0.0.0.0, ::1) or a host name of letters, digits, \
             hyphens and dots (localhost)",
            |raw| is_host(raw).then(|| raw.to_owned()),
        );
        Self {
            host,
            port: env.port("APP_PORT", vars.port, DEFAULT_PORT, true),
            body_limit_bytes: usize::try_from(body_limit_bytes).unwrap_or(usize::MAX),
            shutdown_timeout: env.millis(
                "APP_SHUTDOWN_TIMEOUT_MS",
                vars.shutdown_timeout_ms,
                Duration::from_millis(DEFAULT_SHUTDOWN_TIMEOUT_MS),
            ),
        }
    }

    /// Every `APP_*` variable with the value in effect, as `config check` prints them.
    pub fn vars(&self) -> Vec<VarValue> {
        vec![
            ("APP_HOST", Some(self.host.clone())),
            ("APP_PORT", Some(self.port.to_string())),
            (
                "APP_BODY_LIMIT_BYTES",
                Some(self.body_limit_bytes.to_string()),
            ),
            (
                "APP_SHUTDOWN_TIMEOUT_MS",
                Some(self.shutdown_timeout.as_millis().to_string()),
            ),
        ]
    }
}

/// Whether `raw` is an IP address or a syntactically valid host name. Whether the name
/// resolves, and to a local address, is only known when binding.
fn is_host(raw: &str) -> bool {
    if raw.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = raw.strip_suffix('.').unwrap_or(raw);
    let labels_ok = name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    // All-numeric labels would be an IP address, and this one is not (999.1.1.1).
    let numeric = name
        .split('.')
        .all(|label| label.chars().all(|c| c.is_ascii_digit()));
    labels_ok && !numeric
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{AppSettings, is_host};
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

    #[test]
    fn hosts_are_ip_addresses_or_host_names() {
        for good in [
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "localhost",
            "api-1.internal",
            "web.",
        ] {
            assert!(is_host(good), "{good} was refused");
        }
        for bad in [
            "999.1.1.1",
            "1.2.3",
            "not_a_host",
            "-web",
            "a..b",
            "host:8080",
            "[::1]",
            "é.com",
        ] {
            assert!(!is_host(bad), "{bad} was accepted");
        }
        let mut env = EnvReader::from_map([("APP_HOST", "not_a_host")]);
        AppSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        assert!(message.contains("APP_HOST=\"not_a_host\""), "{message}");
    }
}
