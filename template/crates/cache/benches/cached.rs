//! What `#[cached]` costs a hit over the same cache-aside call written by hand: a
//! fixed number of hits on a warm in-process cache, for callgrind to count.
//!
//! ```sh
//! cargo bench -p service-cache --features macros --bench cached --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/cached-* attribute 10000
//! ```
//!
//! The one argument picks the caller, all three answering the same key from the memory
//! alias, the value decoded from its JSON each time:
//! - `attribute`: the `#[cached]` function;
//! - `by-hand`: `caches.memory().get_or_set_with(&format!(...), ...)` on a `Caches`
//!   handle, as a service with the handle in its context writes it;
//! - `free`: `get_or_set_cached(&format!(...), ...)`, the free function the attribute
//!   expands to, through the installed caches.
//!
//! Run each with two counts (say 1,000 and 11,000): the difference of the totals over
//! the difference of the counts is the instructions per hit, start-up and warm-up
//! cancelled out (docs/PERFORMANCE.md has the figures). Without valgrind it prints the
//! wall time per hit, for a quick look only.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use service_cache::{Alias, CacheSettings, Caches, cached, configure_caches, get_or_set_cached};

/// The cached value: a small record, as a user lookup returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u32,
    name: String,
    email: String,
}

/// The load every caller would run on a miss (once, in the warm-up).
async fn load(id: u32) -> Result<User, Infallible> {
    Ok(User {
        id,
        name: format!("user {id}"),
        email: format!("user{id}@example.com"),
    })
}

#[cached(ttl = "10m", key = "user:{id}")]
async fn attribute(id: u32) -> Result<User, Infallible> {
    load(id).await
}

async fn by_hand(caches: &Caches, id: u32) -> Result<User, Infallible> {
    let ttl = Some(Duration::from_secs(600));
    caches
        .memory()
        .get_or_set_with(&format!("user:{id}"), ttl, || load(id))
        .await
}

async fn free(id: u32) -> Result<User, Infallible> {
    let ttl = Some(Duration::from_secs(600));
    get_or_set_cached(&format!("user:{id}"), ttl, Alias::Memory, || load(id)).await
}

fn main() {
    // `cargo bench` adds `--bench`; only the caller and the count are ours.
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    let caller = arguments.first().map_or("attribute", String::as_str);
    let hits: u32 = match arguments.get(1).map(|count| count.parse()) {
        None => 100_000,
        Some(Ok(count)) => count,
        Some(Err(_)) => {
            eprintln!("the count of hits is a whole number, as in `attribute 10000`");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    let caches = configure_caches(&CacheSettings::default());
    let started = runtime.block_on(async {
        // The miss that fills the cache, outside the hits counted.
        by_hand(&caches, 7)
            .await
            .unwrap_or_else(|never| match never {});
        // One loop per caller, so the choice is not part of what is counted.
        let started = Instant::now();
        match caller {
            "attribute" => {
                for _ in 0..hits {
                    black_box(
                        attribute(black_box(7))
                            .await
                            .unwrap_or_else(|never| match never {}),
                    );
                }
            }
            "by-hand" => {
                for _ in 0..hits {
                    black_box(
                        by_hand(&caches, black_box(7))
                            .await
                            .unwrap_or_else(|never| match never {}),
                    );
                }
            }
            "free" => {
                for _ in 0..hits {
                    black_box(
                        free(black_box(7))
                            .await
                            .unwrap_or_else(|never| match never {}),
                    );
                }
            }
            other => {
                eprintln!("unknown caller `{other}`: use attribute, by-hand or free");
                std::process::exit(2);
            }
        }
        started
    });
    let elapsed = started.elapsed();
    let stats = caches.memory().stats();
    println!(
        "{caller}: {hits} hits in {elapsed:?} ({:?} per hit); cache hits {}, misses {}",
        elapsed / hits.max(1),
        stats.hits,
        stats.misses
    );
}
