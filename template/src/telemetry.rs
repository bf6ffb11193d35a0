//! Tracing set-up: pretty lines for people, JSON lines for machines, always on stderr
//! so that a command's stdout carries only its result.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber. `default_level` applies when `RUST_LOG` is unset.
///
/// Calling it twice is harmless: the first subscriber stays.
pub fn init(settings: &LogSettings, default_level: &str) {
    let filter = settings
        .filter
        .as_deref()
        .and_then(|directive| EnvFilter::try_new(directive).ok())
        .unwrap_or_else(|| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    // Err only means a subscriber is already installed (tests install their own).
    drop(result);
}
