//! Every numeric setting at its extremes, through the built binary. The lowest and the
//! highest value a setting accepts pass `config check`{% if web or worker %} and the long-running modes start
//! and stop with them{% endif %}; zero, `-1`, one past the range, the largest `i64` and `u64` and
//! beyond are each refused with exit code 78 and one line that names the variable and
//! the range: never a panic, never a value a library chokes on later.{% if cache %} `CACHE_PREFIX`,
//! which bounds a service's keys, is held to a rule that keeps namespaces apart.{% endif %}
{% if web or worker %}
use crate::process::Process;
{%- endif %}
use crate::process::{assert_exit, run, stderr, stdout};
{%- if web and redis %}
use service_cache::test_support::RedisServer;
{%- endif %}

/// Ten years, the longest duration any setting takes, in seconds (`* 1_000` for the
/// settings in milliseconds).
const TEN_YEARS_S: u64 = 315_360_000;

/// A numeric variable and the range it accepts, bounds included.
struct Numeric {
    name: &'static str,
    min: u64,
    max: u64,
}

const fn numeric(name: &'static str, min: u64, max: u64) -> Numeric {
    Numeric { name, min, max }
}

/// Every numeric setting of the service and of the cache engine: a new one is one line.
const NUMERIC: &[Numeric] = &[
{%- if web %}
    numeric("APP_PORT", 0, 65_535),
    // actix-web takes any `usize`.
    numeric("APP_BODY_LIMIT_BYTES", 1, u64::MAX),
    numeric("APP_SHUTDOWN_TIMEOUT_MS", 1, TEN_YEARS_S * 1_000),
{%- endif %}
{%- if worker %}
    numeric("WORKER_INTERVAL_MS", 1, TEN_YEARS_S * 1_000),
    // tokio's `Semaphore::MAX_PERMITS`.
    numeric("WORKER_CONCURRENCY", 1, 2_305_843_009_213_693_951),
    numeric("WORKER_SHUTDOWN_TIMEOUT_MS", 1, TEN_YEARS_S * 1_000),
    numeric("METRICS_PORT", 0, 65_535),
{%- endif %}
{%- if cache %}
    numeric("CACHE_DEFAULT_TTL", 1, TEN_YEARS_S),
    numeric("CACHE_PERSISTENT_TTL", 1, TEN_YEARS_S),
    numeric("CACHE_MEMORY_MAX_CAPACITY", 1, u64::MAX),
{%- endif %}
{%- if redis %}
    numeric("CACHE_PERSISTENT_L1_CAPACITY", 0, u64::MAX),
    // mini-moka panics on a time-to-live past 1000 years.
    numeric("CACHE_PERSISTENT_L1_TTL", 1, TEN_YEARS_S),
    // The most a compressed value decompresses to (16 MiB).
    numeric("CACHE_COMPRESS_MIN_BYTES", 0, 16_777_216),
    numeric("CACHE_REDIS_PORT", 1, 65_535),
    // Redis caps `databases` at INT_MAX.
    numeric("CACHE_REDIS_DB", 0, 2_147_483_646),
    numeric("CACHE_REDIS_TIMEOUT_MS", 1, TEN_YEARS_S * 1_000),
{%- endif %}
];

/// What every run sets besides the variable under test{% if redis %}: a Redis host, so that the
/// persistent alias builds its L1 and Redis client (nothing connects in `config check`){% endif %}.
{%- if redis %}
const BASE: &[(&str, &str)] = &[("CACHE_REDIS_HOST", "127.0.0.1")];
{%- else %}
const BASE: &[(&str, &str)] = &[];
{%- endif %}

impl Numeric {
    /// Values outside the range: below and above it, negative, and past `u64`.
    fn refused(&self) -> Vec<String> {
        let mut values = vec!["-1".to_owned(), "18446744073709551616".to_owned()];
        values.extend(self.min.checked_sub(1).map(|below| below.to_string()));
        values.extend(self.max.checked_add(1).map(|above| above.to_string()));
        for huge in [i64::MAX.unsigned_abs(), u64::MAX] {
            if huge > self.max {
                values.push(huge.to_string());
            }
        }
        values
    }

    /// The range as the error states it.
    fn range(&self) -> String {
        format!("from {} to {}", self.min, self.max)
    }
}

/// `vars` over [`BASE`], `vars` winning.
fn with_base<'a>(vars: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = BASE
        .iter()
        .copied()
        .filter(|(name, _)| vars.iter().all(|(set, _)| set != name))
        .collect();
    all.extend_from_slice(vars);
    all
}

#[test]
fn config_check_accepts_both_bounds_of_every_numeric_setting() {
    for setting in NUMERIC {
        for value in [setting.min, setting.max] {
            let value = value.to_string();
            let output = run(&["config", "check"], &with_base(&[(setting.name, &value)]));
            assert_exit(&output, 0);
            assert!(
                stdout(&output).contains(&format!("\n{}={value}\n", setting.name)),
                "{}={value} is not in effect:\n{}",
                setting.name,
                stdout(&output)
            );
        }
    }
}

#[test]
fn config_check_refuses_every_numeric_setting_beyond_its_range_in_one_line() {
    for setting in NUMERIC {
        for value in setting.refused() {
            let output = run(&["config", "check"], &with_base(&[(setting.name, &value)]));
            assert_exit(&output, 78);
            let errors = stderr(&output);
            assert_eq!(
                errors.lines().count(),
                1,
                "{}={value}:\n{errors}",
                setting.name
            );
            assert!(
                errors.contains(&format!("{}={value:?}", setting.name))
                    && errors.contains(&setting.range()),
                "{}={value} should be refused naming the range {}:\n{errors}",
                setting.name,
                setting.range()
            );
        }
    }
}
{%- if cache %}

#[test]
fn config_check_refuses_a_prefix_that_could_nest_in_or_match_another() {
    // `shop:v1:x:v1:key` would be under `shop:v1:`, the keys of the service `shop`.
    for prefix in ["shop:v1:x", "shop*", "{shop}"] {
        let output = run(&["config", "check"], &[("CACHE_PREFIX", prefix)]);
        assert_exit(&output, 78);
        let errors = stderr(&output);
        assert_eq!(errors.lines().count(), 1, "{errors}");
        assert!(
            errors.contains(&format!("CACHE_PREFIX={prefix:?}"))
                && errors.contains("no ':'")
                && errors.contains("e.g. shop"),
            "{errors}"
        );
    }
    let output = run(&["config", "check"], &[("CACHE_PREFIX", "shop-v1.x_2")]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("\nCACHE_PREFIX=shop-v1.x_2\n"));
}
{%- endif %}
{%- if web %}

#[test]
fn the_web_server_refuses_what_config_check_refuses_and_runs_at_every_maximum() {
    // Refused before anything starts, by the same check.
{%- if redis %}
    assert_refused_at_start(&["web"], "CACHE_PERSISTENT_L1_TTL", "99999999999");
{%- endif %}
    assert_refused_at_start(&["web"], "APP_SHUTDOWN_TIMEOUT_MS", "18446744073709551615");

    // Every setting at its maximum at once: the server starts, answers and stops.
{%- if redis %}
    let server = RedisServer::start();
    let url = server.url();
{%- endif %}
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let maxima: Vec<(&str, String)> = NUMERIC
        .iter()
        // A real server has 16 databases; the ports are chosen below.
        .filter(|setting| !setting.name.ends_with("_PORT") && setting.name != "CACHE_REDIS_DB")
        .map(|setting| (setting.name, setting.max.to_string()))
        .collect();
    let mut vars: Vec<(&str, &str)> = maxima
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    vars.extend([("APP_HOST", "127.0.0.1"), ("APP_PORT", port.as_str())]);
{%- if redis %}
    vars.push(("CACHE_REDIS_URL", url.as_str()));
{%- endif %}
    let mut web = Process::start(&["web"], &vars);
    web.wait_for_line(|line| line.contains("listening on"));
    let probe = run(&["healthcheck", "--ready"], &vars);
    assert_exit(&probe, 0);
    web.signal("TERM");
    let status = web.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", web.log());
    assert!(!web.log().contains("panicked"), "{}", web.log());
}
{%- endif %}
{%- if worker %}

#[test]
fn the_worker_refuses_what_config_check_refuses_and_runs_at_every_maximum() {
    assert_refused_at_start(&["worker"], "WORKER_INTERVAL_MS", "18446744073709551615");

    // The first run is at once, whatever the interval; stopping does not wait for the next.
    let maxima: Vec<(&str, String)> = NUMERIC
        .iter()
        .filter(|setting| setting.name.starts_with("WORKER_"))
        .map(|setting| (setting.name, setting.max.to_string()))
        .collect();
    let vars: Vec<(&str, &str)> = maxima
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let mut worker = Process::start(&["worker"], &vars);
    worker.wait_for_lines(|line| line.contains("job finished"), 1);
    worker.signal("TERM");
    let status = worker.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", worker.log());
    assert!(!worker.log().contains("panicked"), "{}", worker.log());
}
{%- endif %}
{%- if web or worker %}

/// Starts the long-running mode `args` with `name=value` and expects exit code 78 and one
/// line naming the variable. A process (not `run`), so that a mode that starts anyway
/// fails the test instead of running forever.
fn assert_refused_at_start(args: &[&str], name: &str, value: &str) {
    let mut process = Process::start(args, &with_base(&[(name, value)]));
    let status = process.wait_for_exit();
    let log = process.log();
    assert_eq!(status.code(), Some(78), "{name}={value}:\n{log}");
    assert_eq!(log.lines().count(), 1, "{name}={value}:\n{log}");
    assert!(log.contains(name), "{log}");
}
{%- endif %}
