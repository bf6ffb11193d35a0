//! The one shutdown signal, shared by every long-running mode.
//!
//! [`Shutdown::on_signals`] installs the SIGTERM and ctrl-c handlers at start-up; a
//! mode receives [`Shutdown::requested`] as a plain future, so tests (and a mode that
//! stops on its own) use [`Shutdown::new`] and [`Shutdown::trigger`] instead. The first
//! signal asks for a graceful stop; a second one during the grace period ends the
//! process at once.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// Exit code of a process ended by a second signal (128 + SIGINT, as shells report it).
pub const EXIT_FORCED: i32 = 130;

/// A shutdown that can be requested once and awaited anywhere. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shutdown {
    /// `true` once shutdown is requested.
    requested: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A shutdown that only [`Shutdown::trigger`] requests.
    ///
    /// ```
    /// use {{crate_name}}::shutdown::Shutdown;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let shutdown = Shutdown::new();
    /// let stopped = shutdown.requested();
    /// shutdown.trigger();
    /// stopped.await;
    /// # }
    /// ```
    pub fn new() -> Self {
        Self {
            requested: Arc::new(watch::channel(false).0),
        }
    }

    /// Requests shutdown on the first SIGTERM (what container runtimes send) or ctrl-c.
    /// A second signal ends the process at once with [`EXIT_FORCED`] and one log line.
    ///
    /// The handlers are installed now, not when the future is first polled, so a signal
    /// that arrives while a mode starts is not lost. Must be called inside the runtime.
    ///
    /// # Errors
    /// When a handler cannot be installed: a service that could not be stopped
    /// gracefully does not start.
    pub fn on_signals() -> std::io::Result<Self> {
        let shutdown = Self::new();
        let mut signals = Signals::install()?;
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            let name = signals.next().await;
            tracing::info!("{name} received: stopping gracefully (send it again to stop at once)");
            trigger.trigger();
            let name = signals.next().await;
            tracing::warn!(
                "{name} received again: stopping now, without waiting for work in flight"
            );
            // exit skips destructors: write out the queued log lines (this one included).
            crate::telemetry::flush();
            std::process::exit(EXIT_FORCED);
        });
        Ok(shutdown)
    }

    /// Requests shutdown; every [`Shutdown::requested`] future completes.
    pub fn trigger(&self) {
        self.requested.send_replace(true);
    }

    /// Completes once shutdown is requested (at once if it already was).
    pub fn requested(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut receiver = self.requested.subscribe();
        async move {
            // An error means every sender is gone, which also means "stop".
            let _ = receiver.wait_for(|requested| *requested).await;
        }
    }
}

/// The installed signal handlers.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "ctrl-c",
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "ctrl-c"
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Shutdown;

    #[tokio::test]
    async fn every_clone_sees_one_trigger_even_when_it_subscribed_late() {
        let shutdown = Shutdown::new();
        let early = shutdown.requested();
        let pending = tokio::time::timeout(Duration::from_millis(50), shutdown.requested()).await;
        assert!(pending.is_err(), "completed before the trigger");
        shutdown.clone().trigger();
        early.await;
        shutdown.requested().await;
    }
}
