//! The counts of one process, for when the `persistent` alias is in process (no Redis):
//! a request then costs a hash and a short lock, instead of an entry of the in-process
//! cache written per request (a tenth of a request's instructions, measured).
//!
//! Sharded maps of client → its current and previous window's counts, shared by every
//! worker's copy of the middleware. Bounded: a shard past [`MAX_PER_SHARD`] clients first
//! forgets those not seen in the last two windows, and if that is not enough forgets
//! them all (their next requests start a new count: the limit fails open rather than
//! letting made-up client keys fill the memory).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use foldhash::fast::RandomState;

/// Shards of the map: enough that the workers of a few cores rarely wait for each other.
const SHARDS: usize = 16;
/// Clients one shard keeps before it forgets some.
const MAX_PER_SHARD: usize = 4_096;

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Client {
    /// The client's address (the socket's, or the one a trusted proxy reported).
    Address(IpAddr),
    /// The value of the limit's key header.
    Key(String),
    /// No address is known (a test request, a Unix socket).
    Unknown,
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Client::Address(address) => write!(f, "ip:{address}"),
            Client::Key(key) => write!(f, "key:{key}"),
            Client::Unknown => f.write_str("unknown"),
        }
    }
}

/// One client's counts.
#[derive(Debug, Clone, Copy)]
struct Windows {
    /// The window `current` counts.
    index: u64,
    current: u64,
    /// The count of the window before `index`.
    previous: u64,
}

/// The counts of this process.
#[derive(Debug)]
pub(super) struct LocalCounters {
    shards: Box<[Mutex<HashMap<Client, Windows>>]>,
    hasher: RandomState,
}

impl Default for LocalCounters {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::default(),
        }
    }
}

impl LocalCounters {
    /// Counts a request of `client` in window `index`; the counts of this window
    /// (this request included) and of the one before.
    pub(super) fn count(&self, client: &Client, index: u64) -> (u64, u64) {
        let shard = usize::try_from(self.hasher.hash_one(client) % SHARDS as u64).unwrap_or(0);
        let mut counts = self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(windows) = counts.get_mut(client) {
            if windows.index != index {
                windows.previous = if windows.index + 1 == index {
                    windows.current
                } else {
                    0
                };
                windows.current = 0;
                windows.index = index;
            }
            windows.current += 1;
            return (windows.current, windows.previous);
        }
        if counts.len() >= MAX_PER_SHARD {
            counts.retain(|_, windows| windows.index + 1 >= index);
            if counts.len() >= MAX_PER_SHARD {
                counts.clear();
            }
        }
        counts.insert(
            client.clone(),
            Windows {
                index,
                current: 1,
                previous: 0,
            },
        );
        (1, 0)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::{Client, LocalCounters, MAX_PER_SHARD, SHARDS};

    #[test]
    fn counts_per_client_and_window_with_the_previous_one_kept() {
        let counters = LocalCounters::default();
        let a = Client::Address(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let b = Client::Key("k".to_owned());
        assert_eq!(counters.count(&a, 7), (1, 0));
        assert_eq!(counters.count(&a, 7), (2, 0));
        assert_eq!(counters.count(&b, 7), (1, 0));
        assert_eq!(
            counters.count(&a, 8),
            (1, 2),
            "the next window remembers this one"
        );
        assert_eq!(counters.count(&a, 10), (1, 0), "a gap forgets it");
    }

    #[test]
    fn made_up_clients_cannot_grow_it_without_bound() {
        let counters = LocalCounters::default();
        for n in 0..(SHARDS * MAX_PER_SHARD * 3) {
            counters.count(&Client::Key(n.to_string()), 1);
        }
        let held: usize = counters
            .shards
            .iter()
            .map(|shard| shard.lock().unwrap().len())
            .sum();
        assert!(held <= SHARDS * MAX_PER_SHARD, "{held}");
    }
}
