//! Cache settings: `CACHE_*`.
//!
//! The `memory` alias is always in-process.
{%- if redis %}
//! The `persistent` alias uses Redis when one is configured (`CACHE_REDIS_*`, read by
//! [`RedisSettings`]), and a second in-process store otherwise.
{%- else %}
//! The `persistent` alias is a second in-process store: this service was generated
//! without Redis support, so `CACHE_REDIS_HOST` and `CACHE_REDIS_URL` are ignored with a
//! warning.
{%- endif %}

use std::time::Duration;

use serde::Deserialize;

{% if redis -%}
use super::RedisSettings;
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
/// `CACHE_PERSISTENT_L1_CAPACITY` when unset, in entries.
pub const DEFAULT_PERSISTENT_L1_CAPACITY: u64 = 10_000;
/// `CACHE_PERSISTENT_L1_TTL` when unset, in seconds.
pub const DEFAULT_PERSISTENT_L1_TTL_SECS: u64 = 60;
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
    /// `CACHE_PERSISTENT_L1_CAPACITY` (entries): bound of the in-process L1 that keeps
    /// recently read Redis entries; `0` turns the L1 off.
    pub persistent_l1_capacity: u64,
    /// `CACHE_PERSISTENT_L1_TTL` (seconds): the longest an L1 copy is kept, even with no
    /// invalidation from Redis; never beyond the entry's own TTL in Redis.
    pub persistent_l1_ttl: Duration,
    /// `CACHE_REDIS_*`: Redis for the `persistent` alias, when one is configured.
    pub redis: RedisSettings,
{%- endif %}
}

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
            persistent_l1_capacity: DEFAULT_PERSISTENT_L1_CAPACITY,
            persistent_l1_ttl: Duration::from_secs(DEFAULT_PERSISTENT_L1_TTL_SECS),
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
    persistent_l1_capacity: Option<String>,
    persistent_l1_ttl: Option<String>,
{%- endif %}
}

impl CacheSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let vars: CacheVars = env.prefixed("CACHE_");
        let defaults = Self::default();
{%- unless redis %}
        warn_about_ignored_variables(env);
{%- endunless %}
        Self {
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
            persistent_l1_capacity: env.number(
                "CACHE_PERSISTENT_L1_CAPACITY",
                vars.persistent_l1_capacity,
                defaults.persistent_l1_capacity,
                0,
            ),
            persistent_l1_ttl: env.seconds(
                "CACHE_PERSISTENT_L1_TTL",
                vars.persistent_l1_ttl,
                defaults.persistent_l1_ttl,
            ),
            redis: RedisSettings::read(env),
{%- endif %}
        }
    }

    /// Every `CACHE_*` variable with the value in effect (`None`: unset), secrets
    /// redacted, as `config check` prints them.
    pub fn vars(&self) -> Vec<VarValue> {
        [
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
            ],
            self.backend_vars(),
        ]
        .concat()
    }
{%- if redis %}

    /// The variables of the persistent alias's Redis backend and its L1.
    fn backend_vars(&self) -> Vec<VarValue> {
        [
            vec![
                (
                    "CACHE_PERSISTENT_L1_CAPACITY",
                    Some(self.persistent_l1_capacity.to_string()),
                ),
                (
                    "CACHE_PERSISTENT_L1_TTL",
                    Some(self.persistent_l1_ttl.as_secs().to_string()),
                ),
            ],
            self.redis.vars(),
        ]
        .concat()
    }
{%- else %}

    /// None: this service was built without a Redis backend.
    fn backend_vars(&self) -> Vec<VarValue> {
        Vec::new()
    }
{%- endif %}
}

{%- unless redis %}

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
{%- endunless %}

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
        assert_eq!(settings.persistent_l1_capacity, 10_000);
        assert_eq!(settings.persistent_l1_ttl, Duration::from_secs(60));
        assert!(settings.redis.mode().is_none());
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
}
