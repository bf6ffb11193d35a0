//! Cache micro-benchmarks: operations per second of the `memory` alias, and of the
//! `persistent` alias on Redis with 1 and with 64 concurrent tasks.
//!
//! A plain harness (no criterion, so `cargo bench` adds no compile time): each row runs
//! a short warm-up, then as many operations as fit in a fixed time, and prints the
//! rate. Every value is the same 200-byte JSON document, read back as a typed struct,
//! the way handlers use the cache. A `get` row that sees a miss stops the run, so a row
//! can never report the speed of an empty cache. Rows that run on one thread also print
//! their rate per CPU-second of that thread (Linux), which is what one core does even
//! when other processes share the machine.
//!
//! ```sh
//! cargo bench -p service-cache --features redis --bench cache               # memory rows only
//! BENCH_REDIS_URL=redis://127.0.0.1:6379/0 \
//!     cargo bench -p service-cache --features redis --bench cache            # and Redis rows
//! cargo bench -p service-cache --features redis --bench cache -- redis      # rows whose name matches
//! ```
//!
//! The Redis rows write under the `bench` key prefix of the given database and remove
//! those keys at the end. Compare them with `redis-benchmark -t get,set -q` against the
//! same server, `-c 64` for the 64-task rows and `-c 1` for the others: that is what the
//! server allows on this machine. They run without the L1, so that every read is a
//! round trip; the "with the L1" rows then read the same keys through it, and the last
//! row times how long a write made through another client takes to reach the L1.
//!
//! `BENCH_SECONDS` (default 3) sets the measured time per row.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use service_cache::{Cache, CacheSettings, Caches, RedisSettings, Secret};

/// Serialized length of [`Product`]'s sample value: what one cached entry costs.
const VALUE_BYTES: usize = 200;
/// Distinct keys each row cycles through, so no row measures a single hot entry.
const KEYS: usize = 1_000;
/// Concurrent tasks of the "64 tasks" rows: as many as the connections of
/// `redis-benchmark -c 64`.
const TASKS: usize = 64;
/// Operations between two looks at the clock, so reading it costs nothing measurable.
const BATCH: usize = 256;
/// Untimed run before each row: fills CPU caches and connection pools.
const WARM_UP: Duration = Duration::from_millis(500);

/// A typical cached document: a few scalars and strings, 200 bytes as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Product {
    /// Numeric identifier.
    id: u64,
    /// Stock-keeping code.
    sku: String,
    /// Display name.
    name: String,
    /// Free text, padded to reach [`VALUE_BYTES`].
    description: String,
    /// Price in cents.
    price_cents: u64,
    /// Whether it can be ordered.
    in_stock: bool,
    /// Category labels.
    tags: Vec<String>,
}

impl Product {
    /// The sample value, its description padded so the JSON is exactly [`VALUE_BYTES`].
    fn sample() -> anyhow::Result<Self> {
        let mut product = Self {
            id: 4_711,
            sku: "SKU-004711".to_owned(),
            name: "Stainless steel water bottle".to_owned(),
            description: String::new(),
            price_cents: 2_499,
            in_stock: true,
            tags: vec!["kitchen".to_owned(), "outdoor".to_owned()],
        };
        let bare = serde_json::to_string(&product)?.len();
        let padding = VALUE_BYTES
            .checked_sub(bare)
            .context("the sample value is already longer than VALUE_BYTES")?;
        product.description = "x".repeat(padding);
        let length = serde_json::to_string(&product)?.len();
        if length != VALUE_BYTES {
            bail!("the sample value is {length} bytes of JSON, expected {VALUE_BYTES}");
        }
        Ok(product)
    }
}

/// What one row does with each key.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// `Cache::get::<Product>`: fetch and decode; a miss stops the run.
    Get,
    /// `Cache::get_raw`: fetch the JSON text only, to separate store cost from decoding.
    GetRaw,
    /// `Cache::set`: encode and store with the alias's default TTL.
    Set,
}

/// One benchmark row.
struct Row {
    /// Printed name, also what the command-line filter matches.
    name: &'static str,
    /// The operation every task repeats.
    op: Op,
    /// How many tasks run it at once.
    tasks: usize,
    /// Whether the row runs entirely on the calling thread (a current-thread runtime),
    /// so that thread's CPU time is the row's: then the rate per CPU-second is printed
    /// too, which stays meaningful when other processes compete for the cores.
    on_this_thread: bool,
}

/// The shared inputs of every row.
struct Workload {
    /// Keys cycled through; each task starts at a different one.
    keys: Arc<[String]>,
    /// The value written by `Set` rows and expected by `Get` rows.
    product: Arc<Product>,
    /// Measured time per row.
    duration: Duration,
    /// Words given after `--`: a row runs when its name contains one, ignoring case
    /// (every row runs when there are none).
    filters: Vec<String>,
}

impl Workload {
    fn from_env() -> anyhow::Result<Self> {
        // cargo passes `--bench`; anything else not starting with `-` is a filter.
        let filters = std::env::args()
            .skip(1)
            .filter(|arg| !arg.starts_with('-'))
            .collect();
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
        Ok(Self {
            keys: (0..KEYS).map(|i| format!("product:{i}")).collect(),
            product: Arc::new(Product::sample()?),
            duration,
            filters,
        })
    }

    fn wants(&self, row: &Row) -> bool {
        self.wants_name(row.name)
    }

    fn wants_name(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|filter| name.contains(&filter.to_lowercase()))
    }

    /// Stores the sample value under every key, so `Get` rows only ever hit.
    async fn fill(&self, cache: &Cache) -> anyhow::Result<()> {
        for key in self.keys.iter() {
            cache.set(key, &*self.product, None).await?;
        }
        Ok(())
    }

    /// Runs `row` for the warm-up, then for the measured time, and prints the rate.
    async fn run(&self, cache: &Cache, row: &Row) -> anyhow::Result<()> {
        if !self.wants(row) {
            return Ok(());
        }
        if !matches!(row.op, Op::Set) {
            self.fill(cache).await?;
        }
        self.measure(cache, row, WARM_UP).await?;
        let cpu_before = thread_cpu_time();
        let (ops, elapsed) = self.measure(cache, row, self.duration).await?;
        let cpu = match (row.on_this_thread, cpu_before, thread_cpu_time()) {
            (true, Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        let seconds = elapsed.as_secs_f64();
        let per_cpu_second = cpu
            .filter(|cpu| !cpu.is_zero())
            .map(|cpu| {
                format!(
                    "{:>11.0} ops per CPU-second",
                    ops as f64 / cpu.as_secs_f64()
                )
            })
            .unwrap_or_default();
        println!(
            "{:<46} {:>11.0} ops/s {:>9.0} ns/op {per_cpu_second}",
            row.name,
            ops as f64 / seconds,
            seconds * 1e9 / ops as f64
        );
        Ok(())
    }

    /// Runs `row.tasks` tasks until `duration` has passed; returns the operations
    /// completed and the time they took.
    async fn measure(
        &self,
        cache: &Cache,
        row: &Row,
        duration: Duration,
    ) -> anyhow::Result<(u64, Duration)> {
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..row.tasks {
            let (cache, keys, product) = (cache.clone(), self.keys.clone(), self.product.clone());
            let op = row.op;
            // Spread the tasks' starting keys so they do not all touch the same entry.
            let mut cursor = task * keys.len() / row.tasks;
            tasks.spawn(async move {
                let mut ops = 0_u64;
                loop {
                    batch(&cache, &keys, cursor, op, &product).await?;
                    ops += BATCH as u64;
                    cursor = (cursor + BATCH) % keys.len();
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
}

/// Applies `op` to [`BATCH`] consecutive keys from `cursor`, wrapping around.
async fn batch(
    cache: &Cache,
    keys: &[String],
    cursor: usize,
    op: Op,
    product: &Product,
) -> anyhow::Result<()> {
    for index in cursor..cursor + BATCH {
        let key = black_box(keys[index % keys.len()].as_str());
        match op {
            Op::Get => {
                let value: Option<Product> = cache.get(key).await?;
                if black_box(value).is_none() {
                    bail!("{key} missed: every key should be cached before a get row");
                }
            }
            Op::GetRaw => {
                if black_box(cache.get_raw(key).await?).is_none() {
                    bail!("{key} missed: every key should be cached before a get row");
                }
            }
            Op::Set => cache.set(key, black_box(product), None).await?,
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let workload = Workload::from_env()?;
    println!(
        "cache micro-benchmarks: {VALUE_BYTES}-byte JSON value, {KEYS} keys, {:.1} s per row",
        workload.duration.as_secs_f64()
    );
    memory_rows(&workload)?;
    redis_rows(&workload)
}

/// Settings of a cache with both aliases in process; Redis rows add the URL.
fn settings() -> CacheSettings {
    CacheSettings {
        default_ttl: Duration::from_secs(600),
        persistent_ttl: Duration::from_secs(600),
        prefix: "bench".to_owned(),
        // Enabled, with the default capacity.
        ..CacheSettings::default()
    }
}

/// The `memory` alias on one thread: the in-process store plus JSON encoding.
fn memory_rows(workload: &Workload) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let caches = Caches::from_settings(&settings());
    let rows = [
        Row {
            name: "memory get hit (1 thread)",
            op: Op::Get,
            tasks: 1,
            on_this_thread: true,
        },
        Row {
            name: "memory get_raw hit, no decoding (1 thread)",
            op: Op::GetRaw,
            tasks: 1,
            on_this_thread: true,
        },
        Row {
            name: "memory set (1 thread)",
            op: Op::Set,
            tasks: 1,
            on_this_thread: true,
        },
    ];
    runtime.block_on(async {
        for row in &rows {
            workload.run(caches.memory(), row).await?;
        }
        anyhow::Ok(())
    })
}

/// The `persistent` alias on the Redis at `BENCH_REDIS_URL`, from 1 and from 64 tasks.
fn redis_rows(workload: &Workload) -> anyhow::Result<()> {
    let rows = [
        Row {
            name: "persistent get hit, Redis without L1 (1 task)",
            op: Op::Get,
            tasks: 1,
            on_this_thread: false,
        },
        Row {
            name: "persistent get hit, Redis without L1 (64 tasks)",
            op: Op::Get,
            tasks: TASKS,
            on_this_thread: false,
        },
        Row {
            name: "persistent set, Redis (1 task)",
            op: Op::Set,
            tasks: 1,
            on_this_thread: false,
        },
        Row {
            name: "persistent set, Redis (64 tasks)",
            op: Op::Set,
            tasks: TASKS,
            on_this_thread: false,
        },
    ];
    if !rows.iter().any(|row| workload.wants(row)) {
        return Ok(());
    }
    let Ok(url) = std::env::var("BENCH_REDIS_URL") else {
        println!(
            "persistent alias on Redis: skipped, set BENCH_REDIS_URL \
             (e.g. redis://127.0.0.1:6379/0) to run these rows"
        );
        return Ok(());
    };
    let mut settings = settings();
    settings.redis = RedisSettings {
        url: Some(Secret::new(url)),
        timeout: Duration::from_secs(2),
        ..RedisSettings::default()
    };
    let with_l1 = settings.clone();
    settings.persistent_l1_capacity = 0;
    // A worker thread per core, as the service runs.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let caches = Caches::from_settings(&settings);
        let cache = caches.persistent();
        cache.ping().await.context(
            "BENCH_REDIS_URL is set but Redis does not answer: start redis-server or fix the URL",
        )?;
        for row in &rows {
            workload.run(cache, row).await?;
        }
        let l1_caches = Caches::from_settings(&with_l1);
        let l1_rows = [
            Row {
                name: "persistent get hit, Redis with L1 (1 task)",
                op: Op::Get,
                tasks: 1,
                on_this_thread: false,
            },
            Row {
                name: "persistent get hit, Redis with L1 (64 tasks)",
                op: Op::Get,
                tasks: TASKS,
                on_this_thread: false,
            },
        ];
        for row in &l1_rows {
            workload.run(l1_caches.persistent(), row).await?;
        }
        if workload.wants_name("invalidation") {
            invalidation_latency(cache, l1_caches.persistent()).await?;
        }
        let removed = cache.delete_matching("product:*").await?;
        println!("(removed the {removed} benchmark keys from Redis)");
        anyhow::Ok(())
    })
}

/// How long a write made through `writer` (another instance, as far as the L1 knows)
/// takes to drop `reader`'s L1 copy: from sending the write to the first read through
/// the L1 that sees the new value, over [`SAMPLES`] writes.
async fn invalidation_latency(writer: &Cache, reader: &Cache) -> anyhow::Result<()> {
    /// Writes timed.
    const SAMPLES: u64 = 1_000;
    let key = "product:invalidation";
    let mut micros = Vec::new();
    for value in 0..SAMPLES {
        writer.set(key, &value, None).await?;
        // Wait until the reader's L1 holds this value: two reads in a row from the L1.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let before = reader.stats().l1_hits;
            let seen = reader.get::<u64>(key).await?;
            if seen == Some(value) && reader.stats().l1_hits > before {
                break;
            }
            if Instant::now() > deadline {
                bail!("the L1 never held {key}: is CLIENT TRACKING allowed on this Redis?");
            }
        }
        let sent = Instant::now();
        let write = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.set(key, &(value + 1), None).await })
        };
        while reader.get::<u64>(key).await? == Some(value) {
            if sent.elapsed() > Duration::from_secs(10) {
                bail!("a write never reached the L1");
            }
        }
        micros.push(sent.elapsed().as_secs_f64() * 1e6);
        write.await??;
    }
    micros.sort_by(f64::total_cmp);
    let quantile = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    println!(
        "L1 invalidation latency ({SAMPLES} writes elsewhere): p50 {:.0} µs, p99 {:.0} µs",
        quantile(0.5),
        quantile(0.99)
    );
    Ok(())
}

/// CPU time this thread has used so far, from Linux's scheduler statistics (brought up to
/// date at every scheduler tick, so over a row of seconds the error is well under 1%);
/// `None` on other systems.
fn thread_cpu_time() -> Option<Duration> {
    let stats = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stats.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}
