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
/// `APP_REQUEST_HEAD_TIMEOUT_MS` when unset (actix-web's own first-request default).
pub const DEFAULT_REQUEST_HEAD_TIMEOUT_MS: u64 = 5_000;
/// `APP_REQUEST_BODY_TIMEOUT_MS` when unset: a 256 KiB body at 26 KiB/s.
pub const DEFAULT_REQUEST_BODY_TIMEOUT_MS: u64 = 10_000;
/// `APP_KEEP_ALIVE_MS` when unset.
pub const DEFAULT_KEEP_ALIVE_MS: u64 = 5_000;
/// `APP_MAX_CONNECTIONS` when unset.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 10_000;
/// `APP_READY_DETAILS` when unset: `/ready` says what is down in one word each.
pub const DEFAULT_READY_DETAILS: bool = false;

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
    /// `APP_REQUEST_HEAD_TIMEOUT_MS`: how long a client may take to send a request's
    /// head, counted from its first byte, on every request of a connection.
    pub request_head_timeout: Duration,
    /// `APP_REQUEST_BODY_TIMEOUT_MS`: how long a request's body may take to arrive once
    /// its head has (408 after that, and the connection is closed).
    pub request_body_timeout: Duration,
    /// `APP_KEEP_ALIVE_MS`: how long an idle connection is kept open for the next request.
    pub keep_alive: Duration,
    /// `APP_MAX_CONNECTIONS`: open connections at most; more wait in the listen backlog.
    pub max_connections: usize,
    /// `APP_READY_DETAILS`: `true` puts addresses and error texts in `/ready`'s body
    /// (they are always logged).
    pub ready_details: bool,
}

/// `APP_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct AppVars {
    host: Option<String>,
    port: Option<String>,
    body_limit_bytes: Option<String>,
    shutdown_timeout_ms: Option<String>,
    request_head_timeout_ms: Option<String>,
    request_body_timeout_ms: Option<String>,
    keep_alive_ms: Option<String>,
    max_connections: Option<String>,
    ready_details: Option<String>,
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
            request_head_timeout: timeout(
                env,
                "APP_REQUEST_HEAD_TIMEOUT_MS",
                vars.request_head_timeout_ms,
                DEFAULT_REQUEST_HEAD_TIMEOUT_MS,
            ),
            request_body_timeout: timeout(
                env,
                "APP_REQUEST_BODY_TIMEOUT_MS",
                vars.request_body_timeout_ms,
                DEFAULT_REQUEST_BODY_TIMEOUT_MS,
            ),
            keep_alive: timeout(
                env,
                "APP_KEEP_ALIVE_MS",
                vars.keep_alive_ms,
                DEFAULT_KEEP_ALIVE_MS,
            ),
            max_connections: connection_count(env, vars.max_connections),
            ready_details: env.bool(
                "APP_READY_DETAILS",
                vars.ready_details,
                DEFAULT_READY_DETAILS,
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
            (
                "APP_REQUEST_HEAD_TIMEOUT_MS",
                Some(self.request_head_timeout.as_millis().to_string()),
            ),
            (
                "APP_REQUEST_BODY_TIMEOUT_MS",
                Some(self.request_body_timeout.as_millis().to_string()),
            ),
            (
                "APP_KEEP_ALIVE_MS",
                Some(self.keep_alive.as_millis().to_string()),
            ),
            (
                "APP_MAX_CONNECTIONS",
                Some(self.max_connections.to_string()),
            ),
            ("APP_READY_DETAILS", Some(self.ready_details.to_string())),
        ]
    }
}

/// A connection timeout in milliseconds, from 1 ms to one hour: longer is no protection,
/// and a deadline that far ahead would overflow the clock.
fn timeout(env: &mut EnvReader, name: &'static str, raw: Option<String>, default: u64) -> Duration {
    let ms = env.parse(
        name,
        raw,
        default,
        "a whole number of milliseconds from 1 to 3600000 (one hour)",
        |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|ms| (1..=3_600_000).contains(ms))
        },
    );
    Duration::from_millis(ms)
}

/// `APP_MAX_CONNECTIONS`: 1 to 1,000,000 (past that, the file-descriptor limit of any
/// real host is the bound, and actix keeps per-connection state in memory).
fn connection_count(env: &mut EnvReader, raw: Option<String>) -> usize {
    let count = env.parse(
        "APP_MAX_CONNECTIONS",
        raw,
        DEFAULT_MAX_CONNECTIONS,
        "a whole number from 1 to 1000000, below the file-descriptor limit (ulimit -n)",
        |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
        },
    );
    usize::try_from(count).unwrap_or(usize::MAX)
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
            ("APP_REQUEST_HEAD_TIMEOUT_MS", "0"),
            ("APP_REQUEST_BODY_TIMEOUT_MS", "soon"),
            ("APP_KEEP_ALIVE_MS", "5s"),
            ("APP_MAX_CONNECTIONS", "0"),
            ("APP_READY_DETAILS", "maybe"),
        ]);
        AppSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        for name in [
            "APP_PORT",
            "APP_BODY_LIMIT_BYTES",
            "APP_SHUTDOWN_TIMEOUT_MS",
            "APP_REQUEST_HEAD_TIMEOUT_MS",
            "APP_REQUEST_BODY_TIMEOUT_MS",
            "APP_KEEP_ALIVE_MS",
            "APP_MAX_CONNECTIONS",
            "APP_READY_DETAILS",
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
