//! Stale-while-revalidate under load: the latency of a route whose handler takes 50 ms,
//! read by many clients while its answer sits in its stale period, next to a plain
//! cached route's, from the same run.
//!
//! A plain harness (no criterion, so `cargo bench` adds no compile time). It starts the
//! service in this process on a free loopback port (`Application::build_with`, as the
//! tests do) with two routes of its own:
//!
//! - `GET /plain/{id}`: `EndpointCache::new("plain:{id}").ttl(1 hour)`; after the first
//!   read every answer is a plain hit (`x-cache: hit`).
//! - `GET /stale/{id}`: `EndpointCache::new("stale:{id}").ttl(1 ms)
//!   .stale_while_revalidate(1 hour)`, whose handler sleeps 50 ms before it answers.
//!   After the first load the answer is fresh for a millisecond at a time, so nearly
//!   every read is answered stale (`x-cache: stale`) while one background run of the
//!   handler refreshes it, and such a refresh is running nearly all the time.
//!
//! Both routes are read at id 1 by 64 tasks, each with its own keep-alive connection
//! (reqwest), which send one request after another and record every request's latency
//! (from sending it to the end of the body). After a miss per route and 1 s of untimed
//! load on each, the routes take turns in rounds of about 1 s (the first in odd rounds,
//! the other in even ones), so that both see the same background load. It prints a
//! Markdown table of the latency percentiles, how the answers were marked, the ratio of
//! the stale route's p99 to the plain route's with the target (at most 2), and how often
//! the 50 ms handler ran.
//!
//! The run fails, loudly, on wrong behaviour, never on speed: a plain read that is not a
//! hit, a stale-route read that is a miss or an error, fewer than 90% of the stale
//! route's reads answered `stale`, a failed refresh, or two runs of its handler at once.
{%- if redis %}
//!
//! ```sh
//! cargo bench --bench stale                                          # in-process rows
//! BENCH_REDIS_URL=redis://127.0.0.1:6379/0 cargo bench --bench stale  # and Redis rows
//! ```
//!
//! The persistent alias is in process by default. With `BENCH_REDIS_URL` the same rows
//! run again with the persistent alias on that Redis (with its L1), under the
//! `bench-stale` key prefix, whose keys are removed at the end.
{%- else %}
//!
//! ```sh
//! cargo bench --bench stale
//! ```
//!
//! The persistent alias is in process (`CACHE_PREFIX=bench-stale`).
{%- endif %}
//! `BENCH_SECONDS` (default 10) sets the measured time per route.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::web::{self, ServiceConfig};
use anyhow::{Context, bail};
use serde_json::json;
use service_cache::endpoint::EndpointCache;
use tokio::sync::oneshot;

use {{crate_name}}::context::AppContext;
use {{crate_name}}::services::cache::Cache;
use {{crate_name}}::settings::Settings;
use {{crate_name}}::web::Application;

/// Concurrent clients, each on its own keep-alive connection, like `wrk -c 64`.
const CLIENTS: usize = 64;
/// How long the stale route's handler takes: a slow database query.
const LOAD: Duration = Duration::from_millis(50);
/// The stale route's fresh period: short, so nearly every read is in the stale period.
const STALE_TTL: Duration = Duration::from_millis(1);
/// The plain route's TTL and the stale route's window: longer than any run.
const HOUR: Duration = Duration::from_secs(3600);
/// Untimed load on each route before the measured rounds.
const WARM_UP: Duration = Duration::from_secs(1);
/// The longest a measured round on one route lasts.
const ROUND: Duration = Duration::from_secs(1);
/// The least share of the stale route's reads that must be answered `stale`.
const STALE_SHARE_MIN: f64 = 0.9;
/// The target: the stale route's p99 at most this many times the plain route's.
const TARGET_RATIO: f64 = 2.0;
/// The key prefix of everything the bench stores.
const PREFIX: &str = "bench-stale";

/// One of the two routes, and how its answers must be marked.
#[derive(Debug, Clone, Copy)]
struct Route {
    /// Printed name.
    name: &'static str,
    /// The path every client reads.
    path: &'static str,
    /// The `x-cache` value of its answers after the warm-up.
    claims: &'static str,
}

const PLAIN: Route = Route {
    name: "GET /plain/1, plain hit",
    path: "/plain/1",
    claims: "hit",
};
const STALE: Route = Route {
    name: "GET /stale/1, stale, 50 ms handler",
    path: "/stale/1",
    claims: "stale",
};

/// A route handler's runs: how many, and how many at once.
#[derive(Debug, Default)]
struct Handler {
    /// Runs started.
    runs: AtomicU64,
    /// Runs under way.
    running: AtomicUsize,
    /// The most runs ever under way at once.
    most_running: AtomicUsize,
}

impl Handler {
    /// Counts a run, waits `delay` (the work), and answers a small JSON body.
    async fn answer(&self, id: u64, delay: Duration) -> HttpResponse {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        let _running = Running::start(self);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        HttpResponse::Ok().json(json!({ "id": id, "run": run, "name": "widget" }))
    }
}

/// Marks one run of a [`Handler`] as under way until dropped, even if it is cancelled.
struct Running<'a>(&'a Handler);

impl<'a> Running<'a> {
    fn start(handler: &'a Handler) -> Self {
        let now = handler.running.fetch_add(1, Ordering::SeqCst) + 1;
        handler.most_running.fetch_max(now, Ordering::SeqCst);
        Self(handler)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The two routes' handlers, shared between the server and the report.
#[derive(Debug, Clone, Default)]
struct Handlers {
    plain: Arc<Handler>,
    stale: Arc<Handler>,
}

impl Handlers {
    /// `GET /plain/{id}` and `GET /stale/{id}`, each behind its endpoint cache.
    fn routes(&self) -> impl Fn(&mut ServiceConfig) + Send + Clone + 'static {
        let handlers = self.clone();
        move |cfg| {
            let plain = handlers.plain.clone();
            cfg.service(
                web::resource("/plain/{id}")
                    .wrap(EndpointCache::new("plain:{id}").ttl(HOUR))
                    .route(web::get().to(move |id: web::Path<u64>| {
                        let plain = plain.clone();
                        async move { plain.answer(id.into_inner(), Duration::ZERO).await }
                    })),
            );
            let stale = handlers.stale.clone();
            cfg.service(
                web::resource("/stale/{id}")
                    .wrap(
                        EndpointCache::new("stale:{id}")
                            .ttl(STALE_TTL)
                            .stale_while_revalidate(HOUR),
                    )
                    .route(web::get().to(move |id: web::Path<u64>| {
                        let stale = stale.clone();
                        async move { stale.answer(id.into_inner(), LOAD).await }
                    })),
            );
        }
    }
}

/// What the clients saw on one route.
#[derive(Debug, Default)]
struct Tally {
    /// Every request's latency, in nanoseconds.
    latencies: Vec<u64>,
    /// Answers marked `x-cache: hit`.
    hit: u64,
    /// Answers marked `x-cache: stale`.
    stale: u64,
    /// Anything else: a miss, no header, another status.
    other: u64,
}

impl Tally {
    fn merge(&mut self, other: Self) {
        self.latencies.extend(other.latencies);
        self.hit += other.hit;
        self.stale += other.stale;
        self.other += other.other;
    }

    fn requests(&self) -> u64 {
        self.hit + self.stale + self.other
    }

    fn share(&self, count: u64) -> f64 {
        count as f64 / self.requests().max(1) as f64
    }

    /// Nearest-rank percentile in milliseconds; `latencies` must be sorted.
    fn percentile(&self, p: f64) -> f64 {
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len().max(1)) - 1;
        self.latencies
            .get(index)
            .map_or(0.0, |nanos| *nanos as f64 / 1e6)
    }

    /// Fails unless every answer is marked the way `route` claims.
    fn check(&self, route: Route, store: &str) -> anyhow::Result<()> {
        let requests = self.requests();
        if requests == 0 {
            bail!("{store}: {} got no answers", route.name);
        }
        let marked = match route.claims {
            "hit" => self.hit,
            _ => self.stale,
        };
        let enough = match route.claims {
            "hit" => marked == requests,
            _ => self.other == 0 && self.share(marked) >= STALE_SHARE_MIN,
        };
        if !enough {
            bail!(
                "{store}: {} should be answered `{}`, but of {requests} answers {} were hit, \
                 {} stale and {} something else (a miss, an error)",
                route.name,
                route.claims,
                self.hit,
                self.stale,
                self.other
            );
        }
        Ok(())
    }
}

/// Measured time per route and how it is split into rounds.
struct Workload {
    /// Rounds per route.
    rounds: u32,
    /// Length of one round.
    round: Duration,
}

impl Workload {
    fn from_env() -> anyhow::Result<Self> {
        let seconds = match std::env::var("BENCH_SECONDS") {
            Ok(text) => text
                .parse::<f64>()
                .ok()
                .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
                .with_context(|| {
                    format!("BENCH_SECONDS={text:?} is not a positive number of seconds")
                })?,
            Err(_) => 10.0,
        };
        let rounds = (seconds / ROUND.as_secs_f64()).ceil().max(1.0) as u32;
        Ok(Self {
            rounds,
            round: Duration::from_secs_f64(seconds / f64::from(rounds)),
        })
    }
}

/// The figures of one store: both routes, and what the stale route's handler did.
struct Report {
    /// Where the persistent alias keeps its entries.
    store: &'static str,
    plain: Tally,
    stale: Tally,
    /// Runs of the 50 ms handler during the measured rounds.
    stale_runs: u64,
    /// Background refreshes the cache counted during the measured rounds.
    refreshes: u64,
    /// Measured time on the stale route.
    stale_time: Duration,
}

fn main() -> anyhow::Result<()> {
    let workload = Workload::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
{%- if redis %}
    let mut reports = vec![runtime.block_on(run("in-process", &[], &workload))?];
    match std::env::var("BENCH_REDIS_URL") {
        Ok(url) => reports.push(runtime.block_on(run(
            "Redis, L1 on",
            &[("CACHE_REDIS_URL", url.as_str())],
            &workload,
        ))?),
        Err(_) => println!(
            "persistent alias on Redis: skipped, set BENCH_REDIS_URL \
             (e.g. redis://127.0.0.1:6379/0) to run these rows\n"
        ),
    }
{%- else %}
    let reports = vec![runtime.block_on(run("in-process", &[], &workload))?];
{%- endif %}
    print_report(&reports, &workload);
    Ok(())
}

/// Starts the service with `vars`, loads both routes, and measures them in rounds.
async fn run(
    store: &'static str,
    vars: &[(&str, &str)],
    workload: &Workload,
) -> anyhow::Result<Report> {
    let mut map = vec![
        ("APP_HOST", "127.0.0.1"),
        ("APP_PORT", "0"),
        ("CACHE_PREFIX", PREFIX),
    ];
    map.extend_from_slice(vars);
    let context = AppContext::new(Settings::from_vars(map)?).await?;
    let cache = context.caches.persistent().clone();
    cache.ping().await.with_context(|| {
        format!("{store}: the persistent alias does not answer (is BENCH_REDIS_URL right?)")
    })?;
    // Entries from an earlier run would make the first reads below hits.
    forget(&cache).await?;

    let handlers = Handlers::default();
    let application = Application::build_with(&context, handlers.routes())?;
    let base = format!("http://127.0.0.1:{}", application.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let clients = (0..CLIENTS)
        .map(|_| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let clients: Arc<[reqwest::Client]> = clients.into();

    // The first read of each route runs its handler; then the plain route hits, and the
    // stale route, a millisecond later, is stale.
    for route in [PLAIN, STALE] {
        expect(&clients[0], &base, route, "miss", store).await?;
    }
    tokio::time::sleep(STALE_TTL * 5).await;
    for route in [PLAIN, STALE] {
        expect(&clients[0], &base, route, route.claims, store).await?;
    }
    for route in [PLAIN, STALE] {
        drive(&clients, &base, route, WARM_UP).await?;
    }

    let runs_before = handlers.stale.runs.load(Ordering::SeqCst);
    let stats_before = cache.stale_stats();
    let (mut plain, mut stale) = (Tally::default(), Tally::default());
    let mut stale_time = Duration::ZERO;
    for round in 0..workload.rounds {
        let order = if round % 2 == 0 {
            [PLAIN, STALE]
        } else {
            [STALE, PLAIN]
        };
        for route in order {
            let started = Instant::now();
            let tally = drive(&clients, &base, route, workload.round).await?;
            if route.claims == STALE.claims {
                stale_time += started.elapsed();
                stale.merge(tally);
            } else {
                plain.merge(tally);
            }
        }
    }
    let stale_runs = handlers.stale.runs.load(Ordering::SeqCst) - runs_before;
    let stats = cache.stale_stats();

    drop(clients);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .context("the server did not stop within 30 s")???;
    // Refreshes still under way when the server stopped are not waited for.
    forget(&cache).await?;

    plain.check(PLAIN, store)?;
    stale.check(STALE, store)?;
    if handlers.plain.runs.load(Ordering::SeqCst) != 1 {
        bail!("{store}: the plain route's handler ran more than once: its reads were not hits");
    }
    let most = handlers.stale.most_running.load(Ordering::SeqCst);
    if most != 1 {
        bail!(
            "{store}: the stale route's handler ran {most} times at once, \
             expected one refresh at a time"
        );
    }
    let refreshes = stats.refreshes - stats_before.refreshes;
    if refreshes == 0 || stats.refresh_errors != stats_before.refresh_errors {
        bail!(
            "{store}: expected background refreshes and no failed ones, saw {refreshes} and {} failed",
            stats.refresh_errors - stats_before.refresh_errors
        );
    }
    plain.latencies.sort_unstable();
    stale.latencies.sort_unstable();
    Ok(Report {
        store,
        plain,
        stale,
        stale_runs,
        refreshes,
        stale_time,
    })
}

/// Removes the bench's entries from the persistent alias.
async fn forget(cache: &Cache) -> anyhow::Result<()> {
    for pattern in ["plain:*", "stale:*"] {
        cache.delete_matching(pattern).await?;
    }
    Ok(())
}

/// One `GET` of `route`, which must answer 200 marked `outcome`.
async fn expect(
    client: &reqwest::Client,
    base: &str,
    route: Route,
    outcome: &str,
    store: &str,
) -> anyhow::Result<()> {
    let response = client.get(format!("{base}{}", route.path)).send().await?;
    let status = response.status();
    let marked = x_cache(&response);
    if status != reqwest::StatusCode::OK || marked.as_deref() != Some(outcome) {
        bail!(
            "{store}: GET {} answered {status} with x-cache {marked:?}, expected 200 and {outcome:?}",
            route.path
        );
    }
    response.bytes().await?;
    Ok(())
}

/// Every client reads `route` one request after another until `duration` has passed.
async fn drive(
    clients: &Arc<[reqwest::Client]>,
    base: &str,
    route: Route,
    duration: Duration,
) -> anyhow::Result<Tally> {
    let url: Arc<str> = format!("{base}{}", route.path).into();
    let deadline = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..clients.len() {
        let (clients, url) = (clients.clone(), url.clone());
        tasks.spawn(async move {
            let client = &clients[index];
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let response = client.get(&*url).send().await?;
                let ok = response.status() == reqwest::StatusCode::OK;
                let marked = x_cache(&response);
                response.bytes().await?;
                tally.latencies.push(sent.elapsed().as_nanos() as u64);
                match (ok, marked.as_deref()) {
                    (true, Some("hit")) => tally.hit += 1,
                    (true, Some("stale")) => tally.stale += 1,
                    _ => tally.other += 1,
                }
            }
            anyhow::Ok(tally)
        });
    }
    let mut tally = Tally::default();
    while let Some(result) = tasks.join_next().await {
        tally.merge(result.context("a client task panicked")??);
    }
    Ok(tally)
}

/// The `x-cache` header of a response, `None` when absent.
fn x_cache(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("x-cache")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Prints the Markdown tables: latencies, refreshes, and the target.
fn print_report(reports: &[Report], workload: &Workload) {
    println!(
        "Stale-while-revalidate: {CLIENTS} keep-alive clients, {} interleaved {} of {:.1} s \
         per route after {:.0} s of warm-up each; a {} ms handler on the stale route.\n",
        workload.rounds,
        if workload.rounds == 1 {
            "round"
        } else {
            "rounds"
        },
        workload.round.as_secs_f64(),
        WARM_UP.as_secs_f64(),
        LOAD.as_millis()
    );
    println!("| Route | Store | Requests | Answered | p50 | p90 | p99 | max |");
    println!("|---|---|---:|---|---:|---:|---:|---:|");
    for report in reports {
        for (route, tally) in [(PLAIN, &report.plain), (STALE, &report.stale)] {
            let mut answered = Vec::new();
            for (label, count) in [
                ("stale", tally.stale),
                ("hit", tally.hit),
                ("other", tally.other),
            ] {
                if count > 0 {
                    answered.push(format!("{:.1}% {label}", tally.share(count) * 100.0));
                }
            }
            println!(
                "| {} | {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                route.name,
                report.store,
                thousands(tally.requests()),
                answered.join(", "),
                tally.percentile(50.0),
                tally.percentile(90.0),
                tally.percentile(99.0),
                tally.percentile(100.0)
            );
        }
    }
    println!();
    for report in reports {
        let seconds = report.stale_time.as_secs_f64();
        println!(
            "{}: the 50 ms handler ran {} times in {seconds:.1} s of stale reads \
             ({:.1} per second; {} background refreshes counted by the cache), \
             never twice at once.",
            report.store,
            report.stale_runs,
            report.stale_runs as f64 / seconds,
            report.refreshes
        );
    }
    println!("\n| Target | Measured | Met |");
    println!("|---|---:|---|");
    for report in reports {
        let (stale, plain) = (report.stale.percentile(99.0), report.plain.percentile(99.0));
        let ratio = stale / plain;
        println!(
            "| stale p99 <= {TARGET_RATIO:.1} x plain hit p99, {} \
             | {ratio:.2} ({stale:.2} ms vs {plain:.2} ms) | {} |",
            report.store,
            if ratio <= TARGET_RATIO { "yes" } else { "no" }
        );
    }
}

/// `n` with a comma between groups of three digits: `120,023`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
