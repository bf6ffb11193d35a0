//! Cache settings: `CACHE_*`.
//!
//! The `memory` alias is always in-process. The `persistent` alias uses Redis when
//! `CACHE_REDIS_HOST` or `CACHE_REDIS_URL` is set{% if redis %}{% else %} (this service was generated
//! without Redis support, so those are ignored with a warning){% endif %}, and a second
//! in-process store otherwise.

use std::time::Duration;

use super::EnvReader;
{%- if redis %}
use super::Secret;
{%- endif %}

/// Configuration of both cache aliases.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// `CACHE_ENABLED` (default `true`): `false` turns every cache operation into a
    /// no-op and no Redis connection is ever made.
    pub enabled: bool,
    /// `CACHE_DEFAULT_TTL` (seconds, default 300): the `memory` alias's default TTL.
    pub default_ttl: Duration,
    /// `CACHE_PERSISTENT_TTL` (seconds, default 3600): the `persistent` alias's default TTL.
    pub persistent_ttl: Duration,
    /// `CACHE_PREFIX` (default: the package name): namespace of every key, so several
    /// services can share one Redis and `clear` only touches this one's keys.
    pub prefix: String,
    /// `CACHE_MEMORY_MAX_CAPACITY` (entries, default 10000): bound of each in-process store.
    pub memory_max_capacity: u64,
{%- if redis %}
    /// Redis for the `persistent` alias; `None` means the in-process fallback.
    pub redis: Option<RedisSettings>,
{%- endif %}
}

{%- if redis %}

/// Where and how to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// The connection URL, built from `CACHE_REDIS_HOST`, `CACHE_REDIS_PORT`,
    /// `CACHE_REDIS_PASSWORD` and `CACHE_REDIS_DB`, or taken whole from `CACHE_REDIS_URL`
    /// (`redis://` or `rediss://` for TLS). Secret because it may hold the password.
    pub url: Secret,
    /// `CACHE_REDIS_TIMEOUT_MS` (default 500): bound of connecting and of every command.
    pub timeout: Duration,
}
{%- endif %}

impl Default for CacheSettings {
    /// The documented defaults: enabled, TTLs of 300 s (`memory`) and 3600 s
    /// (`persistent`), the package name as prefix, 10,000 entries per in-process store,
    /// Redis off. Tests and examples start from here:
    /// `CacheSettings { enabled: false, ..CacheSettings::default() }`.
    fn default() -> Self {
        Self {
            enabled: true,
            default_ttl: Duration::from_secs(300),
            persistent_ttl: Duration::from_secs(3600),
            prefix: env!("CARGO_PKG_NAME").to_owned(),
            memory_max_capacity: 10_000,
{%- if redis %}
            redis: None,
{%- endif %}
        }
    }
}

impl CacheSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let defaults = Self::default();
{%- if redis %}{% else %}
        for name in ["CACHE_REDIS_HOST", "CACHE_REDIS_URL"] {
            if env.string(name).is_some() {
                // Telemetry starts after settings, so this goes straight to stderr.
                eprintln!(
                    "warning: {name} is set but this service was built without Redis support; \
                     the persistent alias stays in-process"
                );
            }
        }
{%- endif %}
        Self {
            enabled: env.bool("CACHE_ENABLED", defaults.enabled),
            default_ttl: env.seconds("CACHE_DEFAULT_TTL", defaults.default_ttl),
            persistent_ttl: env.seconds("CACHE_PERSISTENT_TTL", defaults.persistent_ttl),
            prefix: env.string("CACHE_PREFIX").unwrap_or(defaults.prefix),
            memory_max_capacity: env.number(
                "CACHE_MEMORY_MAX_CAPACITY",
                defaults.memory_max_capacity,
                1,
            ),
{%- if redis %}
            redis: RedisSettings::read(env),
{%- endif %}
        }
    }
}

{%- if redis %}

impl RedisSettings {
    fn read(env: &mut EnvReader) -> Option<Self> {
        let timeout = env.millis("CACHE_REDIS_TIMEOUT_MS", Duration::from_millis(500));
        let port = env.port("CACHE_REDIS_PORT", 6379, false);
        let db = env.number("CACHE_REDIS_DB", 0, 0);
        let password = env.string("CACHE_REDIS_PASSWORD");
        if let Some(url) = env.string("CACHE_REDIS_URL") {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                // The URL may carry a password, so it is not echoed.
                env.reject(
                    "CACHE_REDIS_URL",
                    None,
                    "a URL starting with redis:// or rediss://",
                );
                return None;
            }
            // The redis crate is the judge of what it can connect to; asking it here
            // turns a typo into a start-up error instead of a failing cache.
            if redis::Client::open(url.as_str()).is_err() {
                env.reject(
                    "CACHE_REDIS_URL",
                    None,
                    "a valid URL such as redis://:password@host:6379/0",
                );
                return None;
            }
            return Some(Self {
                url: Secret::new(url),
                timeout,
            });
        }
        let host = env.string("CACHE_REDIS_HOST")?;
        let auth = password
            .map(|password| format!(":{}@", encode_userinfo(&password)))
            .unwrap_or_default();
        let bracketed = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let url = format!("redis://{auth}{bracketed}:{port}/{db}");
        if redis::Client::open(url.as_str()).is_err() {
            env.reject("CACHE_REDIS_HOST", Some(host), "a host name or IP address");
            return None;
        }
        Some(Self {
            url: Secret::new(url),
            timeout,
        })
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
        assert!(settings.redis.is_none());
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
        let redis = settings.redis.as_ref().expect("redis is configured");
        assert_eq!(
            redis.url.expose(),
            "redis://:p%40ss%20word@cache.internal:6380/2"
        );
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
            settings.redis.expect("redis is configured").url.expose(),
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
