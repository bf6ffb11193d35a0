//! Fill leases in this process: a load that began before an invalidation of its key (or
//! of a tag it carries, a pattern matching it, or the whole alias) must not store its
//! result, because it may have read the data the invalidating write replaced.
//!
//! Every load takes a [`Lease`] before it starts; every write and invalidation voids the
//! leases it concerns before it reaches the backend; a load stores its value only while
//! its lease still holds, checked and stored in one step under the registry's lock (in
//! process), or by a script on Redis that does the same across instances (see
//! `redis/lease.rs`). This is the lease of memcache at Facebook ("Scaling Memcache at
//! Facebook", NSDI 2013), kept in the process that loads.
//!
//! Nothing here is on the path of a hit: only misses take a lease, and a write touches
//! the lock only while some load is in flight (one relaxed load otherwise).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::glob;

/// The leases of one alias's loads in flight.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    /// Shared with every [`Lease`], which removes itself when dropped.
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Lease id → what it covers; a voided lease is removed.
    held: Mutex<HashMap<u64, Held>>,
    /// How many leases are held: writes skip the lock when none is.
    count: AtomicUsize,
    /// The next lease's id.
    next: AtomicU64,
}

/// What one load in flight may store.
#[derive(Debug)]
struct Held {
    key: String,
    tags: Vec<String>,
}

/// One load's right to store its result, valid until a write voids it. Dropping it (the
/// load ended, or was cancelled) forgets it.
#[derive(Debug)]
pub(crate) struct Lease {
    shared: Arc<Shared>,
    id: u64,
}

impl Leases {
    /// A lease for a load of `key`, whose value will carry `tags`.
    pub(crate) fn grant(&self, key: &str, tags: &[String]) -> Lease {
        let id = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let held = Held {
            key: key.to_owned(),
            tags: tags.to_vec(),
        };
        // Counted before it exists, so a write that sees no lease really concerns none.
        self.shared.count.fetch_add(1, Ordering::Relaxed);
        self.shared.lock().insert(id, held);
        Lease {
            shared: Arc::clone(&self.shared),
            id,
        }
    }

    /// Voids the leases of loads of `key`.
    pub(crate) fn void_key(&self, key: &str) {
        self.void_where(|held| held.key == key);
    }

    /// Voids the leases of loads whose value carries `tag`.
    pub(crate) fn void_tag(&self, tag: &str) {
        self.void_where(|held| held.tags.iter().any(|carried| carried == tag));
    }

    /// Voids the leases of loads of keys matching the glob `pattern`.
    pub(crate) fn void_matching(&self, pattern: &str) {
        self.void_where(|held| glob::matches(pattern, &held.key));
    }

    /// Voids every lease.
    pub(crate) fn void_all(&self) {
        self.void_where(|_| true);
    }

    fn void_where(&self, doomed: impl Fn(&Held) -> bool) {
        // The count is raised before a lease exists and lowered after it is gone, so a
        // zero here means no lease this write could concern exists.
        if self.shared.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut held = self.shared.lock();
        let before = held.len();
        held.retain(|_, lease| !doomed(lease));
        let voided = before - held.len();
        self.shared.count.fetch_sub(voided, Ordering::Relaxed);
    }
}

impl Lease {
    /// Whether no write has voided this lease yet.
    pub(crate) fn holds(&self) -> bool {
        self.shared.lock().contains_key(&self.id)
    }

    /// Runs `store` if the lease still holds, with writes that would void it held off
    /// until `store` returns; whether it ran.
    pub(crate) fn store_if_held(&self, store: impl FnOnce()) -> bool {
        let held = self.shared.lock();
        if !held.contains_key(&self.id) {
            return false;
        }
        store();
        drop(held);
        true
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.shared.lock().remove(&self.id).is_some() {
            self.shared.count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Leases;

    #[test]
    fn a_write_voids_the_leases_it_concerns_and_no_other() {
        let leases = Leases::default();
        let user = leases.grant("user:1", &["users".to_owned()]);
        let other = leases.grant("user:2", &[]);
        let page = leases.grant("page:1", &["pages".to_owned()]);
        leases.void_key("user:1");
        assert!(!user.holds());
        assert!(other.holds() && page.holds());

        let user = leases.grant("user:1", &["users".to_owned()]);
        leases.void_tag("users");
        assert!(!user.holds());
        assert!(other.holds() && page.holds());

        leases.void_matching("user:*");
        assert!(!other.holds());
        assert!(page.holds());
        leases.void_all();
        assert!(!page.holds());
    }

    #[test]
    fn a_voided_lease_stores_nothing_and_a_held_one_stores_once() {
        let leases = Leases::default();
        let lease = leases.grant("k", &[]);
        let mut stored = 0;
        assert!(lease.store_if_held(|| stored += 1));
        leases.void_key("k");
        assert!(!lease.store_if_held(|| stored += 1));
        assert_eq!(stored, 1);
    }

    #[test]
    fn dropped_leases_are_forgotten() {
        let leases = Leases::default();
        let lease = leases.grant("k", &[]);
        drop(lease);
        assert_eq!(leases.shared.lock().len(), 0);
        assert_eq!(
            leases
                .shared
                .count
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
        let voided = leases.grant("k", &[]);
        leases.void_key("k");
        drop(voided);
        assert_eq!(
            leases
                .shared
                .count
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}
