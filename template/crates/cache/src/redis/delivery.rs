//! Invalidations that are delivered: a write's invalidation that Redis did not take (it
//! was down, slow, or the breaker was failing fast) is kept, not dropped, and sent as soon
//! as Redis answers, before this instance reads anything from Redis again.
//!
//! - Kept: deletes of keys (and `set`s that failed, since the old value must not
//!   survive them), pattern deletes, tag invalidations and clears, in order, with the L1
//!   copies they concern dropped at once.
//! - Bounded: past [`MAX_PENDING_INVALIDATIONS`] the list is replaced by one clear of this
//!   `CACHE_VERSION`'s keys: more is removed than was asked, never less, and it is
//!   logged.
//! - Sent: by the first operation that finds Redis admitting commands again (every
//!   operation delivers what is pending before its own command, so no read from Redis
//!   can see what a pending invalidation removes), and by a background loop the cache
//!   starts, so delivery needs no traffic.
//! - Seen: `/ready` and `/metrics` report how many are pending; at shutdown, any left
//!   are logged as an error.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{RedisStore, SCAN_BATCH};
use crate::CacheError;

/// Pending invalidations one instance keeps; past it they are replaced by one clear of
/// its `CACHE_VERSION` (more is removed than was asked, never less).
///
/// ```
/// assert_eq!(service_cache::MAX_PENDING_INVALIDATIONS, 10_000);
/// ```
pub const MAX_PENDING_INVALIDATIONS: usize = 10_000;

tokio::task_local! {
    /// Set while this task delivers: its own commands go out without waiting for
    /// delivery (themselves) or for the breaker (delivery is the probe).
    static DELIVERING: ();
}

/// One invalidation that has not reached Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Invalidation {
    /// Remove this key (the caller's key, without prefix).
    Key(String),
    /// Remove the keys matching this glob.
    Pattern(String),
    /// Remove the entries carrying this tag.
    Tag(String),
    /// Remove every key of this version (a clear, or the bound was passed).
    Version,
}

/// The invalidations waiting for Redis, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    queue: Mutex<VecDeque<Invalidation>>,
    /// The queue's length, read without the lock on every command.
    len: AtomicUsize,
    /// One delivery at a time; other commands wait for it.
    delivering: tokio::sync::Mutex<()>,
}

impl Pending {
    /// How many invalidations wait for Redis.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Invalidation>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, invalidation: Invalidation) {
        let mut queue = self.queue();
        if queue.back() == Some(&invalidation) || queue.front() == Some(&Invalidation::Version) {
            return;
        }
        let invalidation = if queue.len() >= MAX_PENDING_INVALIDATIONS {
            tracing::error!(
                "more than {MAX_PENDING_INVALIDATIONS} cache invalidations wait for Redis; this version's whole cache will be cleared instead once Redis answers"
            );
            Invalidation::Version
        } else {
            invalidation
        };
        // A clear of the version covers whatever waited before it.
        if invalidation == Invalidation::Version {
            queue.clear();
        }
        queue.push_back(invalidation);
        self.len.store(queue.len(), Ordering::Relaxed);
    }

    fn front(&self) -> Option<Invalidation> {
        self.queue().front().cloned()
    }

    /// The keys at the front of the queue, up to a batch.
    fn front_keys(&self) -> Vec<String> {
        self.queue()
            .iter()
            .take(SCAN_BATCH)
            .map_while(|invalidation| match invalidation {
                Invalidation::Key(key) => Some(key.clone()),
                _ => None,
            })
            .collect()
    }

    /// Removes the first `count` entries, delivered.
    fn delivered(&self, count: usize) {
        let mut queue = self.queue();
        let count = count.min(queue.len());
        queue.drain(..count);
        self.len.store(queue.len(), Ordering::Relaxed);
    }
}

impl RedisStore {
    /// How many invalidations wait for Redis.
    pub(crate) fn pending_invalidations(&self) -> usize {
        self.pending.len()
    }

    /// Keeps the invalidation of `key` that `outcome` failed to deliver.
    pub(super) fn keep_key<T>(
        &self,
        key: &str,
        outcome: Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        self.keep(outcome, || [Invalidation::Key(key.to_owned())])
    }

    /// Keeps the invalidations of `keys` that `outcome` failed to deliver.
    pub(super) fn keep_keys<'a, T>(
        &self,
        keys: impl Iterator<Item = &'a str>,
        outcome: Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        self.keep(outcome, || {
            keys.map(|key| Invalidation::Key(key.to_owned()))
        })
    }

    /// Keeps the pattern delete that `outcome` failed to deliver.
    pub(super) fn keep_pattern<T>(
        &self,
        pattern: &str,
        outcome: Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        self.keep(outcome, || [Invalidation::Pattern(pattern.to_owned())])
    }

    /// Keeps the tag invalidation that `outcome` failed to deliver; the L1 is emptied,
    /// since which of its copies carry the tag is only known to Redis.
    pub(super) fn keep_tag<T>(
        &self,
        tag: &str,
        outcome: Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        if outcome.is_err() {
            self.flush_l1();
        }
        self.keep(outcome, || [Invalidation::Tag(tag.to_owned())])
    }

    /// Keeps the clear that `outcome` failed to deliver.
    pub(super) fn keep_clear<T>(&self, outcome: Result<T, CacheError>) -> Result<T, CacheError> {
        self.keep(outcome, || [Invalidation::Version])
    }

    /// Keeps what `invalidations` names when `outcome` failed, and says so in its error.
    fn keep<T, I: IntoIterator<Item = Invalidation>>(
        &self,
        outcome: Result<T, CacheError>,
        invalidations: impl FnOnce() -> I,
    ) -> Result<T, CacheError> {
        // Delivery's own failures leave its entry where it is.
        if Self::delivering() {
            return outcome;
        }
        outcome.map_err(|error| {
            for invalidation in invalidations() {
                self.pending.push(invalidation);
            }
            CacheError::Queued(Box::new(error))
        })
    }

    /// Sends what is pending, oldest first, unless this task is the one sending;
    /// stops at the first failure (what is left stays pending).
    ///
    /// Boxed as a `dyn` future: delivery sends its commands through the same path as
    /// every command, which delivers first, so the future would contain itself.
    pub(crate) fn deliver_pending(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<(), CacheError>> + Send + '_>> {
        Box::pin(self.deliver_in_order())
    }

    async fn deliver_in_order(&self) -> Result<(), CacheError> {
        if self.pending.len() == 0 || Self::delivering() {
            return Ok(());
        }
        let _only_one = self.pending.delivering.lock().await;
        DELIVERING
            .scope((), async {
                while let Some(next) = self.pending.front() {
                    let sent = match next {
                        Invalidation::Key(_) => self.deliver_keys().await?,
                        Invalidation::Pattern(pattern) => {
                            self.delete_matching(&pattern).await?;
                            1
                        }
                        Invalidation::Tag(tag) => {
                            self.invalidate_tag(&tag).await?;
                            1
                        }
                        Invalidation::Version => {
                            self.clear().await?;
                            1
                        }
                    };
                    self.pending.delivered(sent);
                    if self.pending.len() == 0 {
                        tracing::info!("every pending cache invalidation reached Redis");
                    }
                }
                Ok(())
            })
            .await
    }

    /// Removes the keys at the front of the queue, their fill leases first, in two
    /// commands; how many were sent.
    async fn deliver_keys(&self) -> Result<usize, CacheError> {
        let keys = self.pending.front_keys();
        let asked: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.unlink_with_leases(&asked).await?;
        Ok(keys.len())
    }

    /// Whether commands of this task skip delivery and the breaker (it is delivering).
    pub(super) fn delivering() -> bool {
        DELIVERING.try_with(|_| ()).is_ok()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let left = self.len();
        if left > 0 {
            tracing::error!(
                left,
                "cache invalidations never reached Redis before shutdown; what they name may be served until its TTL"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Invalidation, MAX_PENDING_INVALIDATIONS, Pending};

    fn key(n: usize) -> Invalidation {
        Invalidation::Key(format!("k{n}"))
    }

    #[test]
    fn invalidations_wait_in_order_and_repeats_are_kept_once() {
        let pending = Pending::default();
        for invalidation in [key(1), key(1), Invalidation::Tag("t".into()), key(2)] {
            pending.push(invalidation);
        }
        assert_eq!(pending.len(), 3);
        assert_eq!(pending.front_keys(), ["k1"]);
        pending.delivered(1);
        assert_eq!(pending.front(), Some(Invalidation::Tag("t".into())));
        pending.delivered(2);
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn past_the_bound_one_clear_of_the_version_stands_for_everything() {
        let pending = Pending::default();
        for n in 0..=MAX_PENDING_INVALIDATIONS {
            pending.push(key(n));
        }
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.front(), Some(Invalidation::Version));
        pending.push(key(0));
        assert_eq!(pending.len(), 1, "the clear covers later invalidations too");
        pending.delivered(1);
    }
}
