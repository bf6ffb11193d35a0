//! The worker's metrics over real HTTP: a job's runs and failures on the worker's own
//! listener, in this process and from the real `worker` process{% if web %}, and on the web
//! server's one `/metrics` when both run in one process{% endif %}.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

use {{crate_name}}::context::AppContext;
use {{crate_name}}::metrics::listener::MetricsListener;
use {{crate_name}}::settings::Settings;
use {{crate_name}}::shutdown::Shutdown;
use {{crate_name}}::worker::{Job, Runner};

use crate::process::Process;
use crate::scrape::scrape;

/// Fails every odd run and succeeds every even one.
struct Flaky {
    /// Runs so far.
    runs: Arc<AtomicUsize>,
}

impl Job for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    fn interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(10))
    }

    async fn run(&self, _context: &AppContext) -> anyhow::Result<()> {
        if self.runs.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            bail!("an odd run");
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_job_moves_the_failure_counter_by_its_failures() {
    let settings = Settings::from_vars([
        ("METRICS_PORT", "0"),
        ("WORKER_SHUTDOWN_TIMEOUT_MS", "5000"),
    ])
    .expect("valid settings");
    let context = AppContext::new(settings).await.expect("build the context");
    let listener = MetricsListener::bind(&context.settings.metrics, &context.metrics)
        .await
        .expect("bind a free port")
        .expect("metrics are on by default");
    let address = listener.address().expect("the bound address");
    let listening = Shutdown::new();
    let serving = tokio::spawn(listener.serve(listening.requested()));

    let runs = Arc::new(AtomicUsize::new(0));
    let mut runner = Runner::new(&context.settings.worker, context.clone());
    runner.add(Flaky {
        runs: Arc::clone(&runs),
    });
    let stop = Shutdown::new();
    let worker = tokio::spawn(runner.run(stop.requested()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while runs.load(Ordering::SeqCst) < 5 {
        assert!(Instant::now() < deadline, "the job did not run five times");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.trigger();
    worker.await.expect("the runner task").expect("the runner");
    // Every run has ended and been recorded once the runner has returned.
    let total = runs.load(Ordering::SeqCst) as f64;
    let failures = (total / 2.0).ceil();

    let scrape = tokio::task::spawn_blocking(move || scrape(address))
        .await
        .expect("the scrape");
    for name in ["worker_job_runs_total", "worker_job_failures_total"] {
        assert_eq!(
            scrape.types.get(name).map(String::as_str),
            Some("counter"),
            "{name}"
        );
    }
    let job = [("job", "flaky")];
    assert_eq!(scrape.value("worker_job_runs_total", &job), Some(total));
    assert_eq!(
        scrape.value("worker_job_failures_total", &job),
        Some(failures)
    );
    assert_eq!(
        scrape.value("worker_job_duration_seconds_count", &job),
        Some(total)
    );
    listening.trigger();
    serving.await.expect("the listener stops");
}

/// The first log line of `process` that contains `part`, once it is there.
fn wait_for_line(process: &mut Process, part: &str) -> String {
    process.wait_for_lines(|line| line.contains(part), 1);
    process
        .log()
        .lines()
        .find(|line| line.contains(part))
        .expect("the line was seen")
        .to_owned()
}

/// The address in a log line `… http://ADDRESS/…` or `… http://ADDRESS`.
fn address_in(line: &str) -> SocketAddr {
    let start = line.find("http://").expect("an address in the line") + "http://".len();
    let rest = &line[start..];
    let end = rest.find(['/', '"', ' ', '\u{1b}']).unwrap_or(rest.len());
    rest[..end].parse().expect("ip:port")
}

#[test]
fn the_worker_process_serves_metrics_on_its_own_listener() {
    let mut worker = Process::start(
        &["worker"],
        &[
            ("METRICS_PORT", "0"),
            ("WORKER_INTERVAL_MS", "100"),
            ("LOG_FORMAT", "json"),
        ],
    );
    let address = address_in(&wait_for_line(&mut worker, "serving metrics on"));
    worker.wait_for_lines(
        |line| line.contains("job finished") && line.contains("heartbeat"),
        2,
    );
    let scrape = scrape(address);
    let runs = scrape
        .value("worker_job_runs_total", &[("job", "heartbeat")])
        .expect("the heartbeat's series");
    assert!(runs >= 1.0, "{runs}");
    assert_eq!(
        scrape.value("build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        Some(1.0)
    );
    worker.signal("TERM");
    assert!(worker.wait_for_exit().success(), "{}", worker.log());
}

#[test]
fn a_bad_metrics_port_stops_the_worker_with_one_line() {
    let mut worker = Process::start(&["worker"], &[("METRICS_PORT", "metrics")]);
    // Bounded: a worker that ignored the setting would keep running, and fail here.
    let status = worker.wait_for_exit();
    assert_eq!(status.code(), Some(78), "{}", worker.log());
    assert!(worker.log().contains("METRICS_PORT"), "{}", worker.log());
}
{%- if web %}

#[test]
fn web_with_worker_serves_one_metrics_with_the_jobs_in_it() {
    let mut service = Process::start(
        &["web", "--with-worker"],
        &[
            ("APP_PORT", "0"),
            ("WORKER_INTERVAL_MS", "100"),
            ("LOG_FORMAT", "json"),
        ],
    );
    let address = address_in(&wait_for_line(&mut service, "listening on http://"));
    service.wait_for_lines(
        |line| line.contains("job finished") && line.contains("heartbeat"),
        2,
    );
    scrape(address);
    // The second scrape sees the first one counted: one registry for both.
    let scrape = scrape(address);
    assert!(scrape.count("worker_job_runs_total", &[("job", "heartbeat")]) >= 1.0);
    assert!(scrape.count("http_requests_total", &[("route", "/metrics")]) >= 1.0);
    assert!(
        !service.log().contains("serving metrics on"),
        "no second listener when the web server serves /metrics"
    );
    service.signal("TERM");
    assert!(service.wait_for_exit().success(), "{}", service.log());
}
{%- endif %}

/// The CPU time `pid` has used so far, from `/proc/<pid>/stat` (user plus system, in
/// clock ticks of 10 ms: Linux reports them at 100 per second to user space).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The command name may hold spaces; the fields after it are space-separated.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a stat line")
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn idle_connections_past_the_file_limit_cost_no_cpu_and_scrapes_resume() {
    // METRICS_MAX_CONNECTIONS at its default keeps the listener under the file limit;
    // above the limit, accepting fails with EMFILE and the back-off must keep it calm.
    for max_connections in ["64", "1000"] {
        let port = {
            let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            free.local_addr().expect("its address").port()
        };
        let mut shell = std::process::Command::new("sh");
        shell
            .arg("-c")
            .arg(r#"ulimit -n 256 && exec "$0" worker"#)
            .arg(crate::process::BINARY)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("METRICS_PORT", port.to_string())
            .env("METRICS_MAX_CONNECTIONS", max_connections)
            .env("WORKER_INTERVAL_MS", "60000")
            .current_dir(std::env::temp_dir());
        let mut worker = Process::spawn(shell);
        let address = address_in(&wait_for_line(&mut worker, "serving metrics on"));
        let idle: Vec<std::net::TcpStream> = (0..300)
            .map(|_| std::net::TcpStream::connect(address).expect("connect"))
            .collect();
        // Let the listener take what it can, then measure what waiting costs it.
        std::thread::sleep(Duration::from_millis(500));
        let before = cpu_ticks(worker.pid());
        let measuring = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let used = (cpu_ticks(worker.pid()) - before) as f64 / 100.0;
        let share = used / measuring.elapsed().as_secs_f64();
        eprintln!(
            "metrics listener, METRICS_MAX_CONNECTIONS={max_connections}, 300 idle connections, \
             ulimit -n 256: {:.0}% of a core",
            share * 100.0
        );
        // A spinning accept loop takes a whole core.
        assert!(
            share < 0.25,
            "METRICS_MAX_CONNECTIONS={max_connections}: the worker used {:.0}% of a core while \
             connections waited; log:\n{}",
            share * 100.0,
            worker.log()
        );
        drop(idle);
        let scrape = scrape(address);
        assert_eq!(
            scrape.value("build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
            Some(1.0)
        );
        worker.signal("TERM");
        assert!(worker.wait_for_exit().success(), "{}", worker.log());
    }
}
