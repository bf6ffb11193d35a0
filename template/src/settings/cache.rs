//! Cache settings: `CACHE_*`.
//!
//! The `memory` alias is always in-process. The `persistent` alias uses Redis when
//! `CACHE_REDIS_HOST` or `CACHE_REDIS_URL` is set{% if redis %}{% else %} (this service was generated
//! without Redis support, so those are ignored with a warning){% endif %}, and a second
//! in-process store otherwise.

use std::time::Duration;

use serde::Deserialize;

{% if redis -%}
use super::secret::{Secret, url_without_password};
{% endif -%}
use super::{EnvReader, VarValue};

/// `CACHE_ENABLED` when unset.
pub const DEFAULT_ENABLED: bool = true;
/// `CACHE_DEFAULT_TTL` when unset, in seconds.
pub const DEFAULT_TTL_SECS: u64 = 300;
/// `CACHE_PERSISTENT_TTL` when unset, in seconds.
pub const DEFAULT_PERSISTENT_TTL_SECS: u64 = 3600;
/// `CACHE_PREFIX` when unset: the package name.
pub const DEFAULT_PREFIX: &str = env!("CARGO_PKG_NAME");
/// `CACHE_MEMORY_MAX_CAPACITY` when unset, in entries.
pub const DEFAULT_MEMORY_MAX_CAPACITY: u64 = 10_000;
{%- if redis %}
/// `CACHE_REDIS_PORT` when unset.
pub const DEFAULT_REDIS_PORT: u16 = 6379;
/// `CACHE_REDIS_DB` when unset.
pub const DEFAULT_REDIS_DB: u64 = 0;
/// `CACHE_REDIS_TIMEOUT_MS` when unset.
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 500;
{%- endif %}

/// Configuration of both cache aliases.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// `CACHE_ENABLED`: `false` turns every cache operation into a no-op and no Redis
    /// connection is ever made.
    pub enabled: bool,
    /// `CACHE_DEFAULT_TTL` (seconds): the `memory` alias's default TTL.
    pub default_ttl: Duration,
    /// `CACHE_PERSISTENT_TTL` (seconds): the `persistent` alias's default TTL.
    pub persistent_ttl: Duration,
    /// `CACHE_PREFIX`: namespace of every key, so several services can share one Redis
    /// and `clear` only touches this one's keys.
    pub prefix: String,
    /// `CACHE_MEMORY_MAX_CAPACITY` (entries): bound of each in-process store.
    pub memory_max_capacity: u64,
{%- if redis %}
    /// `CACHE_REDIS_*`: Redis for the `persistent` alias, when a host or URL is set.
    pub redis: RedisSettings,
{%- endif %}
}

{%- if redis %}

/// Where and how to reach Redis, as configured.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `CACHE_REDIS_HOST`: set, the persistent alias uses Redis.
    pub host: Option<String>,
    /// `CACHE_REDIS_PORT`.
    pub port: u16,
    /// `CACHE_REDIS_DB`: the database number.
    pub db: u64,
    /// `CACHE_REDIS_PASSWORD`.
    pub password: Option<Secret>,
    /// `CACHE_REDIS_URL` (`redis://` or `rediss://` for TLS): overrides host, port,
    /// password and db. Secret because it may hold the password.
    pub url: Option<Secret>,
    /// `CACHE_REDIS_TIMEOUT_MS`: bound of connecting and of every command.
    pub timeout: Duration,
}

impl Default for RedisSettings {
    /// No Redis (in-process fallback), with the documented port, db and timeout.
    fn default() -> Self {
        Self {
            host: None,
            port: DEFAULT_REDIS_PORT,
            db: DEFAULT_REDIS_DB,
            password: None,
            url: None,
            timeout: Duration::from_millis(DEFAULT_REDIS_TIMEOUT_MS),
        }
    }
}
{%- endif %}

impl Default for CacheSettings {
    /// The documented defaults{% if redis %}, Redis off{% endif %}. Tests and examples start from here:
    /// `CacheSettings { enabled: false, ..CacheSettings::default() }`.
    fn default() -> Self {
        Self {
            enabled: DEFAULT_ENABLED,
            default_ttl: Duration::from_secs(DEFAULT_TTL_SECS),
            persistent_ttl: Duration::from_secs(DEFAULT_PERSISTENT_TTL_SECS),
            prefix: DEFAULT_PREFIX.to_owned(),
            memory_max_capacity: DEFAULT_MEMORY_MAX_CAPACITY,
{%- if redis %}
            redis: RedisSettings::default(),
{%- endif %}
        }
    }
}

/// `CACHE_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct CacheVars {
    enabled: Option<String>,
    default_ttl: Option<String>,
    persistent_ttl: Option<String>,
    prefix: Option<String>,
    memory_max_capacity: Option<String>,
{%- if redis %}
    redis_host: Option<String>,
    redis_url: Option<String>,
    redis_port: Option<String>,
    redis_db: Option<String>,
    redis_password: Option<String>,
    redis_timeout_ms: Option<String>,
{%- endif %}
}

impl CacheSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let vars: CacheVars = env.prefixed("CACHE_");
        let defaults = Self::default();
        let settings = Self {
            enabled: env.bool("CACHE_ENABLED", vars.enabled, defaults.enabled),
            default_ttl: env.seconds("CACHE_DEFAULT_TTL", vars.default_ttl, defaults.default_ttl),
            persistent_ttl: env.seconds(
                "CACHE_PERSISTENT_TTL",
                vars.persistent_ttl,
                defaults.persistent_ttl,
            ),
            prefix: vars.prefix.unwrap_or(defaults.prefix),
            memory_max_capacity: env.number(
                "CACHE_MEMORY_MAX_CAPACITY",
                vars.memory_max_capacity,
                defaults.memory_max_capacity,
                1,
            ),
{%- if redis %}
            redis: RedisSettings {
                host: vars.redis_host,
                port: env.port(
                    "CACHE_REDIS_PORT",
                    vars.redis_port,
                    DEFAULT_REDIS_PORT,
                    false,
                ),
                db: env.number("CACHE_REDIS_DB", vars.redis_db, DEFAULT_REDIS_DB, 0),
                password: vars.redis_password.map(Secret::new),
                url: vars.redis_url.map(Secret::new),
                timeout: env.millis(
                    "CACHE_REDIS_TIMEOUT_MS",
                    vars.redis_timeout_ms,
                    defaults.redis.timeout,
                ),
            },
{%- endif %}
        };
{%- if redis %}
        settings.redis.check(env);
{%- else %}
        warn_about_ignored_variables(env);
{%- endif %}
        settings
    }

    /// Every `CACHE_*` variable with the value in effect (`None`: unset), secrets
    /// redacted, as `config check` prints them.
    pub fn vars(&self) -> Vec<VarValue> {
        vec![
            ("CACHE_ENABLED", Some(self.enabled.to_string())),
            (
                "CACHE_DEFAULT_TTL",
                Some(self.default_ttl.as_secs().to_string()),
            ),
            (
                "CACHE_PERSISTENT_TTL",
                Some(self.persistent_ttl.as_secs().to_string()),
            ),
            ("CACHE_PREFIX", Some(self.prefix.clone())),
            (
                "CACHE_MEMORY_MAX_CAPACITY",
                Some(self.memory_max_capacity.to_string()),
            ),
{%- if redis %}
            ("CACHE_REDIS_HOST", self.redis.host.clone()),
            ("CACHE_REDIS_PORT", Some(self.redis.port.to_string())),
            ("CACHE_REDIS_DB", Some(self.redis.db.to_string())),
            (
                "CACHE_REDIS_PASSWORD",
                self.redis.password.as_ref().map(Secret::to_string),
            ),
            (
                "CACHE_REDIS_URL",
                self.redis
                    .url
                    .as_ref()
                    .map(|url| url_without_password(url.expose())),
            ),
            (
                "CACHE_REDIS_TIMEOUT_MS",
                Some(self.redis.timeout.as_millis().to_string()),
            ),
{%- endif %}
        ]
    }
}

{%- if redis %}

impl RedisSettings {
    /// The URL the persistent alias connects to: `CACHE_REDIS_URL`, else one built from
    /// host, port, password and db; `None` when neither a URL nor a host is set.
    pub fn connection_url(&self) -> Option<Secret> {
        if let Some(url) = &self.url {
            return Some(url.clone());
        }
        let host = self.host.as_deref()?;
        let auth = self
            .password
            .as_ref()
            .map(|password| format!(":{}@", encode_userinfo(password.expose())))
            .unwrap_or_default();
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        Some(Secret::new(format!(
            "redis://{auth}{host}:{}/{}",
            self.port, self.db
        )))
    }

    /// Rejects a URL or host that the redis crate cannot use, so that a typo stops
    /// start-up instead of failing every cache operation. The URL may carry a password,
    /// so it is never echoed.
    fn check(&self, env: &mut EnvReader) {
        if let Some(url) = &self.url {
            let url = url.expose();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                env.reject(
                    "CACHE_REDIS_URL",
                    None,
                    "a URL starting with redis:// or rediss://",
                );
            } else if redis::Client::open(url).is_err() {
                env.reject(
                    "CACHE_REDIS_URL",
                    None,
                    "a valid URL such as redis://:password@host:6379/0",
                );
            }
            return;
        }
        if let Some(url) = self.connection_url()
            && redis::Client::open(url.expose()).is_err()
        {
            env.reject(
                "CACHE_REDIS_HOST",
                self.host.clone(),
                "a host name or IP address",
            );
        }
    }
}

/// Percent-encodes the characters a password may contain that a URL's user-info may not.
fn encode_userinfo(raw: &str) -> String {
    let mut encoded = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
{%- else %}

/// This service was built without Redis: a Redis variable does nothing, which is worth
/// one line. Telemetry starts after settings, so it goes straight to stderr.
fn warn_about_ignored_variables(env: &EnvReader) {
    for name in ["CACHE_REDIS_HOST", "CACHE_REDIS_URL"] {
        if env.is_set(name) {
            eprintln!(
                "warning: {name} is set but this service was built without Redis support; \
                 the persistent alias stays in-process"
            );
        }
    }
}
{%- endif %}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::settings::EnvReader;

    use super::CacheSettings;

    #[test]
    fn defaults_match_the_documented_values() {
        let mut env = EnvReader::from_map::<&str, &str>([]);
        let settings = CacheSettings::read(&mut env);
        assert!(env.finish().is_ok());
        assert!(settings.enabled);
        assert_eq!(settings.default_ttl, Duration::from_secs(300));
        assert_eq!(settings.persistent_ttl, Duration::from_secs(3600));
        assert_eq!(settings.prefix, env!("CARGO_PKG_NAME"));
        assert_eq!(settings.memory_max_capacity, 10_000);
{%- if redis %}
        assert!(settings.redis.connection_url().is_none());
        assert_eq!(settings.redis.timeout, Duration::from_millis(500));
{%- endif %}
    }

    #[test]
    fn bad_values_name_their_variable() {
        let mut env = EnvReader::from_map([
            ("CACHE_ENABLED", "maybe"),
            ("CACHE_DEFAULT_TTL", "-1"),
            ("CACHE_PERSISTENT_TTL", "0"),
            ("CACHE_REDIS_PORT", "abc"),
        ]);
        CacheSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        for name in ["CACHE_ENABLED", "CACHE_DEFAULT_TTL", "CACHE_PERSISTENT_TTL"] {
            assert!(message.contains(name), "{name} missing from: {message}");
        }
{%- if redis %}
        assert!(message.contains("CACHE_REDIS_PORT"), "{message}");
{%- endif %}
    }
{%- if redis %}

    #[test]
    fn host_port_password_and_db_build_the_url_and_the_password_stays_hidden() {
        let mut env = EnvReader::from_map([
            ("CACHE_REDIS_HOST", "cache.internal"),
            ("CACHE_REDIS_PORT", "6380"),
            ("CACHE_REDIS_PASSWORD", "p@ss word"),
            ("CACHE_REDIS_DB", "2"),
        ]);
        let settings = CacheSettings::read(&mut env);
        assert!(env.finish().is_ok());
        let url = settings
            .redis
            .connection_url()
            .expect("redis is configured");
        assert_eq!(url.expose(), "redis://:p%40ss%20word@cache.internal:6380/2");
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("p%40ss") && !debug.contains("p@ss"),
            "{debug}"
        );
    }

    #[test]
    fn a_url_overrides_host_and_port_and_must_be_redis() {
        let mut env = EnvReader::from_map([
            ("CACHE_REDIS_URL", "rediss://:secret@tls.example:6380/0"),
            ("CACHE_REDIS_HOST", "ignored"),
        ]);
        let settings = CacheSettings::read(&mut env);
        assert!(env.finish().is_ok());
        assert_eq!(
            settings
                .redis
                .connection_url()
                .expect("redis is configured")
                .expose(),
            "rediss://:secret@tls.example:6380/0"
        );

        let mut env = EnvReader::from_map([("CACHE_REDIS_URL", "http://:secret@x")]);
        CacheSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        assert!(
            message.contains("CACHE_REDIS_URL") && !message.contains("secret"),
            "{message}"
        );
    }

    #[test]
    fn urls_and_hosts_redis_cannot_use_are_rejected_without_echoing_the_password() {
        let mut env = EnvReader::from_map([("CACHE_REDIS_URL", "redis://:secret@db:port/0")]);
        CacheSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        assert!(
            message.contains("CACHE_REDIS_URL") && !message.contains("secret"),
            "{message}"
        );

        let mut env = EnvReader::from_map([
            ("CACHE_REDIS_HOST", "two words"),
            ("CACHE_REDIS_PASSWORD", "secret"),
        ]);
        CacheSettings::read(&mut env);
        let message = env.finish().unwrap_err().to_string();
        assert!(
            message.contains("CACHE_REDIS_HOST=\"two words\"") && !message.contains("secret"),
            "{message}"
        );
    }
{%- endif %}
}
