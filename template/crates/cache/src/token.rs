//! Tokens that no other holder of any instance has: fill leases and lock owners are told
//! apart by them.

use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use foldhash::fast::RandomState;

/// A new token: a per-process random seed (the hasher's) over a counter and the clock,
/// then the counter itself, so two tokens of one process never collide.
pub(crate) fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<RandomState> = OnceLock::new();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let hash = SEED
        .get_or_init(RandomState::default)
        .hash_one((count, now, std::process::id()));
    format!("{hash:016x}{count:x}")
}

#[cfg(test)]
mod tests {
    use super::new_token;

    #[test]
    fn tokens_differ() {
        assert_ne!(new_token(), new_token());
    }
}
