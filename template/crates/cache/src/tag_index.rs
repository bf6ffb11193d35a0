//! The in-process store's tags: which keys carry each tag, and until when.
//!
//! Each member keeps the deadline of the entry it was added with, so expired members
//! can be dropped without asking the store. Nothing here grows without bound: a tag's
//! expired members are pruned whenever the tag has doubled since its last pruning, and
//! the whole index is swept (expired members, and members whose entry the store no
//! longer holds because its capacity evicted it) whenever it has doubled since the last
//! sweep. So the index stays within about twice the tagged entries the store holds.

use std::collections::HashMap;
use std::time::Instant;

/// A tag's prune and the index's sweep never run below these sizes: small indexes are
/// cheap to keep as they are.
const MIN_PRUNE: usize = 16;
const MIN_SWEEP: usize = 1024;

/// Tag → its members.
#[derive(Debug, Default)]
pub(super) struct TagIndex {
    tags: HashMap<String, Members>,
    /// (tag, key) pairs held, over every tag.
    pairs: usize,
    /// `pairs` at which the next sweep runs.
    sweep_at: usize,
}

/// The keys carrying one tag.
#[derive(Debug, Default)]
struct Members {
    /// Key → deadline of the entry it was tagged with.
    keys: HashMap<String, Instant>,
    /// Member count at which this tag is pruned next.
    prune_at: usize,
}

impl TagIndex {
    /// Records that `key`, live until `expires_at`, carries `tag`. `held` tells whether
    /// the store still holds a key, for the occasional sweep.
    pub(super) fn add(
        &mut self,
        tag: &str,
        key: &str,
        expires_at: Instant,
        now: Instant,
        held: impl Fn(&str) -> bool,
    ) {
        let members = self.tags.entry(tag.to_owned()).or_default();
        if members.keys.insert(key.to_owned(), expires_at).is_none() {
            self.pairs += 1;
        }
        if members.keys.len() >= members.prune_at.max(MIN_PRUNE) {
            let before = members.keys.len();
            members.keys.retain(|_, deadline| *deadline > now);
            self.pairs -= before - members.keys.len();
            members.prune_at = members.keys.len() * 2;
        }
        if self.pairs >= self.sweep_at.max(MIN_SWEEP) {
            self.sweep(now, held);
        }
    }

    /// Removes `tag` and returns its members that have not expired.
    pub(super) fn take(&mut self, tag: &str, now: Instant) -> Vec<String> {
        let Some(members) = self.tags.remove(tag) else {
            return Vec::new();
        };
        self.pairs -= members.keys.len();
        members
            .keys
            .into_iter()
            .filter(|(_, deadline)| *deadline > now)
            .map(|(key, _)| key)
            .collect()
    }

    /// Forgets every tag.
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    /// (tag, key) pairs held (for tests).
    #[cfg(test)]
    pub(super) fn pairs(&self) -> usize {
        self.pairs
    }

    fn sweep(&mut self, now: Instant, held: impl Fn(&str) -> bool) {
        self.tags.retain(|_, members| {
            members
                .keys
                .retain(|key, deadline| *deadline > now && held(key));
            members.prune_at = members.keys.len() * 2;
            !members.keys.is_empty()
        });
        self.pairs = self.tags.values().map(|members| members.keys.len()).sum();
        self.sweep_at = self.pairs * 2;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{MIN_SWEEP, TagIndex};

    #[test]
    fn expired_and_evicted_members_do_not_pile_up() {
        let mut index = TagIndex::default();
        let start = Instant::now();
        // One tag, entries that live 1 s, added one per second for a long time.
        for n in 0..10_000_u64 {
            let now = start + Duration::from_secs(n);
            index.add(
                "hot",
                &format!("k{n}"),
                now + Duration::from_secs(1),
                now,
                |_| true,
            );
        }
        assert!(index.pairs() <= 32, "{} members kept", index.pairs());

        // Many tags of one entry each, evicted by the store straight away.
        let mut index = TagIndex::default();
        let later = start + Duration::from_secs(3600);
        for n in 0..10_000 {
            index.add(&format!("t{n}"), &format!("k{n}"), later, start, |_| false);
        }
        assert!(index.pairs() <= MIN_SWEEP, "{} pairs kept", index.pairs());
    }

    #[test]
    fn taking_a_tag_gives_its_live_members_once() {
        let mut index = TagIndex::default();
        let now = Instant::now();
        let hour = now + Duration::from_secs(3600);
        index.add("owner:1", "a", hour, now, |_| true);
        index.add("owner:1", "b", now, now, |_| true);
        index.add("owner:2", "a", hour, now, |_| true);
        let mut taken = index.take("owner:1", now);
        taken.sort();
        assert_eq!(taken, ["a"], "b had expired");
        assert!(index.take("owner:1", now).is_empty());
        assert_eq!(index.pairs(), 1);
    }
}
