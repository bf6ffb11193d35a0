//! The in-process store: always behind `memory`, and behind `persistent` when Redis is
//! not configured (a second, separate instance).
//!
//! mini-moka bounds the number of entries (when full it keeps the entries read most
//! often, so a new, never-read entry may be turned away) but has only one expiry for the
//! whole cache. Each entry therefore carries its own deadline, and an entry read after it
//! is a miss and is dropped.
//!
//! mini-moka has no compare-and-set either, so the operations that read and then write
//! (`incr`, `add`, `take`) hold one of a fixed set of locks, chosen by the key's hash,
//! and so do the plain writes, which would otherwise slip in between. Reads take none.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use mini_moka::sync::{Cache as Moka, ConcurrentCacheExt};

use super::key_buffer::with_key;
use super::tag_index::TagIndex;
use super::{Backend, CacheError, glob};

/// Locks that writes to one key take (a key always maps to the same one): enough that
/// writes to different keys rarely wait for each other on a few cores.
const WRITE_LOCKS: usize = 64;

/// One bounded in-process store.
pub(super) struct MemoryStore {
    /// Key (as given: the store belongs to one alias of one service) → entry. Hashed
    /// with foldhash (hashbrown's default, seeded at random per process) rather than
    /// SipHash: mini-moka hashes a key several times per operation, and with SipHash
    /// that was a large part of a cached request's cost.
    entries: Moka<String, Entry, RandomState>,
    /// Serialise the writes to one key; see the module's documentation.
    write_locks: Box<[Mutex<()>]>,
    /// Picks a key's write lock.
    lock_hasher: RandomState,
    /// Which keys carry which tag.
    tags: Mutex<TagIndex>,
}

/// A value and its deadline.
#[derive(Clone)]
struct Entry {
    /// When the entry dies, whatever mini-moka thinks.
    expires_at: Instant,
    /// The value's JSON, shared so that a read only bumps a reference count.
    json: Arc<str>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

impl MemoryStore {
    /// An empty store holding at most `max_capacity` entries.
    pub(super) fn new(max_capacity: u64) -> Self {
        Self {
            entries: Moka::builder()
                .max_capacity(max_capacity)
                .build_with_hasher(RandomState::default()),
            write_locks: (0..WRITE_LOCKS).map(|_| Mutex::new(())).collect(),
            lock_hasher: RandomState::default(),
            tags: Mutex::default(),
        }
    }

    pub(super) fn backend(&self) -> Backend {
        Backend::Memory
    }

    /// Entries held, once mini-moka's pending evictions are applied.
    pub(super) fn entry_count(&self) -> u64 {
        self.entries.sync();
        self.entries.entry_count()
    }

    /// The live value under `key`; an expired one is dropped and reads as absent.
    pub(super) async fn get(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let Some(entry) = self.lookup(key) else {
            return Ok(None);
        };
        if entry.is_live(Instant::now()) {
            return Ok(Some(entry.json));
        }
        self.remove_stale(key, &entry.json);
        Ok(None)
    }

    /// The live value under `key` and the time it has left.
    pub(super) async fn get_with_ttl(
        &self,
        key: &str,
    ) -> Result<Option<(Arc<str>, Option<Duration>)>, CacheError> {
        let now = Instant::now();
        match self.lookup(key) {
            Some(entry) if entry.is_live(now) => {
                Ok(Some((entry.json, Some(entry.expires_at - now))))
            }
            Some(entry) => {
                self.remove_stale(key, &entry.json);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Stores `json` under `key` for `ttl`, replacing any value and its deadline.
    pub(super) async fn set(&self, key: &str, json: &str, ttl: Duration) -> Result<(), CacheError> {
        let _locked = self.lock(key);
        self.insert(key, Arc::from(json), Instant::now() + ttl);
        Ok(())
    }

    /// Stores a load's `json` under `key` for `ttl` with `tags`, at once (the caller
    /// holds the lease registry's lock, which no await may cross).
    pub(super) fn fill(&self, key: &str, json: &str, ttl: Duration, tags: &[String]) {
        let locked = self.lock(key);
        let now = Instant::now();
        self.insert(key, Arc::from(json), now + ttl);
        drop(locked);
        self.tag_now(key, tags, ttl, now);
    }

    /// Removes `key`; `true` if it held a live value.
    pub(super) async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let _locked = self.lock(key);
        Ok(with_key(key, |key| {
            let existed = self
                .entries
                .get(key)
                .is_some_and(|entry| entry.is_live(Instant::now()));
            self.entries.invalidate(key);
            existed
        }))
    }

    /// Removes `key` only if it still holds `json` (a value that failed to decode), so
    /// a fresh value written in the meantime survives.
    pub(super) async fn remove_if_unchanged(
        &self,
        key: &str,
        json: &Arc<str>,
    ) -> Result<(), CacheError> {
        self.remove_stale(key, json);
        Ok(())
    }

    /// Removes every key matching the glob `pattern`; returns how many live values went.
    pub(super) async fn delete_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        Ok(self.remove_where(|key| glob::matches(pattern, key)))
    }

    /// Removes everything; returns how many live values went.
    pub(super) async fn clear(&self) -> Result<u64, CacheError> {
        self.tag_index().clear();
        Ok(self.remove_where(|_| true))
    }

    /// The same as [`MemoryStore::clear`]: a process holds one `CACHE_VERSION`'s entries
    /// only, and a new version means a new process.
    pub(super) async fn clear_all_versions(&self) -> Result<u64, CacheError> {
        self.clear().await
    }

    /// Records that `key`, just written for `ttl`, carries `tags`.
    pub(super) async fn tag(
        &self,
        key: &str,
        tags: &[String],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.tag_now(key, tags, ttl, Instant::now());
        Ok(())
    }

    fn tag_now(&self, key: &str, tags: &[String], ttl: Duration, now: Instant) {
        if tags.is_empty() {
            return;
        }
        let mut index = self.tag_index();
        for tag in tags {
            index.add(tag, key, now + ttl, now, |key| {
                with_key(key, |key| self.entries.contains_key(key))
            });
        }
    }

    /// Removes every entry that carries `tag`; returns how many live values went. An
    /// entry rewritten without the tag since it was tagged goes too: a miss too many,
    /// never a stale answer.
    pub(super) async fn invalidate_tag(&self, tag: &str) -> Result<u64, CacheError> {
        let keys = self.tag_index().take(tag, Instant::now());
        let mut removed = 0;
        for key in keys {
            removed += u64::from(self.delete(&key).await?);
        }
        Ok(removed)
    }

    /// Always reachable.
    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    /// Whether `key` holds a live value.
    pub(super) async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self
            .lookup(key)
            .is_some_and(|entry| entry.is_live(Instant::now())))
    }

    /// Adds `by` to the counter under `key` and returns the new count. An absent (or
    /// expired) counter starts at zero and lives for `ttl`; an existing one keeps its
    /// deadline.
    pub(super) async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        let _locked = self.lock(key);
        let now = Instant::now();
        let (count, expires_at) = match self.lookup(key).filter(|entry| entry.is_live(now)) {
            Some(entry) => {
                let count = entry
                    .json
                    .parse::<i64>()
                    .ok()
                    .and_then(|count| count.checked_add(by))
                    .ok_or(CacheError::NotACounter)?;
                (count, entry.expires_at)
            }
            None => (by, now + ttl),
        };
        self.insert(key, Arc::from(count.to_string()), expires_at);
        Ok(count)
    }

    /// Stores `json` under `key` for `ttl` only if `key` holds no live value; `true`
    /// if it stored.
    pub(super) async fn add(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let _locked = self.lock(key);
        let now = Instant::now();
        if self.lookup(key).is_some_and(|entry| entry.is_live(now)) {
            return Ok(false);
        }
        self.insert(key, Arc::from(json), now + ttl);
        Ok(true)
    }

    /// Removes `key` and returns the live value it held.
    pub(super) async fn take(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let _locked = self.lock(key);
        Ok(with_key(key, |key| {
            let entry = self.entries.get(key)?;
            self.entries.invalidate(key);
            entry.is_live(Instant::now()).then_some(entry.json)
        }))
    }

    /// The live values under `keys`, in their order.
    pub(super) async fn get_many(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Option<Arc<str>>>, CacheError> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key).await?);
        }
        Ok(values)
    }

    /// Stores each `(key, json)` for `ttl`.
    pub(super) async fn set_many(
        &self,
        entries: &[(&str, String)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        for (key, json) in entries {
            self.set(key, json, ttl).await?;
        }
        Ok(())
    }

    /// Removes `keys`; how many held a live value.
    pub(super) async fn delete_many(&self, keys: &[&str]) -> Result<u64, CacheError> {
        let mut removed = 0;
        for key in keys {
            removed += u64::from(self.delete(key).await?);
        }
        Ok(removed)
    }

    /// The time the live value under `key` has left.
    pub(super) async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        Ok(self.get_with_ttl(key).await?.and_then(|(_, left)| left))
    }

    /// Gives the live value under `key` the deadline `ttl` from now; `false` if absent.
    pub(super) async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        self.replace_deadline(key, ttl, |_| true)
    }

    /// Removes `key` if its live value is exactly `json`.
    pub(super) async fn delete_if_equal(&self, key: &str, json: &str) -> Result<bool, CacheError> {
        let _locked = self.lock(key);
        Ok(with_key(key, |key| {
            let equal = self
                .entries
                .get(key)
                .is_some_and(|entry| entry.is_live(Instant::now()) && *entry.json == *json);
            if equal {
                self.entries.invalidate(key);
            }
            equal
        }))
    }

    /// Gives `key` the deadline `ttl` from now if its live value is exactly `json`.
    pub(super) async fn expire_if_equal(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        self.replace_deadline(key, ttl, |current| *current == *json)
    }

    /// Moves the deadline of the live value under `key` to `ttl` from now, if `keep`
    /// says so of its JSON; whether it did.
    fn replace_deadline(
        &self,
        key: &str,
        ttl: Duration,
        keep: impl Fn(&str) -> bool,
    ) -> Result<bool, CacheError> {
        let _locked = self.lock(key);
        let now = Instant::now();
        match self.lookup(key) {
            Some(entry) if entry.is_live(now) && keep(&entry.json) => {
                self.insert(key, entry.json, now + ttl);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The write lock of `key`. Nothing panics while holding one, but a poisoned lock
    /// guards no data, so it is used as it is.
    fn lock(&self, key: &str) -> MutexGuard<'_, ()> {
        // The remainder is below WRITE_LOCKS, so it fits in usize.
        let index = (self.lock_hasher.hash_one(key) % WRITE_LOCKS as u64) as usize;
        self.write_locks[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn tag_index(&self) -> MutexGuard<'_, TagIndex> {
        self.tags.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, key: &str, json: Arc<str>, expires_at: Instant) {
        self.entries
            .insert(key.to_owned(), Entry { expires_at, json });
        // mini-moka evicts in batches during housekeeping; doing it now keeps the store
        // within its capacity at every moment, not only eventually.
        self.entries.sync();
    }

    fn lookup(&self, key: &str) -> Option<Entry> {
        with_key(key, |key| self.entries.get(key))
    }

    /// Drops `key` if it still holds this very value. mini-moka has no compare-and-remove,
    /// so a write landing between the check and the removal can still be dropped: a lost
    /// entry, which a cache may always have, never a wrong one.
    fn remove_stale(&self, key: &str, json: &Arc<str>) {
        let _locked = self.lock(key);
        with_key(key, |key| {
            if self
                .entries
                .get(key)
                .is_some_and(|current| Arc::ptr_eq(&current.json, json))
            {
                self.entries.invalidate(key);
            }
        });
    }

    fn remove_where(&self, doomed: impl Fn(&str) -> bool) -> u64 {
        let now = Instant::now();
        let keys: Vec<(String, bool)> = self
            .entries
            .iter()
            .filter(|entry| doomed(entry.key()))
            .map(|entry| (entry.key().clone(), entry.value().is_live(now)))
            .collect();
        let mut removed = 0;
        for (key, live) in keys {
            self.entries.invalidate(&key);
            removed += u64::from(live);
        }
        removed
    }

    /// Entries physically in the store right now, live or not, counted without running
    /// mini-moka's housekeeping first (for tests: this is what the capacity bounds).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.entries.iter().count()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::MemoryStore;

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn a_value_lives_until_its_own_deadline() {
        let store = MemoryStore::new(100);
        store
            .set("short", "1", Duration::from_millis(30))
            .await
            .unwrap();
        store.set("long", "2", HOUR).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.get("short").await.unwrap(), None);
        assert_eq!(store.get("long").await.unwrap().as_deref(), Some("2"));
    }

    #[tokio::test]
    async fn an_expired_value_is_dropped_when_read() {
        let store = MemoryStore::new(100);
        store
            .set("key", "1", Duration::from_millis(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(store.held(), 1);
        assert_eq!(store.get("key").await.unwrap(), None);
        assert_eq!(store.held(), 0);
    }

    #[tokio::test]
    async fn the_store_never_holds_more_than_its_capacity() {
        let store = MemoryStore::new(50);
        for n in 0..2_000 {
            store.set(&format!("key:{n}"), "0", HOUR).await.unwrap();
            assert!(
                store.held() <= 50,
                "{} entries after {n} inserts",
                store.held()
            );
        }
    }

    #[tokio::test]
    async fn removal_only_drops_the_value_that_was_read() {
        let store = MemoryStore::new(100);
        store.set("key", "\"old\"", HOUR).await.unwrap();
        let old = store.get("key").await.unwrap().unwrap();
        store.set("key", "\"new\"", HOUR).await.unwrap();
        store.remove_if_unchanged("key", &old).await.unwrap();
        assert_eq!(store.get("key").await.unwrap().as_deref(), Some("\"new\""));
        let new = store.get("key").await.unwrap().unwrap();
        store.remove_if_unchanged("key", &new).await.unwrap();
        assert_eq!(store.get("key").await.unwrap(), None);
    }

    /// Runs `work` on `threads` OS threads at once (each with its own runtime: the store
    /// never awaits anything) and collects what each returned.
    fn on_threads<T: Send>(threads: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
        let barrier = std::sync::Barrier::new(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|n| {
                    let (barrier, work) = (&barrier, &work);
                    scope.spawn(move || {
                        barrier.wait();
                        work(n)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        })
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn increments_from_many_threads_are_all_counted() {
        let store = MemoryStore::new(100);
        let counts = on_threads(8, |_| {
            block_on(async {
                let mut counts = Vec::new();
                for _ in 0..500 {
                    counts.push(store.incr("hits", 1, HOUR).await.unwrap());
                }
                counts
            })
        });
        let mut all: Vec<i64> = counts.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (1..=4_000).collect::<Vec<i64>>());
    }

    #[test]
    fn of_many_threads_exactly_one_adds_and_exactly_one_takes() {
        let store = MemoryStore::new(100);
        for round in 0..50 {
            let key = format!("key:{round}");
            let added = on_threads(8, |n| {
                block_on(store.add(&key, &n.to_string(), HOUR)).unwrap()
            });
            assert_eq!(added.iter().filter(|added| **added).count(), 1, "{added:?}");
            let taken = on_threads(8, |_| block_on(store.take(&key)).unwrap());
            assert_eq!(taken.iter().flatten().count(), 1, "{taken:?}");
        }
    }

    #[tokio::test]
    async fn a_counter_keeps_its_first_deadline() {
        let store = MemoryStore::new(100);
        store.incr("window", 1, HOUR).await.unwrap();
        let first = store.lookup("window").unwrap().expires_at;
        store.incr("window", 1, HOUR * 2).await.unwrap();
        let after = store.lookup("window").unwrap();
        assert_eq!(after.expires_at, first);
        assert_eq!(&*after.json, "2");
    }

    #[tokio::test]
    async fn delete_and_clear_count_only_live_values() {
        let store = MemoryStore::new(100);
        store.set("user:1", "1", HOUR).await.unwrap();
        store.set("user:2", "2", HOUR).await.unwrap();
        store
            .set("user:3", "3", Duration::from_millis(1))
            .await
            .unwrap();
        store.set("session:1", "4", HOUR).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(store.delete("user:1").await.unwrap());
        assert!(!store.delete("user:1").await.unwrap());
        assert_eq!(store.delete_matching("user:*").await.unwrap(), 1);
        assert_eq!(store.get("session:1").await.unwrap().as_deref(), Some("4"));
        assert_eq!(store.clear().await.unwrap(), 1);
        assert_eq!(store.held(), 0);
    }
}
