//! A randomized check of "writes that stay written", in the spirit of Jepsen: two
//! instances of a service share one Redis (each with its L1), writers and readers work on
//! a few keys, and Redis is paused (`CLIENT PAUSE … ALL`) or killed and restarted at
//! random moments. Every read is checked against the writes acknowledged before it
//! started: a value older than one of them is a stale read.
//!
//! Stale reads while faults happen are counted and reported (another instance may read
//! Redis in the moment before an instance that could not reach it delivers its pending
//! invalidation); once the system is quiet (faults and writes over, pending invalidations
//! delivered) there must be none. The seed is printed; `RANDOMIZED_WRITES_SEED=<n>`
//! replays a run's choices.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use service_cache::Caches;
use service_cache::test_support::RedisServer;

use crate::coherent_writes::on_redis::{delivered, instance};

/// Keys the writers and readers share: few, so writes and reads of one key meet often.
const KEYS: usize = 6;
/// How long faults are injected.
const CHAOS: Duration = Duration::from_secs(8);

/// The source of truth: each key's version, and the newest one acknowledged to a writer.
struct Truth {
    versions: [AtomicU64; KEYS],
    acknowledged: [AtomicU64; KEYS],
}

/// What the readers saw.
#[derive(Default)]
struct Tally {
    reads: AtomicU64,
    stale_during_faults: AtomicU64,
}

/// A small xorshift generator: the choices need no quality, only a seed to replay.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn seed() -> u64 {
    std::env::var("RANDOMIZED_WRITES_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(1, |since| since.as_nanos() as u64)
                | 1
        })
}

/// Reads `key` through `caches` (loading from the truth on a miss, taking `load_time`
/// after reading it, so writes land while loads run); whether the answer is older than
/// a write acknowledged before the read began.
async fn read_is_stale(caches: &Caches, truth: &Truth, key: usize, load_time: Duration) -> bool {
    let floor = truth.acknowledged[key].load(Ordering::SeqCst);
    let name = format!("item:{key}");
    let answer = caches
        .persistent()
        .get_or_set_with(&name, Some(Duration::from_secs(3600)), || async {
            let version = truth.versions[key].load(Ordering::SeqCst);
            tokio::time::sleep(load_time).await;
            Ok::<_, std::convert::Infallible>(version)
        })
        .await
        .unwrap();
    answer < floor
}

/// A write of `key`: the truth first, then the cache's invalidation (failing open, as a
/// handler does); acknowledged once the invalidation call returned.
async fn write(caches: &Caches, truth: &Truth, key: usize) {
    let version = truth.versions[key].fetch_add(1, Ordering::SeqCst) + 1;
    let _ = caches.persistent().delete(&format!("item:{key}")).await;
    truth.acknowledged[key].fetch_max(version, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_stale_read_survives_faults_once_the_system_is_quiet() {
    let seed = seed();
    eprintln!("RANDOMIZED_WRITES_SEED={seed}");
    let mut choices = Choices(seed);
    let mut server = RedisServer::start();
    let instances = [
        instance(&server, "randomized"),
        instance(&server, "randomized"),
    ];
    let truth = Arc::new(Truth {
        versions: Default::default(),
        acknowledged: Default::default(),
    });
    let tally = Arc::new(Tally::default());
    let running = Arc::new(AtomicBool::new(true));

    let mut workers = tokio::task::JoinSet::new();
    for (number, caches) in instances.iter().enumerate() {
        for role in 0..5_u64 {
            let (caches, truth, tally, running) = (
                caches.clone(),
                truth.clone(),
                tally.clone(),
                running.clone(),
            );
            let mut choices = Choices(seed ^ ((number as u64 + 1) << 32 | (role + 1)));
            workers.spawn(async move {
                while running.load(Ordering::SeqCst) {
                    let key = choices.below(KEYS as u64) as usize;
                    if role < 2 {
                        write(&caches, &truth, key).await;
                        tokio::time::sleep(Duration::from_millis(choices.below(30))).await;
                    } else {
                        tally.reads.fetch_add(1, Ordering::Relaxed);
                        let load_time = Duration::from_millis(choices.below(20));
                        if read_is_stale(&caches, &truth, key, load_time).await {
                            tally.stale_during_faults.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(choices.below(5))).await;
                    }
                }
            });
        }
    }

    let (mut pauses, mut kills) = (0, 0);
    let chaos_ends = Instant::now() + CHAOS;
    while Instant::now() < chaos_ends {
        tokio::time::sleep(Duration::from_millis(200 + choices.below(600))).await;
        if choices.below(3) == 0 {
            kills += 1;
            server.stop();
            tokio::time::sleep(Duration::from_millis(choices.below(400))).await;
            server.restart();
        } else {
            pauses += 1;
            let mut admin = server.client();
            redis::cmd("CLIENT")
                .arg("PAUSE")
                .arg(100 + choices.below(700))
                .arg("ALL")
                .query::<()>(&mut admin)
                .unwrap();
        }
    }
    running.store(false, Ordering::SeqCst);
    while let Some(worker) = workers.join_next().await {
        worker.unwrap();
    }

    // Quiet: no faults, no writes; every instance delivers what it kept, and its L1's
    // tracking has time to come back.
    for caches in &instances {
        delivered(caches).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut stale_after = 0;
    let mut quiet_reads = 0;
    for caches in &instances {
        for key in 0..KEYS {
            for _ in 0..3 {
                quiet_reads += 1;
                let latest = truth.versions[key].load(Ordering::SeqCst);
                let floor = truth.acknowledged[key].load(Ordering::SeqCst);
                assert_eq!(latest, floor, "every write was acknowledged");
                let stale = read_is_stale(caches, &truth, key, Duration::ZERO).await;
                stale_after += u64::from(stale);
            }
        }
    }
    let voided: u64 = instances
        .iter()
        .map(|caches| caches.persistent().voided_fills())
        .sum();
    eprintln!(
        "randomized writes: {} reads during {pauses} pauses and {kills} kills, {} stale during faults; \
         {quiet_reads} reads once quiet, {stale_after} stale; {voided} fills voided by a write",
        tally.reads.load(Ordering::Relaxed),
        tally.stale_during_faults.load(Ordering::Relaxed),
    );
    assert!(tally.reads.load(Ordering::Relaxed) > 100, "the readers ran");
    assert_eq!(stale_after, 0, "a stale answer outlived the faults");
}
