//! Logging settings: `LOG_FORMAT` and `RUST_LOG`.

use super::EnvReader;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, coloured when stderr is a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Logging configuration.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `LOG_FORMAT`: `pretty` (default) or `json`.
    pub format: LogFormat,
    /// `RUST_LOG`: an `EnvFilter` directive; `None` uses the mode's default level.
    pub filter: Option<String>,
}

impl LogSettings {
    pub(super) fn read(env: &mut EnvReader) -> Self {
        let format = env.parse(
            "LOG_FORMAT",
            LogFormat::Pretty,
            "pretty or json",
            |raw| match raw.to_ascii_lowercase().as_str() {
                "pretty" => Some(LogFormat::Pretty),
                "json" => Some(LogFormat::Json),
                _ => None,
            },
        );
        let filter = env.string("RUST_LOG");
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
}
