//! For tests of the engine and of the services that use it (feature `test-support`):
//! real Redis servers, clusters and sentinels on free loopback ports (with the `redis`
//! feature), and [`capture_logs`], which records what the code under test logs.

#[cfg(feature = "redis")]
mod redis_servers;

use std::sync::{Arc, Mutex, PoisonError};

#[cfg(feature = "redis")]
pub use redis_servers::*;

/// Log lines captured in memory by [`capture_logs`].
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records every event logged on this thread, at every level and without colours, until
/// the guard is dropped.
///
/// ```
/// let (guard, logs) = service_cache::test_support::capture_logs();
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
