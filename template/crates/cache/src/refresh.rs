//! Background refreshes of stale entries: at most one per key at a time, however many
//! callers find the entry stale while it runs.
//!
//! Unlike [`single_flight`](super::single_flight), nobody waits here: the callers who
//! find a key stale are answered with the stale value at once, and the first of them
//! holds the key's [`Refresh`] until its background load has stored the new value (or
//! failed). The others see the key taken and start nothing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// The keys of one alias being refreshed right now.
#[derive(Debug, Default)]
pub(super) struct Refreshes {
    /// Shared with every [`Refresh`], which removes its key when dropped.
    running: Arc<Mutex<HashSet<String>>>,
}

/// The right to refresh one key, held by its background load; dropping it (at the end
/// of the load, or when the task is cancelled) frees the key.
#[derive(Debug)]
pub struct Refresh {
    running: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Refreshes {
    /// The right to refresh `key`, unless a refresh of it is running.
    pub(super) fn begin(&self, key: &str) -> Option<Refresh> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert(key.to_owned()).then(|| Refresh {
            running: Arc::clone(&self.running),
            key: key.to_owned(),
        })
    }
}

impl Drop for Refresh {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::Refreshes;

    #[test]
    fn one_refresh_per_key_until_it_ends() {
        let refreshes = Refreshes::default();
        let first = refreshes.begin("a").expect("nothing runs yet");
        assert!(refreshes.begin("a").is_none(), "a refresh of a runs");
        let other = refreshes.begin("b").expect("b is another key");
        drop(first);
        assert!(refreshes.begin("a").is_some(), "the first one ended");
        drop(other);
    }
}
