//! `config check`: validates the environment the way start-up does, then prints the
//! effective settings, secrets redacted.
//!
//! It runs before anything else is set up (no telemetry, no runtime), so it also works
//! when the configuration is broken: that is when it is needed most.

use std::fmt::Display;
use std::process::ExitCode;

use crate::command::EXIT_CONFIG;
use crate::settings::{LogFormat, Settings, SettingsError};

/// Configuration commands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate every variable and print the effective settings (secrets redacted).
    #[command(
        long_about = "Validate every variable and print the effective settings.\n\n\
        Reads the environment (and .env, if present) exactly as start-up does. When every \
        value is valid, prints the settings in .env form on stdout, with passwords \
        replaced by [redacted], and exits 0. Otherwise prints one line per invalid \
        variable on stderr and exits 78."
    )]
    Check,
}

/// Runs a `config` command and returns the exit code.
pub fn run(command: ConfigCommand) -> ExitCode {
    match command {
        ConfigCommand::Check => check(Settings::from_env()),
    }
}

fn check(settings: Result<Settings, SettingsError>) -> ExitCode {
    match settings {
        Ok(settings) => {
            print!("{}", render(&settings));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// The settings as `.env` lines, grouped like `.env.example`.
fn render(settings: &Settings) -> String {
    let mut out = EnvText(String::new());
    out.note("The configuration is valid. Effective settings:");

    out.section("Logging");
    let format = match settings.log.format {
        LogFormat::Pretty => "pretty",
        LogFormat::Json => "json",
    };
    out.var("LOG_FORMAT", format);
    match &settings.log.filter {
        Some(filter) => out.var("RUST_LOG", filter),
        None => out.note("RUST_LOG is unset: info for servers, warn for commands"),
    }
{%- if web %}

    let app = &settings.app;
    out.section("Web server");
    out.var("APP_HOST", &app.host);
    out.var("APP_PORT", app.port);
    out.var("APP_BODY_LIMIT_BYTES", app.body_limit_bytes);
    out.var("APP_SHUTDOWN_TIMEOUT_MS", app.shutdown_timeout.as_millis());
{%- endif %}
{%- if worker %}

    let worker = &settings.worker;
    out.section("Worker");
    out.var("WORKER_INTERVAL_MS", worker.interval.as_millis());
    out.var("WORKER_CONCURRENCY", worker.concurrency);
    out.var(
        "WORKER_SHUTDOWN_TIMEOUT_MS",
        worker.shutdown_timeout.as_millis(),
    );
{%- endif %}
{%- if cache %}

    let cache = &settings.cache;
    out.section("Cache");
    out.var("CACHE_ENABLED", cache.enabled);
    out.var("CACHE_DEFAULT_TTL", cache.default_ttl.as_secs());
    out.var("CACHE_PERSISTENT_TTL", cache.persistent_ttl.as_secs());
    out.var("CACHE_PREFIX", &cache.prefix);
    out.var("CACHE_MEMORY_MAX_CAPACITY", cache.memory_max_capacity);
{%- if redis %}
    match &cache.redis {
        Some(redis) => {
            // The whole URL is secret; printing it with only the password hidden still
            // shows which server and database the settings resolved to.
            out.var("CACHE_REDIS_URL", without_password(redis.url.expose()));
            out.var("CACHE_REDIS_TIMEOUT_MS", redis.timeout.as_millis());
        }
        None => {
            out.note("CACHE_REDIS_HOST and CACHE_REDIS_URL are unset: persistent is in-process")
        }
    }
{%- else %}
    out.note("persistent is in-process: this service was built without Redis support");
{%- endif %}
{%- endif %}
    out.0
}

/// Text in `.env` form: `NAME=value` lines under `#` comments.
struct EnvText(String);

impl EnvText {
    fn section(&mut self, title: &str) {
        self.0.push_str(&format!("\n# {title}\n"));
    }

    fn var(&mut self, name: &str, value: impl Display) {
        self.0.push_str(&format!("{name}={value}\n"));
    }

    fn note(&mut self, text: &str) {
        self.0.push_str(&format!("# {text}\n"));
    }
}
{%- if redis %}

/// `url` with the password in its user-info replaced by `[redacted]`. User-info without
/// a `:` is redacted whole, since some clients read a lone value as the password. The
/// last `@` ends the user-info, so a password holding `/` or `@` is never cut in two.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[redacted]".to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:[redacted]@{host}"),
            None => format!("{scheme}://[redacted]@{host}"),
        },
        None => url.to_owned(),
    }
}
{%- endif %}

#[cfg(test)]
mod tests {
    use crate::settings::{EnvReader, Settings};

    use super::render;
{%- if redis %}
    use super::without_password;
{%- endif %}

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_reader(&mut EnvReader::from_map(vars.iter().copied()))
            .expect("valid settings")
    }

    #[test]
    fn every_line_is_a_variable_or_a_comment() {
        let text = render(&settings(&[("LOG_FORMAT", "json")]));
        assert!(text.contains("\nLOG_FORMAT=json\n"), "{text}");
        for line in text.lines().filter(|line| !line.is_empty()) {
            let is_assignment = line
                .split_once('=')
                .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
            assert!(line.starts_with('#') || is_assignment, "{line}");
        }
    }
{%- if redis %}

    #[test]
    fn the_redis_password_is_replaced_and_the_host_kept() {
        let text = render(&settings(&[
            ("CACHE_REDIS_HOST", "cache.internal"),
            ("CACHE_REDIS_PASSWORD", "s3cret:pw"),
        ]));
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("CACHE_REDIS_URL=redis://:[redacted]@cache.internal:6379/0"),
            "{text}"
        );
    }

    #[test]
    fn urls_keep_everything_but_the_password() {
        let cases = [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            (
                "rediss://alice:pw@h:6380/1",
                "rediss://alice:[redacted]@h:6380/1",
            ),
            ("redis://lonely@h", "redis://[redacted]@h"),
            ("redis://:p@ss@h/2", "redis://:[redacted]@h/2"),
            ("redis://:pa/ss@h/0", "redis://:[redacted]@h/0"),
            ("not a url", "[redacted]"),
        ];
        for (url, expected) in cases {
            assert_eq!(without_password(url), expected, "{url}");
        }
    }
{%- endif %}
}
