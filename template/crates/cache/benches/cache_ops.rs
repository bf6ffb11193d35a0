//! Benchmarks of the `persistent` alias on Redis beyond get and set: the atomic `incr`
//! and `add` from 64 concurrent tasks, a small `set` with and without a tag (what a tag's
//! bookkeeping costs a write), and a 64 KiB JSON value stored with and without
//! compression (bytes Redis holds for it, `get` and `set` rates), and a page of 50 keys
//! read with one `get_many` against 50 `get`s, from one task, the L1 off (the ratio is
//! the round trips saved).
//!
//! ```sh
//! BENCH_REDIS_URL=redis://127.0.0.1:6379/0 cargo bench -p service-cache --features redis --bench cache_ops
//! ```
//!
//! A plain harness like `benches/cache.rs`: each row runs a short warm-up, then as many
//! operations as fit in `BENCH_SECONDS` (default 3), and prints the rate. Compare the
//! 64-task rows with `redis-benchmark -t incr,set -c 64 -q` against the same server. The
//! rows write under the `bench-ops` key prefix and remove those keys at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use service_cache::settings::DEFAULT_COMPRESS_MIN_BYTES;
use service_cache::{Cache, Caches, Policy};
use service_cache::{CacheSettings, RedisSettings, Secret};

/// Concurrent tasks of every row: as many as the clients of `redis-benchmark -c 64`.
const TASKS: usize = 64;
/// Distinct counters the `incr` row cycles through, and keys the small `set` rows write.
const COUNTERS: usize = 1_000;
/// Distinct tags the tagged `set` row spreads its entries over.
const TAGS: usize = 100;
/// The large value's size, as JSON.
const LARGE_BYTES: usize = 64 * 1024;
/// Distinct keys of the large-value rows.
const LARGE_KEYS: usize = 64;
/// Untimed run before each row.
const WARM_UP: Duration = Duration::from_millis(500);

/// What one row's tasks repeat.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// `incr(key, 1)` on one of [`COUNTERS`] keys.
    Incr,
    /// `add` of a small value under a key never used before (an idempotency key).
    Add,
    /// `set` of a small value on one of [`COUNTERS`] keys.
    Set,
    /// The same `set` carrying one of [`TAGS`] tags (`set_with`).
    SetTagged,
    /// `get` of the large value, decoded as JSON.
    GetLarge,
    /// `set` of the large value.
    SetLarge,
}

fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("BENCH_REDIS_URL") else {
        println!("skipped: set BENCH_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run these rows");
        return Ok(());
    };
    let duration = match std::env::var("BENCH_SECONDS") {
        Ok(text) => text
            .parse::<f64>()
            .ok()
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(Duration::from_secs_f64)
            .with_context(|| {
                format!("BENCH_SECONDS={text:?} is not a positive number of seconds")
            })?,
        Err(_) => Duration::from_secs(3),
    };
    let large = Arc::new(large_value()?);
    println!(
        "cache operation benchmarks: {TASKS} tasks, {:.1} s per row; large value {} bytes of JSON",
        duration.as_secs_f64(),
        large.to_string().len()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let plain = caches(&url, 0);
        let compressed = caches(&url, DEFAULT_COMPRESS_MIN_BYTES);
        plain.persistent().ping().await.context(
            "BENCH_REDIS_URL is set but Redis does not answer: start redis-server or fix the URL",
        )?;
        let mut redis = redis::Client::open(url.as_str())?
            .get_multiplexed_async_connection()
            .await?;

        run(
            "persistent incr, Redis (64 tasks)",
            plain.persistent(),
            Op::Incr,
            &large,
            duration,
        )
        .await?;
        run(
            "persistent add, Redis (64 tasks)",
            plain.persistent(),
            Op::Add,
            &large,
            duration,
        )
        .await?;
        run(
            "persistent set, Redis (64 tasks)",
            plain.persistent(),
            Op::Set,
            &large,
            duration,
        )
        .await?;
        run(
            "persistent set_with one tag, Redis (64 tasks)",
            plain.persistent(),
            Op::SetTagged,
            &large,
            duration,
        )
        .await?;
        for (label, caches) in [("plain", &plain), ("compressed", &compressed)] {
            let cache = caches.persistent();
            cache.set("large:0", &*large, None).await?;
            let held: u64 = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg("bench-ops:v1:large:0")
                .arg("SAMPLES")
                .arg(0)
                .query_async(&mut redis)
                .await?;
            println!("64 KiB value, {label}: Redis holds {held} bytes");
            let get = format!("64 KiB get, {label}, Redis (64 tasks)");
            let set = format!("64 KiB set, {label}, Redis (64 tasks)");
            run(&set, cache, Op::SetLarge, &large, duration).await?;
            run(&get, cache, Op::GetLarge, &large, duration).await?;
        }
        let (many, single) = page_of_50(plain.persistent(), duration).await?;
        println!(
            "page of {PAGE} keys, one task: get_many {many:.0} pages/s, {PAGE} gets {single:.0} pages/s: {:.1}x",
            many / single
        );
        let removed = plain.persistent().clear().await?;
        println!("(removed the {removed} benchmark keys from Redis)");
        anyhow::Ok(())
    })
}

/// Caches whose persistent alias is the Redis at `url` without an L1, compressing above
/// `min_bytes`.
fn caches(url: &str, min_bytes: usize) -> Caches {
    Caches::from_settings(&CacheSettings {
        prefix: "bench-ops".to_owned(),
        persistent_ttl: Duration::from_secs(60),
        // Every read goes to Redis: these rows measure Redis and compression, not the L1.
        persistent_l1_capacity: 0,
        compress_min_bytes: min_bytes,
        redis: RedisSettings {
            url: Some(Secret::new(url)),
            timeout: Duration::from_secs(2),
            ..RedisSettings::default()
        },
        ..CacheSettings::default()
    })
}

/// A JSON list of about [`LARGE_BYTES`], shaped like an API's list response: repeated
/// field names, varied values.
fn large_value() -> anyhow::Result<serde_json::Value> {
    let mut items = Vec::new();
    loop {
        let n = items.len();
        items.push(serde_json::json!({
            "id": n,
            "name": format!("item number {n}"),
            "price": (n * 37 % 10_000) as f64 / 100.0,
            "tags": ["alpha", "beta", if n % 3 == 0 { "gamma" } else { "delta" }],
            "in_stock": n % 2 == 0,
            "description": format!("A fine product, batch {}, shelf {}", n * 7_919 % 1_000, n % 17),
        }));
        let value = serde_json::Value::Array(items.clone());
        if value.to_string().len() >= LARGE_BYTES {
            return Ok(value);
        }
    }
}

/// Keys of the batch rows: a page of a list.
const PAGE: usize = 50;

/// Pages of [`PAGE`] keys read per second from one task, with `get_many` and with one
/// `get` per key, each for half of `duration`.
async fn page_of_50(cache: &Cache, duration: Duration) -> anyhow::Result<(f64, f64)> {
    let keys: Vec<String> = (0..PAGE).map(|n| format!("page:{n}")).collect();
    let entries: Vec<(&str, usize)> = keys.iter().map(String::as_str).zip(0..).collect();
    cache.set_many(&entries, None).await?;
    let asked: Vec<&str> = keys.iter().map(String::as_str).collect();
    let half = duration / 2;
    let (mut many, started) = (0_u32, Instant::now());
    while started.elapsed() < half {
        let values: Vec<Option<usize>> = cache.get_many(&asked).await?;
        if values.iter().any(Option::is_none) {
            bail!("a page key was missing");
        }
        many += 1;
    }
    let many = f64::from(many) / started.elapsed().as_secs_f64();
    let (mut single, started) = (0_u32, Instant::now());
    while started.elapsed() < half {
        for key in &asked {
            if cache.get::<usize>(key).await?.is_none() {
                bail!("{key} was missing");
            }
        }
        single += 1;
    }
    Ok((many, f64::from(single) / started.elapsed().as_secs_f64()))
}

/// Runs `op` from [`TASKS`] tasks for the warm-up, then for `duration`, and prints the rate.
async fn run(
    name: &str,
    cache: &Cache,
    op: Op,
    large: &Arc<serde_json::Value>,
    duration: Duration,
) -> anyhow::Result<()> {
    measure(cache, op, large, WARM_UP, 0).await?;
    let (ops, elapsed) = measure(cache, op, large, duration, 1).await?;
    let seconds = elapsed.as_secs_f64();
    println!(
        "{name:<46} {:>11.0} ops/s {:>9.0} ns/op",
        ops as f64 / seconds,
        seconds * 1e9 / ops as f64
    );
    Ok(())
}

/// Runs the tasks until `duration` has passed; `round` keeps the `add` keys of the
/// warm-up and of the measured run apart.
async fn measure(
    cache: &Cache,
    op: Op,
    large: &Arc<serde_json::Value>,
    duration: Duration,
    round: usize,
) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (cache, large) = (cache.clone(), large.clone());
        tasks.spawn(async move {
            let mut ops = 0_u64;
            loop {
                // A Redis round trip is thousands of times what reading the clock costs,
                // so it is read after every operation.
                let n = usize::try_from(ops).unwrap_or_default() + task;
                match op {
                    Op::Incr => {
                        cache
                            .incr(&format!("counter:{}", n % COUNTERS), 1, None)
                            .await?;
                    }
                    Op::Add => {
                        let key = format!("add:{round}:{task}:{ops}");
                        if !cache.add(&key, &true, None).await? {
                            bail!("{key} was not stored, but no one had used it");
                        }
                    }
                    Op::Set => {
                        cache
                            .set(&format!("small:{}", n % COUNTERS), &n, None)
                            .await?;
                    }
                    Op::SetTagged => {
                        let tagged = Policy::default().tag(format!("owner:{}", n % TAGS));
                        cache
                            .set_with(&format!("small:{}", n % COUNTERS), &n, &tagged)
                            .await?;
                    }
                    Op::GetLarge => {
                        let key = format!("large:{}", n % LARGE_KEYS);
                        if cache.get::<serde_json::Value>(&key).await?.is_none() {
                            bail!("{key} missed: the set row fills every key first");
                        }
                    }
                    Op::SetLarge => {
                        cache
                            .set(&format!("large:{}", n % LARGE_KEYS), &*large, None)
                            .await?;
                    }
                }
                ops += 1;
                if Instant::now() >= deadline {
                    return anyhow::Ok(ops);
                }
            }
        });
    }
    let mut ops = 0;
    while let Some(result) = tasks.join_next().await {
        ops += result.context("a benchmark task panicked")??;
    }
    Ok((ops, started.elapsed()))
}
