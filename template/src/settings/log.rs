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

/// Logging configuration.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `LOG_FORMAT`: `pretty` or `json`.
    pub format: LogFormat,
    /// `RUST_LOG`: an `EnvFilter` directive; `None` uses the mode's default level.
    pub filter: Option<String>,
}

/// `LOG_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct LogVars {
    format: Option<String>,
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
        if let Some(directive) = &filter
            && tracing_subscriber::EnvFilter::try_new(directive).is_err()
        {
            env.reject(
                "RUST_LOG",
                Some(directive.clone()),
                "a filter such as `info` or `my_service=debug,warn`",
            );
        }
        Self { format, filter }
    }

    /// `LOG_FORMAT` and `RUST_LOG` with the values in effect; `None`: unset.
    pub fn vars(&self) -> Vec<VarValue> {
        vec![
            ("LOG_FORMAT", Some(self.format.as_str().to_owned())),
            ("RUST_LOG", self.filter.clone()),
        ]
    }
}
