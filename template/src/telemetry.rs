//! Tracing set-up: pretty lines for people, JSON lines for machines, always on stderr
//! so that a command's stdout carries only its result. [`capture_logs`] records them in
//! memory instead, for tests.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};

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

/// Log lines captured in memory by [`capture_logs`].
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far, one line per event.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records every log event of this thread, at every level, while the guard lives: for
/// tests that check what was logged, or that a secret never was.
///
/// ```
/// let (guard, logs) = {{crate_name}}::telemetry::capture_logs();
/// tracing::warn!("disk almost full");
/// drop(guard);
/// assert!(logs.text().contains("WARN") && logs.text().contains("disk almost full"));
/// ```
pub fn capture_logs() -> (tracing::subscriber::DefaultGuard, CapturedLogs) {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), logs)
}
