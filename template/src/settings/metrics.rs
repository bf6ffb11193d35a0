//! Prometheus metrics settings: `METRICS_*`.
{%- if worker %}

use std::net::IpAddr;
use std::time::Duration;
{%- endif %}

use serde::Deserialize;

use super::{EnvReader, VarValue};

/// `METRICS_ENABLED` when unset.
pub const DEFAULT_ENABLED: bool = true;
{%- if worker %}
/// `METRICS_HOST` when unset.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// `METRICS_PORT` when unset.
pub const DEFAULT_PORT: u16 = 9464;
/// `METRICS_MAX_CONNECTIONS` when unset: a scraper or two, with room to spare.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// `METRICS_TIMEOUT_MS` when unset.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
{%- endif %}

/// Whether `/metrics` is served, and where the worker serves it when it runs alone.
#[derive(Debug, Clone)]
pub struct MetricsSettings {
    /// `METRICS_ENABLED`: `false` serves no `/metrics` and records nothing per request.
    pub enabled: bool,
{%- if worker %}
    /// `METRICS_HOST`: the address the `worker` mode's metrics listener binds (the web
    /// server serves `/metrics` on its own port).
    pub host: IpAddr,
    /// `METRICS_PORT`: that listener's port (`0`: any free port).
    pub port: u16,
    /// `METRICS_MAX_CONNECTIONS`: that listener's open connections at most; more wait
    /// in the listen backlog.
    pub max_connections: usize,
    /// `METRICS_TIMEOUT_MS`: how long that listener waits for a request head, idle
    /// time between requests included, before it closes the connection.
    pub timeout: Duration,
{%- endif %}
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: DEFAULT_ENABLED,
{%- if worker %}
            host: IpAddr::from([127, 0, 0, 1]),
            port: DEFAULT_PORT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
{%- endif %}
        }
    }
}

/// `METRICS_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct MetricsVars {
    enabled: Option<String>,
{%- if worker %}
    host: Option<String>,
    port: Option<String>,
    max_connections: Option<String>,
    timeout_ms: Option<String>,
{%- endif %}
}

impl MetricsSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let vars: MetricsVars = env.prefixed("METRICS_");
        Self {
            enabled: env.bool("METRICS_ENABLED", vars.enabled, DEFAULT_ENABLED),
{%- if worker %}
            host: env.parse(
                "METRICS_HOST",
                vars.host,
                MetricsSettings::default().host,
                "an IP address (127.0.0.1, 0.0.0.0, ::1)",
                |raw| raw.parse().ok(),
            ),
            port: env.port("METRICS_PORT", vars.port, DEFAULT_PORT, true),
            max_connections: env.parse(
                "METRICS_MAX_CONNECTIONS",
                vars.max_connections,
                DEFAULT_MAX_CONNECTIONS,
                "a whole number from 1 to 10000",
                |raw| raw.parse().ok().filter(|n| (1..=10_000).contains(n)),
            ),
            timeout: Duration::from_millis(env.parse(
                "METRICS_TIMEOUT_MS",
                vars.timeout_ms,
                DEFAULT_TIMEOUT_MS,
                "a whole number of milliseconds from 1 to 3600000 (one hour)",
                |raw| raw.parse().ok().filter(|ms| (1..=3_600_000).contains(ms)),
            )),
{%- endif %}
        }
    }

    /// Every `METRICS_*` variable with the value in effect, as `config check` prints them.
    pub fn vars(&self) -> Vec<VarValue> {
        let enabled = ("METRICS_ENABLED", Some(self.enabled.to_string()));
{%- if worker %}
        vec![
            enabled,
            ("METRICS_HOST", Some(self.host.to_string())),
            ("METRICS_PORT", Some(self.port.to_string())),
            (
                "METRICS_MAX_CONNECTIONS",
                Some(self.max_connections.to_string()),
            ),
            (
                "METRICS_TIMEOUT_MS",
                Some(self.timeout.as_millis().to_string()),
            ),
        ]
{%- else %}
        vec![enabled]
{%- endif %}
    }
}

#[cfg(test)]
mod tests {
    use super::MetricsSettings;
    use crate::settings::EnvReader;

    #[test]
    fn defaults_match_the_documented_values() {
        let mut env = EnvReader::from_map::<&str, &str>([]);
        let settings = MetricsSettings::read(&mut env);
        assert!(env.finish().is_ok());
        assert_eq!(settings.enabled, super::DEFAULT_ENABLED);
{%- if worker %}
        assert_eq!(settings.host.to_string(), super::DEFAULT_HOST);
        assert_eq!(settings.port, super::DEFAULT_PORT);
{%- endif %}
    }

    #[test]
    fn bad_values_name_their_variable() {
        let mut env = EnvReader::from_map([
            ("METRICS_ENABLED", "maybe"),
            ("METRICS_HOST", "metrics.example.com"),
            ("METRICS_PORT", "high"),
            ("METRICS_MAX_CONNECTIONS", "0"),
            ("METRICS_TIMEOUT_MS", "-5"),
        ]);
        MetricsSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        assert!(message.contains("METRICS_ENABLED"), "{message}");
{%- if worker %}
        assert!(message.contains("METRICS_HOST"), "{message}");
        assert!(message.contains("METRICS_PORT"), "{message}");
        assert!(message.contains("METRICS_MAX_CONNECTIONS"), "{message}");
        assert!(message.contains("METRICS_TIMEOUT_MS"), "{message}");
{%- endif %}
    }
}
