//! The L1: a bounded in-process copy of recently read Redis entries, so a hot read of the
//! `persistent` alias costs no round trip.
//!
//! Redis keeps it coherent (see [`tracking`](super::tracking)): every change to a key
//! under this service's prefix, by anyone, arrives as an invalidation and drops the copy.
//! The L1 only answers while that stream is known to be intact; when it may have missed a
//! message (the tracking connection dropped, Redis restarted, a failover), the L1 is
//! emptied and bypassed until tracking is back.
//!
//! Two races are closed here rather than in the tracker, because they are about the
//! order of a read's reply and an invalidation, which arrive on different connections:
//! - a copy is stored only if no invalidation for its key (its *stripe*) and no loss of
//!   tracking happened between sending the read and storing its reply; the check runs
//!   after the copy is stored, and takes the copy back if it fails, so an invalidation
//!   that arrives at any instant either sees the copy and removes it, or is seen;
//! - each copy carries the *generation* of the tracking session that read it, and is
//!   served only within that generation, so nothing read before a gap is served after.
//!
//! Hand-written on top of mini-moka: the `redis` crate's own client-side cache applies
//! an invalidation before it stores a read's reply that was in flight, and then keeps
//! the stale value (nothing marks the read as pending), which is the first race above.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use mini_moka::sync::Cache as Moka;

use super::key_buffer::with_key;

/// Invalidation counters, one per slice of the key space. More stripes mean fewer reads
/// turned away because another key of the same stripe changed; 4096 is 32 KiB.
const STRIPES: usize = 4096;

/// The L1 in front of one Redis store.
pub(super) struct L1 {
    /// Full Redis key → copy.
    entries: Moka<String, LocalCopy, RandomState>,
    /// The tracking session: its generation in the high bits, and whether invalidations
    /// are flowing (`TRACKING`). Each change of either makes every older copy unusable.
    session: AtomicU64,
    /// How many invalidations each stripe has seen.
    stripes: Box<[AtomicU64]>,
    /// Picks a key's stripe; fixed per L1 so that readers and invalidations agree.
    hasher: RandomState,
    /// `CACHE_PERSISTENT_L1_TTL`.
    ttl: Duration,
}

/// The lowest bit of [`L1::session`]: invalidations are flowing.
const TRACKING: u64 = 1;
/// What [`L1::session`] grows by for each new generation.
const GENERATION: u64 = 2;

/// The L1's copy of one Redis value.
#[derive(Clone)]
struct LocalCopy {
    /// The JSON text, shared so a hit only bumps a reference count.
    json: Arc<str>,
    /// The session that read it; served only while that session lasts.
    session: u64,
    /// The earlier of the L1 TTL and the entry's own expiry in Redis.
    expires_at: Instant,
    /// The entry's own expiry in Redis, as its read reported it; `None`: none.
    redis_expires_at: Option<Instant>,
}

/// The L1's state for one key, taken before a read of it is sent to Redis: its reply is
/// stored only if that state is unchanged (no invalidation, no new session) meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ReadSnapshot {
    /// [`L1::session`] when the read was sent.
    session: u64,
    /// The key's stripe.
    stripe: usize,
    /// That stripe's counter when the read was sent.
    invalidations: u64,
}

impl L1 {
    /// An L1 of `capacity` entries, each kept at most `ttl`; `None` when `capacity` is 0.
    /// It answers nothing until [`L1::tracking_started`].
    pub(super) fn new(capacity: u64, ttl: Duration) -> Option<Self> {
        // `CACHE_PERSISTENT_L1_TTL` is read within MAX_TTL, but `CacheSettings` built in
        // code is not read, and mini-moka panics on a time-to-live past 1000 years.
        let ttl = ttl.min(crate::MAX_TTL);
        (capacity > 0).then(|| Self {
            entries: Moka::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build_with_hasher(RandomState::default()),
            session: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::default(),
            ttl,
        })
    }

    /// The copy of `key`, if there is a live one from the current tracking session, and
    /// the time the entry has left in Redis (`None`: no expiry there).
    pub(super) fn get(&self, key: &str) -> Option<(Arc<str>, Option<Duration>)> {
        let session = self.session.load(Ordering::SeqCst);
        if session & TRACKING == 0 {
            return None;
        }
        let copy = with_key(key, |key| self.entries.get(key))?;
        let now = Instant::now();
        (copy.session == session && now < copy.expires_at).then(|| {
            let left = copy
                .redis_expires_at
                .map(|deadline| deadline.saturating_duration_since(now));
            (copy.json, left)
        })
    }

    /// The copy's text alone (for tests).
    #[cfg(test)]
    fn json(&self, key: &str) -> Option<Arc<str>> {
        self.get(key).map(|(json, _)| json)
    }

    /// The snapshot a read of `key` about to be sent takes, so [`L1::store`] can tell
    /// whether its reply may be stored; `None` while tracking is off (the reply must not
    /// be stored at all).
    pub(super) fn before_read(&self, key: &str) -> Option<ReadSnapshot> {
        let session = self.session.load(Ordering::SeqCst);
        if session & TRACKING == 0 {
            return None;
        }
        let stripe = self.stripe(key.as_bytes());
        Some(ReadSnapshot {
            session,
            stripe,
            invalidations: self.stripes[stripe].load(Ordering::SeqCst),
        })
    }

    /// Stores `json`, read from Redis with `snapshot` taken before the read, for at most
    /// the L1 TTL and never beyond `redis_ttl` (the entry's remaining TTL in Redis;
    /// `None`: it has none). Takes the copy back if an invalidation of its stripe or a
    /// change of session happened since the snapshot.
    pub(super) fn store(
        &self,
        key: &str,
        json: Arc<str>,
        redis_ttl: Option<Duration>,
        snapshot: ReadSnapshot,
    ) {
        let ttl = redis_ttl.map_or(self.ttl, |remaining| remaining.min(self.ttl));
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let copy = LocalCopy {
            json,
            session: snapshot.session,
            expires_at: now + ttl,
            redis_expires_at: redis_ttl.map(|remaining| now + remaining),
        };
        let key = key.to_owned();
        self.entries.insert(key.clone(), copy);
        if self.session.load(Ordering::SeqCst) != snapshot.session
            || self.stripes[snapshot.stripe].load(Ordering::SeqCst) != snapshot.invalidations
        {
            self.entries.invalidate(&key);
        }
    }

    /// Drops the copy of the Redis key `key` (raw bytes, as invalidations carry them),
    /// and turns away any read of it in flight.
    pub(super) fn invalidate(&self, key: &[u8]) {
        self.stripes[self.stripe(key)].fetch_add(1, Ordering::SeqCst);
        if let Ok(key) = std::str::from_utf8(key) {
            with_key(key, |key| self.entries.invalidate(key));
        }
    }

    /// Drops every copy (Redis was flushed, or this service cleared its keys); tracking
    /// goes on.
    pub(super) fn flush(&self) {
        self.session.fetch_add(GENERATION, Ordering::SeqCst);
        self.entries.invalidate_all();
    }

    /// Invalidations are flowing from now on: copies may be stored and served again.
    pub(super) fn tracking_started(&self) {
        self.next_session(|session| (session | TRACKING) + GENERATION);
    }

    /// Invalidations may have been missed: every copy is dropped, and the L1 answers
    /// nothing until [`L1::tracking_started`].
    pub(super) fn tracking_lost(&self) {
        self.next_session(|session| (session & !TRACKING) + GENERATION);
        self.entries.invalidate_all();
    }

    fn next_session(&self, next: impl Fn(u64) -> u64) {
        // Never fails: the closure always returns a value.
        let _ = self
            .session
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |session| {
                Some(next(session))
            });
    }

    fn stripe(&self, key: &[u8]) -> usize {
        use std::hash::BuildHasher;
        // The remainder is below STRIPES, so it fits in usize.
        (self.hasher.hash_one(key) % STRIPES as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use mini_moka::sync::ConcurrentCacheExt;

    use super::L1;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_ttl_beyond_what_mini_moka_takes_is_shortened_not_a_panic() {
        let l1 = L1::new(1, Duration::MAX).expect("capacity above 0");
        assert_eq!(l1.ttl, crate::MAX_TTL);
    }

    /// An L1 whose tracking is on, as after the tracker's first session.
    fn tracking(capacity: u64, ttl: Duration) -> L1 {
        let l1 = L1::new(capacity, ttl).expect("capacity above 0");
        l1.tracking_started();
        l1
    }

    /// Reads `key` "from Redis" through `l1`, as the store does on a miss.
    fn fill(l1: &L1, key: &str, json: &str, redis_ttl: Option<Duration>) {
        let snapshot = l1.before_read(key).expect("tracking is on");
        l1.store(key, Arc::from(json), redis_ttl, snapshot);
    }

    #[test]
    fn a_capacity_of_zero_is_no_l1() {
        assert!(L1::new(0, MINUTE).is_none());
    }

    #[test]
    fn it_holds_at_most_its_capacity() {
        let l1 = tracking(100, MINUTE);
        for n in 0..1_000 {
            let key = format!("k{n}");
            fill(&l1, &key, "1", None);
            // Reading makes keys frequent enough for mini-moka to admit newcomers.
            l1.json(&key);
        }
        l1.entries.sync();
        let held = l1.entries.iter().count();
        assert!(held <= 100, "{held} entries held");
        assert!(held > 0, "the L1 keeps what fits");
    }

    #[test]
    fn nothing_is_stored_or_served_before_tracking_starts() {
        let l1 = L1::new(10, MINUTE).unwrap();
        assert_eq!(
            l1.before_read("k"),
            None,
            "a read's reply must not be stored"
        );
        l1.tracking_started();
        fill(&l1, "k", "1", None);
        assert_eq!(l1.json("k").as_deref(), Some("1"));
    }

    #[test]
    fn a_copy_never_outlives_its_redis_ttl_nor_the_l1_ttl() {
        let l1 = tracking(10, Duration::from_millis(200));
        fill(&l1, "short", "1", Some(Duration::from_millis(50)));
        fill(&l1, "no-expiry", "2", None);
        fill(&l1, "long", "3", Some(MINUTE));
        fill(&l1, "gone", "4", Some(Duration::ZERO));
        assert_eq!(
            l1.json("gone"),
            None,
            "a key Redis no longer has is not kept"
        );
        assert_eq!(l1.json("short").as_deref(), Some("1"));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(l1.json("short"), None, "dropped with its Redis TTL");
        assert_eq!(l1.json("long").as_deref(), Some("3"));
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(l1.json("long"), None, "the L1 TTL caps a long Redis TTL");
        assert_eq!(l1.json("no-expiry"), None, "and applies without one");
    }

    #[test]
    fn an_invalidation_drops_the_copy() {
        let l1 = tracking(10, MINUTE);
        fill(&l1, "a", "1", None);
        fill(&l1, "b", "2", None);
        l1.invalidate(b"a");
        assert_eq!(l1.json("a"), None);
        assert_eq!(l1.json("b").as_deref(), Some("2"), "other keys stay");
    }

    #[test]
    fn a_reply_in_flight_during_an_invalidation_is_not_stored() {
        let l1 = tracking(10, MINUTE);
        let snapshot = l1.before_read("a").unwrap();
        // Another client changes `a` after Redis answered our read, and its invalidation
        // is applied before our reply is.
        l1.invalidate(b"a");
        l1.store("a", Arc::from("old"), None, snapshot);
        assert_eq!(l1.json("a"), None, "the old value must not be kept");
    }

    #[test]
    fn losing_tracking_empties_the_l1_and_bypasses_it_until_it_is_back() {
        let l1 = tracking(10, MINUTE);
        fill(&l1, "a", "before", None);
        let in_flight = l1.before_read("b").unwrap();
        l1.tracking_lost();
        assert_eq!(l1.json("a"), None);
        assert_eq!(
            l1.before_read("a"),
            None,
            "nothing is stored while tracking is off"
        );
        l1.tracking_started();
        assert_eq!(
            l1.json("a"),
            None,
            "nothing read before the gap is served after it"
        );
        l1.store("b", Arc::from("before"), None, in_flight);
        assert_eq!(l1.json("b"), None, "nor stored after it");
        fill(&l1, "a", "after", None);
        assert_eq!(l1.json("a").as_deref(), Some("after"));
    }

    #[test]
    fn a_flush_drops_every_copy_and_tracking_goes_on() {
        let l1 = tracking(10, MINUTE);
        fill(&l1, "a", "1", None);
        let in_flight = l1.before_read("b").unwrap();
        l1.flush();
        assert_eq!(l1.json("a"), None);
        l1.store("b", Arc::from("2"), None, in_flight);
        assert_eq!(
            l1.json("b"),
            None,
            "a read from before the flush is not kept"
        );
        fill(&l1, "a", "3", None);
        assert_eq!(l1.json("a").as_deref(), Some("3"));
    }
}
