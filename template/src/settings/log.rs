//! Logging settings: `LOG_FORMAT` and `RUST_LOG`.

use serde::Deserialize;

use super::{EnvReader, VarValue};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, coloured when stderr is a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// The format `LOG_FORMAT` asks for, read leniently (anything but `json` is pretty):
    /// for the errors printed when the settings as a whole are invalid.
    pub fn requested_in(env: &EnvReader) -> Self {
        match env.value("LOG_FORMAT") {
            Some(format) if format.eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Pretty,
        }
    }

    /// The value of `LOG_FORMAT` that selects this format.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

/// `LOG_FORMAT` when unset.
pub const DEFAULT_FORMAT: LogFormat = LogFormat::Pretty;
/// `LOG_QUEUE_LINES` when unset: tracing-appender's own default.
pub const DEFAULT_QUEUE_LINES: usize = 128_000;

/// Logging configuration.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `LOG_FORMAT`: `pretty` or `json`.
    pub format: LogFormat,
    /// `RUST_LOG`: an `EnvFilter` directive; `None` uses the mode's default level.
    pub filter: Option<String>,
    /// `LOG_QUEUE_LINES`: lines waiting for stderr at most; past that, new lines are
    /// dropped (and counted) rather than make the service wait for a stalled reader.
    pub queue_lines: usize,
}

/// `LOG_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct LogVars {
    format: Option<String>,
    queue_lines: Option<String>,
}

/// `RUST_LOG`, read apart because it has the prefix the whole Rust ecosystem uses.
#[derive(Debug, Default, Deserialize)]
struct RustVars {
    log: Option<String>,
}

impl LogSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let vars: LogVars = env.prefixed("LOG_");
        let format = env.parse(
            "LOG_FORMAT",
            vars.format,
            DEFAULT_FORMAT,
            "pretty or json",
            |raw| match raw.to_ascii_lowercase().as_str() {
                "pretty" => Some(LogFormat::Pretty),
                "json" => Some(LogFormat::Json),
                _ => None,
            },
        );
        let RustVars { log: filter } = env.prefixed("RUST_");
        if let Some(directives) = &filter
            && let Err(expected) = check_filter(directives)
        {
            env.reject("RUST_LOG", Some(directives.clone()), &expected);
        }
        let queue_lines = env.parse(
            "LOG_QUEUE_LINES",
            vars.queue_lines,
            DEFAULT_QUEUE_LINES,
            "a whole number of lines from 1 to 10000000",
            |raw| raw.parse().ok().filter(|n| (1..=10_000_000).contains(n)),
        );
        Self {
            format,
            filter,
            queue_lines,
        }
    }

    /// `LOG_FORMAT` and `RUST_LOG` with the values in effect; `None`: unset.
    pub fn vars(&self) -> Vec<VarValue> {
        vec![
            ("LOG_FORMAT", Some(self.format.as_str().to_owned())),
            ("RUST_LOG", self.filter.clone()),
            ("LOG_QUEUE_LINES", Some(self.queue_lines.to_string())),
        ]
    }
}

/// The levels a `RUST_LOG` directive may name on its own.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Checks `RUST_LOG`; the error is what was expected, with the likely fix.
///
/// `EnvFilter` reads a bare word as a target name, so `warning` or `nonsense` would be
/// accepted and silence every line, errors included. Here a bare word must be a level;
/// a target takes `target=level`.
fn check_filter(directives: &str) -> Result<(), String> {
    for directive in directives.split(',').map(str::trim) {
        let bare = !directive.is_empty() && !directive.contains(['=', '[']);
        if bare && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            let fix = match directive.to_ascii_lowercase().as_str() {
                "warning" | "warnings" => "warn",
                "information" | "informational" | "notice" => "info",
                "err" | "errors" | "fatal" | "critical" => "error",
                "verbose" | "dbg" => "debug",
                "all" => "trace",
                "none" | "silent" | "quiet" => "off",
                _ => "info",
            };
            return Err(format!(
                "a level (trace, debug, info, warn, error or off) or target=level directives \
                 such as `info,my_service=debug`; `{directive}` is neither (it would silence \
                 every log line): did you mean `{fix}`?"
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(directives)
        .map(drop)
        .map_err(|error| format!("a filter such as `info` or `info,my_service=debug` ({error})"))
}

#[cfg(test)]
mod tests {
    use super::{LogFormat, LogSettings};
    use crate::settings::EnvReader;

    fn read(vars: &[(&str, &str)]) -> Result<LogSettings, String> {
        let mut env = EnvReader::from_map(vars.iter().copied());
        let settings = LogSettings::read(&mut env);
        env.finish()
            .map(|()| settings)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn levels_and_target_directives_are_accepted() {
        for filter in [
            "info",
            "WARN",
            "off",
            "info,my_service=debug",
            "my_service::web=trace",
            "warn,[request]=debug",
        ] {
            assert!(
                read(&[("RUST_LOG", filter)]).is_ok(),
                "{filter} was refused"
            );
        }
    }

    #[test]
    fn a_bare_word_that_is_not_a_level_is_refused_with_the_likely_fix() {
        let message = read(&[("RUST_LOG", "warning")]).unwrap_err();
        assert!(
            message.contains("RUST_LOG=\"warning\"") && message.contains("`warn`?"),
            "{message}"
        );
        let message = read(&[("RUST_LOG", "info,nonsense")]).unwrap_err();
        assert!(
            message.contains("`nonsense` is neither") && message.contains("`info`?"),
            "{message}"
        );
        assert!(read(&[("RUST_LOG", "my_service=loud")]).is_err());
    }

    #[test]
    fn the_queue_is_bounded_and_not_empty() {
        assert_eq!(read(&[]).unwrap().queue_lines, super::DEFAULT_QUEUE_LINES);
        for bad in ["0", "-1", "lots", "10000001"] {
            let message = read(&[("LOG_QUEUE_LINES", bad)]).unwrap_err();
            assert!(message.contains("LOG_QUEUE_LINES"), "{message}");
        }
    }

    #[test]
    fn the_requested_format_is_read_even_when_other_settings_are_invalid() {
        let env = EnvReader::from_map([("LOG_FORMAT", "JSON"), ("APP_PORT", "abc")]);
        assert_eq!(LogFormat::requested_in(&env), LogFormat::Json);
        let env = EnvReader::from_map([("LOG_FORMAT", "xml")]);
        assert_eq!(LogFormat::requested_in(&env), LogFormat::Pretty);
    }
}
