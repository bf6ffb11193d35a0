//! Tracing set-up: pretty lines for people, JSON lines for machines, always on stderr
//! so that a command's stdout carries only its result. [`capture_logs`] records them in
//! memory instead, for tests.
//!
//! Lines are formatted on the thread that logs them and written to stderr by a
//! background thread ([`tracing_appender::non_blocking()`]), so a request never waits on
//! the terminal or the log shipper's pipe; when that pipe stalls, lines are dropped and
//! counted ([`dropped_lines`]). [`init`] returns the guard that flushes
//! them; a fatal error that ends the process is printed by [`report_error`], in the
//! same format as every other line.

mod dropped_lines;
mod json_lines;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Directive;

use crate::settings::{LogFormat, LogSettings};
pub use dropped_lines::dropped_lines;
pub use json_lines::{JsonFields, JsonLines};

/// Added to every filter that does not mention `actix_http`: the HTTP/1 dispatcher
/// logs a malformed request line, an oversized head or `Content-Length: abc` as an
/// `ERROR` ("stream error"), although it is the client's mistake and actix answers it
/// with a 400 or 431 by itself. Clients must not be able to write error lines at will;
/// `RUST_LOG=info,actix_http=debug` shows them again.
pub const CLIENT_ERRORS_OFF: &str = "actix_http::h1::dispatcher=off";

/// The writer thread's guard, held here so that [`flush`] can reach it from anywhere
/// (a second ctrl-c exits without unwinding).
static WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Flushes the log lines on drop; keep it until the process is about to exit.
#[must_use = "dropping the guard stops the log writer: keep it until the process exits"]
pub struct TelemetryGuard(());

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        flush();
    }
}

/// Installs the global subscriber. `default_filter` applies when `RUST_LOG` is unset.
///
/// Calling it twice is harmless: the first subscriber stays.
pub fn init(settings: &LogSettings, default_filter: &str) -> TelemetryGuard {
    let directives = settings.filter.as_deref().unwrap_or(default_filter);
    let mut filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    if !directives.contains("actix_http")
        && let Ok(directive) = CLIENT_ERRORS_OFF.parse::<Directive>()
    {
        filter = filter.add_directive(directive);
    }
    // lossy: when the queue is full (stderr's reader stalled), a new line is dropped and
    // counted rather than make the logging thread wait; `dropped_lines` says why that
    // beats blocking. `LOG_QUEUE_LINES` (128,000 by default) is far more than a burst.
    // BufWriter: the writer thread flushes whenever the queue is empty, so lines go out
    // in few writes and none waits long.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(settings.queue_lines)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let dropped = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = match settings.format {
        // One object per line, each field once: the event's fields at the top level and
        // the request span's fields (request id, method, route, path) under `span`.
        LogFormat::Json => builder
            .fmt_fields(JsonFields)
            .event_format(JsonLines)
            .try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    // Err only means a subscriber is already installed (tests install their own).
    if result.is_ok() {
        *WRITER.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
        dropped_lines::watch(dropped);
    }
    TelemetryGuard(())
}

/// Writes every log line still queued to stderr and stops the writer thread; lines
/// logged afterwards are lost. [`TelemetryGuard`] calls it; call it yourself only
/// before `std::process::exit`.
pub fn flush() {
    let guard = WRITER.lock().unwrap_or_else(PoisonError::into_inner).take();
    drop(guard);
}

/// Prints an error that ends the process, on stderr and in the log format: one
/// `error: …` line for people, or one JSON object like every other log line. It does
/// not go through the filter, so `RUST_LOG=off` cannot hide why the process stopped.
/// Call it after [`flush`] (or before [`init`]) so it comes last.
pub fn report_error(format: LogFormat, message: &str) {
    eprintln!("{}", error_line(format, message));
}

/// The line [`report_error`] prints.
///
/// ```
/// use {{crate_name}}::settings::LogFormat;
/// use {{crate_name}}::telemetry::error_line;
///
/// let line = error_line(LogFormat::Json, "APP_PORT is invalid");
/// let json: serde_json::Value = serde_json::from_str(&line).unwrap();
/// assert_eq!((json["level"].as_str(), json["message"].as_str()), (Some("ERROR"), Some("APP_PORT is invalid")));
/// assert!(line.starts_with("{\"timestamp\":"), "the same shape as every other line");
/// assert_eq!(error_line(LogFormat::Pretty, "APP_PORT is invalid"), "error: APP_PORT is invalid");
/// ```
pub fn error_line(format: LogFormat, message: &str) -> String {
    match format {
        LogFormat::Pretty => format!("error: {message}"),
        LogFormat::Json => json_lines::error_line(message, env!("CARGO_CRATE_NAME")),
    }
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
