//! Cache settings: `CACHE_*`, read and checked by [`CacheSettings::read`].
//!
//! The `memory` alias is always in-process. The `persistent` alias uses Redis when one is
//! configured (`CACHE_REDIS_*`, read by [`RedisSettings`]) and the `redis` feature is on,
//! and a second in-process store otherwise; without the feature, `CACHE_REDIS_HOST` and
//! `CACHE_REDIS_URL` are ignored with a warning.
//!
//! `CACHE_PRESET` ([`CachePreset`]) picks another set of defaults for the variables
//! below; a variable that is set always wins over its preset.

use std::time::Duration;

use serde::Deserialize;

pub use service_env::{EnvReader, InvalidVar, SettingsError, VarValue};

mod redis;

pub use redis::{NodeAddress, RedisMode, RedisSettings};
pub use service_env::Secret;

/// `CACHE_ENABLED` when unset.
pub const DEFAULT_ENABLED: bool = true;
/// `CACHE_DEFAULT_TTL` when unset, in seconds.
pub const DEFAULT_TTL_SECS: u64 = 300;
/// `CACHE_PERSISTENT_TTL` when unset, in seconds.
pub const DEFAULT_PERSISTENT_TTL_SECS: u64 = 3600;
/// `CACHE_PREFIX` of [`CacheSettings::default`]; [`CacheSettings::read`] defaults to the
/// service's name instead.
pub const DEFAULT_PREFIX: &str = "service";
/// `CACHE_VERSION` when unset.
pub const DEFAULT_VERSION: &str = "1";
/// `CACHE_MEMORY_MAX_CAPACITY` when unset, in entries.
pub const DEFAULT_MEMORY_MAX_CAPACITY: u64 = 10_000;
/// `CACHE_PERSISTENT_L1_CAPACITY` when unset, in entries.
pub const DEFAULT_PERSISTENT_L1_CAPACITY: u64 = 10_000;
/// `CACHE_PERSISTENT_L1_TTL` when unset, in seconds.
pub const DEFAULT_PERSISTENT_L1_TTL_SECS: u64 = 60;
/// `CACHE_COMPRESS_MIN_BYTES` when unset: JSON longer than 16 KiB is stored compressed.
pub const DEFAULT_COMPRESS_MIN_BYTES: usize = 16_384;
/// The most a compressed value in Redis may decompress to (16 MiB), and so the largest
/// JSON the Redis store compresses; larger JSON is stored as it is. A stored value that
/// claims more is corrupt: a miss, logged and removed, and never allocated. Without the
/// bound, a value planted in Redis could make every reader allocate 255 times its size
/// (LZ4's best ratio); with it, a read decompresses at most this much.
pub const MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;
/// `CACHE_PREFIX` at most this many characters.
pub const MAX_PREFIX_LEN: usize = 64;

/// `CACHE_PRESET`: a named set of defaults for the other `CACHE_*` variables, for
/// deployments that would rather pick a profile than tune each variable. A variable set
/// in the environment (or `.env`) always wins over its preset's value; `config check`
/// marks the values that came from the preset.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::settings::{CachePreset, CacheSettings, EnvReader};
///
/// let mut env = EnvReader::from_map([("CACHE_PRESET", "development"), ("CACHE_PERSISTENT_TTL", "90")]);
/// let cache = CacheSettings::read(&mut env, "shop");
/// env.finish()?;
/// assert_eq!(cache.preset, Some(CachePreset::Development));
/// assert_eq!(cache.default_ttl, Duration::from_secs(30), "from the preset");
/// assert_eq!(cache.persistent_ttl, Duration::from_secs(90), "set, so it wins");
/// assert!(cache.from_preset.contains(&"CACHE_DEFAULT_TTL"));
/// assert!(!cache.from_preset.contains(&"CACHE_PERSISTENT_TTL"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePreset {
    /// Short TTLs, so that changes show at once; small stores; nothing compressed, so
    /// every value reads as plain JSON in `redis-cli`.
    Development,
    /// Long TTLs and large in-process stores and L1; large values compressed.
    Production,
    /// Little memory: short TTLs and small in-process stores, no L1; values
    /// compressed from 1 KiB.
    Minimal,
    /// `CACHE_ENABLED=false`: no caching at all.
    Disabled,
}

impl CachePreset {
    /// Every preset, in the order the README's table lists them.
    pub const ALL: [Self; 4] = [
        Self::Development,
        Self::Production,
        Self::Minimal,
        Self::Disabled,
    ];

    /// The name `CACHE_PRESET` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
            Self::Minimal => "minimal",
            Self::Disabled => "disabled",
        }
    }

    /// `CACHE_ENABLED` under this preset, if it sets it.
    pub fn enabled(self) -> Option<bool> {
        match self {
            Self::Disabled => Some(false),
            Self::Development | Self::Production | Self::Minimal => Some(true),
        }
    }

    /// `CACHE_DEFAULT_TTL` (seconds) under this preset, if it sets it.
    pub fn default_ttl_secs(self) -> Option<u64> {
        match self {
            Self::Development => Some(30),
            Self::Production => Some(300),
            Self::Minimal => Some(60),
            Self::Disabled => None,
        }
    }

    /// `CACHE_PERSISTENT_TTL` (seconds) under this preset, if it sets it.
    pub fn persistent_ttl_secs(self) -> Option<u64> {
        match self {
            Self::Development => Some(60),
            Self::Production => Some(3600),
            Self::Minimal => Some(300),
            Self::Disabled => None,
        }
    }

    /// `CACHE_MEMORY_MAX_CAPACITY` (entries) under this preset, if it sets it.
    pub fn memory_max_capacity(self) -> Option<u64> {
        match self {
            Self::Development | Self::Minimal => Some(1_000),
            Self::Production => Some(100_000),
            Self::Disabled => None,
        }
    }

    /// `CACHE_PERSISTENT_L1_CAPACITY` (entries) under this preset, if it sets it.
    pub fn persistent_l1_capacity(self) -> Option<u64> {
        match self {
            Self::Development => Some(1_000),
            Self::Production => Some(100_000),
            Self::Minimal => Some(0),
            Self::Disabled => None,
        }
    }

    /// `CACHE_COMPRESS_MIN_BYTES` under this preset, if it sets it.
    pub fn compress_min_bytes(self) -> Option<u64> {
        match self {
            Self::Development => Some(0),
            Self::Production => Some(16_384),
            Self::Minimal => Some(1_024),
            Self::Disabled => None,
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|preset| preset.as_str().eq_ignore_ascii_case(raw))
    }
}

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
    /// and `clear` only touches this one's keys. Letters, digits, `.`, `_` and `-`, at
    /// most [`MAX_PREFIX_LEN`]: without `:` one service's namespace (`shop:`) can never
    /// begin another's (`shop:v1:x:`), without glob characters a `SCAN MATCH` of it
    /// matches only it, and without braces a key's Redis Cluster hash tag is always the
    /// caller's.
    pub prefix: String,
    /// `CACHE_VERSION`: part of every key after the prefix, so a deploy that changes it
    /// leaves every entry of the old version unreachable, without a clear. Letters,
    /// digits, `.`, `_` and `-`, at most 32 characters.
    pub version: String,
    /// `CACHE_MEMORY_MAX_CAPACITY` (entries): bound of each in-process store.
    pub memory_max_capacity: u64,
    /// `CACHE_PRESET`: the preset the defaults above came from, if any.
    pub preset: Option<CachePreset>,
    /// The variables whose value came from the preset (they were not set).
    pub from_preset: Vec<&'static str>,
    /// `CACHE_PERSISTENT_L1_CAPACITY` (entries): bound of the in-process L1 that keeps
    /// recently read Redis entries; `0` turns the L1 off.
    pub persistent_l1_capacity: u64,
    /// `CACHE_PERSISTENT_L1_TTL` (seconds): the longest an L1 copy is kept, even with no
    /// invalidation from Redis; never beyond the entry's own TTL in Redis.
    pub persistent_l1_ttl: Duration,
    /// `CACHE_COMPRESS_MIN_BYTES`: JSON longer than this (and at most
    /// [`MAX_DECOMPRESSED_BYTES`]) is stored compressed in Redis; `0`: nothing is.
    pub compress_min_bytes: usize,
    /// `CACHE_REDIS_*`: Redis for the `persistent` alias, when one is configured.
    pub redis: RedisSettings,
}

impl Default for CacheSettings {
    /// The documented defaults, Redis off. Tests and examples start from here:
    /// `CacheSettings { enabled: false, ..CacheSettings::default() }`.
    fn default() -> Self {
        Self {
            enabled: DEFAULT_ENABLED,
            default_ttl: Duration::from_secs(DEFAULT_TTL_SECS),
            persistent_ttl: Duration::from_secs(DEFAULT_PERSISTENT_TTL_SECS),
            prefix: DEFAULT_PREFIX.to_owned(),
            version: DEFAULT_VERSION.to_owned(),
            memory_max_capacity: DEFAULT_MEMORY_MAX_CAPACITY,
            preset: None,
            from_preset: Vec::new(),
            persistent_l1_capacity: DEFAULT_PERSISTENT_L1_CAPACITY,
            persistent_l1_ttl: Duration::from_secs(DEFAULT_PERSISTENT_L1_TTL_SECS),
            compress_min_bytes: DEFAULT_COMPRESS_MIN_BYTES,
            redis: RedisSettings::default(),
        }
    }
}

/// `CACHE_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct CacheVars {
    preset: Option<String>,
    enabled: Option<String>,
    default_ttl: Option<String>,
    persistent_ttl: Option<String>,
    prefix: Option<String>,
    version: Option<String>,
    memory_max_capacity: Option<String>,
    persistent_l1_capacity: Option<String>,
    persistent_l1_ttl: Option<String>,
    compress_min_bytes: Option<String>,
}

impl CacheSettings {
    /// Reads fixed `(name, value)` pairs instead of the environment, with the prefix
    /// [`DEFAULT_PREFIX`] unless `CACHE_PREFIX` is among them: for tests and examples.
    ///
    /// ```
    /// use service_cache::CacheSettings;
    ///
    /// let settings = CacheSettings::from_vars([("CACHE_ENABLED", "false")])?;
    /// assert!(!settings.enabled);
    /// assert!(CacheSettings::from_vars([("CACHE_DEFAULT_TTL", "soon")]).is_err());
    /// # Ok::<(), service_cache::settings::SettingsError>(())
    /// ```
    ///
    /// # Errors
    /// Every invalid variable at once.
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, SettingsError> {
        let mut env = EnvReader::from_map(vars);
        let settings = Self::read(&mut env, DEFAULT_PREFIX);
        env.finish()?;
        Ok(settings)
    }

    /// Reads `CACHE_*` (and `CACHE_REDIS_*`) from `env`, which collects every invalid
    /// variable for the service to report at once with its own. `CACHE_PREFIX`
    /// defaults to `service_name`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use service_cache::CacheSettings;
    /// use service_cache::settings::EnvReader;
    ///
    /// let mut env = EnvReader::from_map([("CACHE_DEFAULT_TTL", "30")]);
    /// let settings = CacheSettings::read(&mut env, "shop");
    /// env.finish()?;
    /// assert_eq!(settings.default_ttl, Duration::from_secs(30));
    /// assert_eq!(settings.prefix, "shop");
    /// # Ok::<(), service_cache::settings::SettingsError>(())
    /// ```
    pub fn read(env: &mut EnvReader, service_name: &str) -> Self {
        let vars: CacheVars = env.prefixed("CACHE_");
        let defaults = Self {
            prefix: service_name.to_owned(),
            ..Self::default()
        };
        #[cfg(not(feature = "redis"))]
        warn_about_ignored_variables(env);
        let preset = env.parse(
            "CACHE_PRESET",
            vars.preset,
            None,
            "development, production, minimal or disabled",
            |raw| CachePreset::parse(raw).map(Some),
        );
        // What the preset sets, unless the variable itself is set.
        let mut from_preset = Vec::new();
        let mut pick = |name: &'static str, value: Option<u64>, default: u64| {
            let Some(value) = value else {
                return default;
            };
            if !env.is_set(name) {
                from_preset.push(name);
            }
            value
        };
        let enabled = pick(
            "CACHE_ENABLED",
            preset.and_then(CachePreset::enabled).map(u64::from),
            u64::from(defaults.enabled),
        ) == 1;
        let default_ttl = pick(
            "CACHE_DEFAULT_TTL",
            preset.and_then(CachePreset::default_ttl_secs),
            defaults.default_ttl.as_secs(),
        );
        let persistent_ttl = pick(
            "CACHE_PERSISTENT_TTL",
            preset.and_then(CachePreset::persistent_ttl_secs),
            defaults.persistent_ttl.as_secs(),
        );
        let memory_max_capacity = pick(
            "CACHE_MEMORY_MAX_CAPACITY",
            preset.and_then(CachePreset::memory_max_capacity),
            defaults.memory_max_capacity,
        );
        let persistent_l1_capacity = pick(
            "CACHE_PERSISTENT_L1_CAPACITY",
            preset.and_then(CachePreset::persistent_l1_capacity),
            defaults.persistent_l1_capacity,
        );
        let compress_min_bytes = pick(
            "CACHE_COMPRESS_MIN_BYTES",
            preset.and_then(CachePreset::compress_min_bytes),
            defaults.compress_min_bytes as u64,
        );
        Self {
            enabled: env.bool("CACHE_ENABLED", vars.enabled, enabled),
            default_ttl: env.seconds(
                "CACHE_DEFAULT_TTL",
                vars.default_ttl,
                Duration::from_secs(default_ttl),
            ),
            persistent_ttl: env.seconds(
                "CACHE_PERSISTENT_TTL",
                vars.persistent_ttl,
                Duration::from_secs(persistent_ttl),
            ),
            prefix: env.parse(
                "CACHE_PREFIX",
                vars.prefix,
                defaults.prefix,
                &format!(
                    "1 to {MAX_PREFIX_LEN} letters, digits, '.', '_' or '-', e.g. shop \
                     (no ':', so that two services' namespaces cannot nest; no glob \
                     characters or braces, which Redis reads as patterns and hash tags)"
                ),
                |raw| is_key_part(raw, MAX_PREFIX_LEN).then(|| raw.to_owned()),
            ),
            version: env.parse(
                "CACHE_VERSION",
                vars.version,
                defaults.version,
                "1 to 32 letters, digits, '.', '_' or '-', e.g. 2",
                |raw| is_key_part(raw, 32).then(|| raw.to_owned()),
            ),
            memory_max_capacity: env.number(
                "CACHE_MEMORY_MAX_CAPACITY",
                vars.memory_max_capacity,
                memory_max_capacity,
                1..=u64::MAX,
            ),
            preset,
            from_preset,
            persistent_l1_capacity: env.number(
                "CACHE_PERSISTENT_L1_CAPACITY",
                vars.persistent_l1_capacity,
                persistent_l1_capacity,
                0..=u64::MAX,
            ),
            persistent_l1_ttl: env.seconds(
                "CACHE_PERSISTENT_L1_TTL",
                vars.persistent_l1_ttl,
                defaults.persistent_l1_ttl,
            ),
            compress_min_bytes: usize::try_from(env.number(
                "CACHE_COMPRESS_MIN_BYTES",
                vars.compress_min_bytes,
                compress_min_bytes,
                0..=MAX_DECOMPRESSED_BYTES as u64,
            ))
            .unwrap_or(usize::MAX),
            redis: Self::read_redis(env),
        }
    }

    /// Every `CACHE_*` variable with the value in effect (`None`: unset), secrets
    /// redacted, as `config check` prints them.
    pub fn vars(&self) -> Vec<VarValue> {
        [
            vec![
                (
                    "CACHE_PRESET",
                    self.preset.map(|preset| preset.as_str().to_owned()),
                ),
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
                ("CACHE_VERSION", Some(self.version.clone())),
                (
                    "CACHE_MEMORY_MAX_CAPACITY",
                    Some(self.memory_max_capacity.to_string()),
                ),
            ],
            self.backend_vars(),
        ]
        .concat()
    }

    /// `CACHE_REDIS_*`.
    #[cfg(feature = "redis")]
    fn read_redis(env: &mut EnvReader) -> RedisSettings {
        RedisSettings::read(env)
    }

    /// Without the `redis` feature nothing reads `CACHE_REDIS_*`.
    #[cfg(not(feature = "redis"))]
    fn read_redis(_env: &mut EnvReader) -> RedisSettings {
        RedisSettings::default()
    }

    /// The variables of the persistent alias's Redis backend, its L1 and compression.
    #[cfg(feature = "redis")]
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
                (
                    "CACHE_COMPRESS_MIN_BYTES",
                    Some(self.compress_min_bytes.to_string()),
                ),
            ],
            self.redis.vars(),
        ]
        .concat()
    }

    /// None: built without the `redis` feature, the Redis backend's variables do nothing.
    #[cfg(not(feature = "redis"))]
    fn backend_vars(&self) -> Vec<VarValue> {
        Vec::new()
    }
}

/// Whether `raw` can be `CACHE_PREFIX` or `CACHE_VERSION` (at most `max_len` long): they
/// go into every key, so nothing that separates a key's parts (`:`), that a key pattern
/// (`*?[]\`) or Redis Cluster's hash tags (`{}`) read, or that a reader of `redis-cli`
/// output could trip over.
fn is_key_part(raw: &str, max_len: usize) -> bool {
    (1..=max_len).contains(&raw.len())
        && raw
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

/// This service was built without Redis: a Redis variable does nothing, which is worth
/// one line. Telemetry starts after settings, so it goes straight to stderr.
#[cfg(not(feature = "redis"))]
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::EnvReader;

    use super::{CachePreset, CacheSettings};

    fn read(vars: &[(&str, &str)]) -> CacheSettings {
        let mut env = EnvReader::from_map(vars.iter().copied());
        let settings = CacheSettings::read(&mut env, "demo");
        assert!(env.finish().is_ok(), "{vars:?}");
        settings
    }

    #[test]
    fn each_preset_sets_its_values_and_says_so() {
        for preset in CachePreset::ALL {
            let settings = read(&[("CACHE_PRESET", preset.as_str())]);
            assert_eq!(settings.preset, Some(preset));
            let defaults = CacheSettings::default();
            assert_eq!(
                settings.enabled,
                preset.enabled().unwrap_or(defaults.enabled)
            );
            assert_eq!(
                settings.default_ttl.as_secs(),
                preset
                    .default_ttl_secs()
                    .unwrap_or(defaults.default_ttl.as_secs())
            );
            assert_eq!(
                settings.persistent_ttl.as_secs(),
                preset
                    .persistent_ttl_secs()
                    .unwrap_or(defaults.persistent_ttl.as_secs())
            );
            assert_eq!(
                settings.memory_max_capacity,
                preset
                    .memory_max_capacity()
                    .unwrap_or(defaults.memory_max_capacity)
            );
            assert_eq!(
                settings.persistent_l1_capacity,
                preset
                    .persistent_l1_capacity()
                    .unwrap_or(defaults.persistent_l1_capacity)
            );
            assert_eq!(
                settings.compress_min_bytes as u64,
                preset
                    .compress_min_bytes()
                    .unwrap_or(defaults.compress_min_bytes as u64)
            );
            // Exactly the variables the preset has a value for are marked.
            let sets = [
                ("CACHE_ENABLED", preset.enabled().is_some()),
                ("CACHE_DEFAULT_TTL", preset.default_ttl_secs().is_some()),
                (
                    "CACHE_PERSISTENT_TTL",
                    preset.persistent_ttl_secs().is_some(),
                ),
                (
                    "CACHE_MEMORY_MAX_CAPACITY",
                    preset.memory_max_capacity().is_some(),
                ),
                (
                    "CACHE_PERSISTENT_L1_CAPACITY",
                    preset.persistent_l1_capacity().is_some(),
                ),
                (
                    "CACHE_COMPRESS_MIN_BYTES",
                    preset.compress_min_bytes().is_some(),
                ),
            ];
            for (name, set) in sets {
                assert_eq!(
                    settings.from_preset.contains(&name),
                    set,
                    "{preset:?} {name}"
                );
            }
        }
    }

    #[test]
    fn a_set_variable_wins_over_the_preset() {
        let settings = read(&[
            ("CACHE_PRESET", "Disabled"),
            ("CACHE_ENABLED", "true"),
            ("CACHE_DEFAULT_TTL", "7"),
        ]);
        assert!(
            settings.enabled,
            "CACHE_ENABLED wins over the disabled preset"
        );
        assert_eq!(settings.default_ttl, Duration::from_secs(7));
        assert!(
            settings.from_preset.is_empty(),
            "{:?}",
            settings.from_preset
        );

        let settings = read(&[
            ("CACHE_PRESET", "production"),
            ("CACHE_MEMORY_MAX_CAPACITY", "5"),
        ]);
        assert_eq!(settings.memory_max_capacity, 5);
        assert_eq!(settings.persistent_ttl, Duration::from_secs(3600));
        assert!(!settings.from_preset.contains(&"CACHE_MEMORY_MAX_CAPACITY"));
        assert!(settings.from_preset.contains(&"CACHE_PERSISTENT_TTL"));
    }

    #[test]
    fn an_unknown_preset_is_rejected_with_the_choices() {
        let mut env = EnvReader::from_map([("CACHE_PRESET", "fast")]);
        let settings = CacheSettings::read(&mut env, "demo");
        let message = env.finish().unwrap_err().to_string();
        assert!(
            message.contains("CACHE_PRESET=\"fast\"")
                && message.contains("development, production, minimal or disabled"),
            "{message}"
        );
        assert_eq!(settings.preset, None);
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let mut env = EnvReader::from_map::<&str, &str>([]);
        let settings = CacheSettings::read(&mut env, "demo");
        assert!(env.finish().is_ok());
        assert!(settings.enabled);
        assert_eq!(settings.default_ttl, Duration::from_secs(300));
        assert_eq!(settings.persistent_ttl, Duration::from_secs(3600));
        assert_eq!(settings.prefix, "demo");
        assert_eq!(settings.version, "1");
        assert_eq!(settings.memory_max_capacity, 10_000);
        assert_eq!(settings.preset, None);
        assert!(settings.from_preset.is_empty());
        assert_eq!(settings.persistent_l1_capacity, 10_000);
        assert_eq!(settings.persistent_l1_ttl, Duration::from_secs(60));
        assert_eq!(settings.compress_min_bytes, 16_384);
        assert!(settings.redis.mode().is_none());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let mut env = EnvReader::from_map([
            ("CACHE_ENABLED", "maybe"),
            ("CACHE_DEFAULT_TTL", "-1"),
            ("CACHE_PERSISTENT_TTL", "0"),
            ("CACHE_REDIS_PORT", "abc"),
            ("CACHE_COMPRESS_MIN_BYTES", "16k"),
            ("CACHE_VERSION", "v2:*"),
        ]);
        CacheSettings::read(&mut env, "demo");
        let message = env.finish().unwrap_err().to_string();
        for name in [
            "CACHE_ENABLED",
            "CACHE_DEFAULT_TTL",
            "CACHE_PERSISTENT_TTL",
            "CACHE_VERSION",
        ] {
            assert!(message.contains(name), "{name} missing from: {message}");
        }
        assert!(message.contains("CACHE_COMPRESS_MIN_BYTES"), "{message}");
        #[cfg(feature = "redis")]
        assert!(message.contains("CACHE_REDIS_PORT"), "{message}");
    }

    #[test]
    fn the_longest_setting_is_the_longest_ttl() {
        assert_eq!(crate::MAX_TTL, service_env::MAX_DURATION);
    }

    #[test]
    fn numeric_settings_take_their_bounds_and_refuse_one_beyond_in_one_line() {
        let ten_years = crate::MAX_TTL.as_secs().to_string();
        let max_compress = super::MAX_DECOMPRESSED_BYTES.to_string();
        let unbounded = u64::MAX.to_string();
        // (variable, lowest accepted, highest accepted, the range its error states)
        let mut bounds = vec![
            ("CACHE_DEFAULT_TTL", "1", ten_years.as_str()),
            ("CACHE_PERSISTENT_TTL", "1", &ten_years),
            ("CACHE_PERSISTENT_L1_TTL", "1", &ten_years),
            ("CACHE_MEMORY_MAX_CAPACITY", "1", &unbounded),
            ("CACHE_PERSISTENT_L1_CAPACITY", "0", &unbounded),
            ("CACHE_COMPRESS_MIN_BYTES", "0", &max_compress),
        ];
        if cfg!(feature = "redis") {
            bounds.extend([
                ("CACHE_REDIS_PORT", "1", "65535"),
                ("CACHE_REDIS_DB", "0", "2147483646"),
                ("CACHE_REDIS_TIMEOUT_MS", "1", "315360000000"),
            ]);
        }
        for (name, low, high) in bounds {
            for accepted in [low, high] {
                let mut env = EnvReader::from_map([(name, accepted)]);
                let settings = CacheSettings::read(&mut env, "demo");
                assert!(env.finish().is_ok(), "{name}={accepted} was refused");
                let shown = settings.vars().into_iter().chain([
                    (
                        "CACHE_PERSISTENT_L1_TTL",
                        Some(settings.persistent_l1_ttl.as_secs().to_string()),
                    ),
                    (
                        "CACHE_PERSISTENT_L1_CAPACITY",
                        Some(settings.persistent_l1_capacity.to_string()),
                    ),
                    (
                        "CACHE_COMPRESS_MIN_BYTES",
                        Some(settings.compress_min_bytes.to_string()),
                    ),
                ]);
                let value = shown.into_iter().find(|(shown, _)| *shown == name);
                assert_eq!(value, Some((name, Some(accepted.to_owned()))));
            }
            let below = low.parse::<u64>().unwrap().checked_sub(1);
            let above = high.parse::<u64>().unwrap().checked_add(1);
            let refused = [below, above]
                .into_iter()
                .flatten()
                .map(|n| n.to_string())
                .chain(["-1".to_owned(), "18446744073709551616".to_owned()]);
            for raw in refused {
                let mut env = EnvReader::from_map([(name, raw.as_str())]);
                CacheSettings::read(&mut env, "demo");
                let message = env.finish().unwrap_err().to_string();
                assert_eq!(message.lines().count(), 1, "{message}");
                assert!(
                    message.contains(&format!("{name}={raw:?}"))
                        && message.contains(&format!("from {low} to {high}")),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn the_longest_l1_ttl_and_the_largest_stores_build_without_a_panic() {
        let max = u64::MAX.to_string();
        let ten_years = crate::MAX_TTL.as_secs().to_string();
        let settings = CacheSettings::from_vars([
            ("CACHE_REDIS_HOST", "127.0.0.1"),
            ("CACHE_PERSISTENT_L1_TTL", ten_years.as_str()),
            ("CACHE_PERSISTENT_L1_CAPACITY", &max),
            ("CACHE_MEMORY_MAX_CAPACITY", &max),
            ("CACHE_DEFAULT_TTL", &ten_years),
            ("CACHE_PERSISTENT_TTL", &ten_years),
        ])
        .unwrap();
        drop(crate::Caches::from_settings(&settings));
    }

    #[test]
    fn a_prefix_that_could_nest_or_match_another_is_refused_with_an_example() {
        for good in ["shop", "Shop_2.v-1", &"a".repeat(super::MAX_PREFIX_LEN)] {
            assert_eq!(read(&[("CACHE_PREFIX", good)]).prefix, good);
        }
        let too_long = "a".repeat(super::MAX_PREFIX_LEN + 1);
        for bad in [
            "shop:v1:x",
            "shop:",
            "sh*",
            "sh?p",
            "[s]hop",
            "sh\\op",
            "{shop}",
            "shop one",
            "shöp",
            &too_long,
        ] {
            let mut env = EnvReader::from_map([("CACHE_PREFIX", bad)]);
            let settings = CacheSettings::read(&mut env, "demo");
            let message = env.finish().unwrap_err().to_string();
            assert_eq!(message.lines().count(), 1, "{message}");
            assert!(
                message.contains(&format!("CACHE_PREFIX={bad:?}"))
                    && message.contains("no ':'")
                    && message.contains("e.g. shop"),
                "{message}"
            );
            assert_eq!(settings.prefix, "demo", "the default stands in");
        }
    }
}
