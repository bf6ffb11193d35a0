//! Invalidations Redis did not take are kept and sent once it answers (see
//! `redis/delivery.rs`); this is the background loop that sends them without waiting
//! for traffic, and the count `/ready` and `/metrics` report.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Cache;

/// How often the background loop tries again while invalidations wait.
const RETRY_EVERY: Duration = Duration::from_millis(200);

impl Cache {
    /// Invalidations that wait for Redis to answer.
    ///
    /// ```
    /// # use service_cache::{CacheSettings, Caches};
    /// let caches = Caches::from_settings(&CacheSettings::default());
    /// assert_eq!(caches.persistent().pending_invalidations(), 0);
    /// ```
    pub fn pending_invalidations(&self) -> usize {
        self.inner.store.pending_invalidations()
    }

    /// Starts the loop that delivers pending invalidations, unless it runs, on the
    /// caller's Tokio runtime (outside one, the next operation delivers them). It ends
    /// when nothing is pending, or when the cache is gone.
    pub(super) fn deliver_in_background(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.delivering.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            loop {
                let Some(inner) = cache.upgrade() else { return };
                if inner.store.pending_invalidations() == 0 {
                    inner.delivering.store(false, Ordering::Release);
                    // Kept after the flag was read: this loop goes on.
                    if inner.store.pending_invalidations() == 0
                        || inner.delivering.swap(true, Ordering::AcqRel)
                    {
                        return;
                    }
                }
                // Failures are already logged by the store; what is left stays pending.
                let _ = inner.store.deliver_pending().await;
                drop(inner);
                tokio::time::sleep(RETRY_EVERY).await;
            }
        });
    }
}
