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
    entries: Moka<String, Held, RandomState>,
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

/// One copy of a Redis value.
#[derive(Clone)]
struct Held {
    /// The JSON text, shared so a hit only bumps a reference count.
    json: Arc<str>,
    /// The session that read it; served only while that session lasts.
    session: u64,
    /// The earlier of the L1 TTL and the entry's own expiry in Redis.
    expires_at: Instant,
}

/// Taken before a read is sent to Redis; lets its reply be stored only if nothing about
/// the key changed meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket {
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

    /// The copy of `key`, if there is a live one from the current tracking session.
    pub(super) fn get(&self, key: &str) -> Option<Arc<str>> {
        let session = self.session.load(Ordering::SeqCst);
        if session & TRACKING == 0 {
            return None;
        }
        let copy = with_key(key, |key| self.entries.get(key))?;
        (copy.session == session && Instant::now() < copy.expires_at).then_some(copy.json)
    }

    /// What a read of `key` about to be sent must show to have its reply stored; `None`
    /// while tracking is off (the reply must not be stored at all).
    pub(super) fn ticket(&self, key: &str) -> Option<Ticket> {
        let session = self.session.load(Ordering::SeqCst);
        if session & TRACKING == 0 {
            return None;
        }
        let stripe = self.stripe(key.as_bytes());
        Some(Ticket {
            session,
            stripe,
            invalidations: self.stripes[stripe].load(Ordering::SeqCst),
        })
    }

    /// Stores `json`, read from Redis with `ticket` taken before the read, for at most
    /// the L1 TTL and never beyond `redis_ttl` (the entry's remaining TTL in Redis;
    /// `None`: it has none). Takes the copy back if an invalidation of its stripe or a
    /// change of session happened since the ticket.
    pub(super) fn store(
        &self,
        key: &str,
        json: Arc<str>,
        redis_ttl: Option<Duration>,
        ticket: Ticket,
    ) {
        let ttl = redis_ttl.map_or(self.ttl, |remaining| remaining.min(self.ttl));
        if ttl.is_zero() {
            return;
        }
        let copy = Held {
            json,
            session: ticket.session,
            expires_at: Instant::now() + ttl,
        };
        let key = key.to_owned();
        self.entries.insert(key.clone(), copy);
        if self.session.load(Ordering::SeqCst) != ticket.session
            || self.stripes[ticket.stripe].load(Ordering::SeqCst) != ticket.invalidations
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
