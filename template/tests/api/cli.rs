//! The management commands as real processes: the built binary, run with a controlled
//! environment from a directory without a `.env`{% if redis %}, against a real `redis-server`{% endif %}.
//! Each test checks what a script would rely on: stdout, stderr and the exit code.

use std::process::Output;
{%- if redis %}
use std::time::{Duration, Instant};

use service_cache::test_support::RedisServer;
{%- endif %}

use crate::process::{assert_exit, command, run as run_cli, stderr, stdout};

/// One rejected value per settings group. (The comments also keep the list one entry
/// per line in every generated variant, which rustfmt needs.)
const INVALID: &[(&str, &str)] = &[
    // Only pretty or json.
    ("LOG_FORMAT", "xml"),
{%- if web %}
    // Not a number.
    ("APP_PORT", "http"),
{%- endif %}
{%- if worker %}
    // At least one.
    ("WORKER_CONCURRENCY", "0"),
{%- endif %}
{%- if cache %}
    // Whole seconds.
    ("CACHE_DEFAULT_TTL", "soon"),
{%- endif %}
];

#[test]
fn config_check_names_every_invalid_variable() {
    let output = run_cli(&["config", "check"], INVALID);
    assert_exit(&output, 78);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    let errors = stderr(&output);
    for (name, _) in INVALID {
        assert!(errors.contains(name), "{name} is not named in:\n{errors}");
    }
}

#[test]
fn config_check_prints_the_effective_settings() {
    let changed = [
        // Default: pretty.
        ("LOG_FORMAT", "json"),
{%- if cache %}
        // Default: the package name.
        ("CACHE_PREFIX", "checked-service"),
{%- endif %}
    ];
    let output = run_cli(&["config", "check"], &changed);
    assert_exit(&output, 0);
    let settings = stdout(&output);
    for (name, value) in changed {
        assert!(
            settings.contains(&format!("\n{name}={value}\n")),
            "{settings}"
        );
    }
{%- if cache %}
    assert!(settings.contains("\nCACHE_DEFAULT_TTL=300\n"), "{settings}");
{%- endif %}
}
{%- if redis %}

#[test]
fn config_check_never_prints_the_redis_password() {
    let output = run_cli(
        &["config", "check"],
        &[
            ("CACHE_REDIS_HOST", "cache.internal"),
            ("CACHE_REDIS_PASSWORD", "hunter2-do-not-print"),
        ],
    );
    assert_exit(&output, 0);
    let (settings, errors) = (stdout(&output), stderr(&output));
    assert!(
        !settings.contains("hunter2") && !errors.contains("hunter2"),
        "{settings}{errors}"
    );
    for line in [
        "CACHE_REDIS_HOST=cache.internal",
        "CACHE_REDIS_PASSWORD=[redacted]",
    ] {
        assert!(settings.contains(&format!("\n{line}\n")), "{settings}");
    }

    // An invalid URL is reported without echoing it, since it may hold the password.
    let output = run_cli(
        &["config", "check"],
        &[("CACHE_REDIS_URL", "http://:hunter2@cache")],
    );
    assert_exit(&output, 78);
    assert!(
        stderr(&output).contains("CACHE_REDIS_URL"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
}
{%- endif %}

/// A fresh directory for one test, holding `.env` with `content` (and `sub/`).
fn dir_with_dotenv(test: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dotenv-{}-{test}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join(".env"), content).unwrap();
    dir
}

/// Runs the binary with `args` and `vars` from `dir`.
fn run_in(dir: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    command(args, vars)
        .current_dir(dir)
        .output()
        .expect("run the binary")
}

#[test]
fn a_broken_dotenv_names_its_line_never_its_content_and_help_still_works() {
    let dir = dir_with_dotenv(
        "broken",
        "# settings\nLOG_FORMAT=pretty\nSECRET_TOKEN=\"hunter2\nRUST_LOG=info\n",
    );
    let output = run_in(&dir, &["config", "check"], &[]);
    assert_exit(&output, 78);
    let errors = stderr(&output);
    assert!(errors.contains(".env line 3"), "{errors}");
    assert!(!errors.contains("hunter2"), "{errors}");
    assert_eq!(errors.lines().count(), 1, "{errors}");

    let output = run_in(&dir, &["config", "check"], &[("LOG_FORMAT", "json")]);
    assert_exit(&output, 78);
    let line: serde_json::Value = serde_json::from_str(stderr(&output).trim()).expect("JSON");
    assert_eq!(line["level"], "ERROR");

    for flag in ["--help", "--version"] {
        assert_exit(&run_in(&dir, &[flag], &[]), 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_the_working_directorys_dotenv_is_read_and_the_environment_wins_unless_empty() {
    let dir = dir_with_dotenv("layers", "LOG_FORMAT=json\n");
    let effective = |dir: &std::path::Path, vars: &[(&str, &str)]| {
        let output = run_in(dir, &["config", "check"], vars);
        assert_exit(&output, 0);
        stdout(&output)
    };
    assert!(effective(&dir, &[]).contains("\nLOG_FORMAT=json\n"));
    // A parent's .env is not read.
    assert!(effective(&dir.join("sub"), &[]).contains("\nLOG_FORMAT=pretty\n"));
    // A real variable wins over .env, an empty one does not hide it.
    assert!(effective(&dir, &[("LOG_FORMAT", "pretty")]).contains("\nLOG_FORMAT=pretty\n"));
    assert!(effective(&dir, &[("LOG_FORMAT", "")]).contains("\nLOG_FORMAT=json\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_check_refuses_a_log_filter_that_would_silence_everything() {
    for (filter, fix) in [("warning", "`warn`"), ("nonsense", "`info`")] {
        let output = run_cli(&["config", "check"], &[("RUST_LOG", filter)]);
        assert_exit(&output, 78);
        let errors = stderr(&output);
        assert_eq!(errors.lines().count(), 1, "{errors}");
        assert!(
            errors.contains("RUST_LOG") && errors.contains(fix),
            "{errors}"
        );
    }
}

#[test]
fn with_json_logs_configuration_errors_are_json_lines() {
    let output = run_cli(
        &["config", "check"],
        &[("LOG_FORMAT", "json"), ("RUST_LOG", "nonsense")],
    );
    assert_exit(&output, 78);
    let errors = stderr(&output);
    for line in errors.lines() {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|m| m.contains("RUST_LOG")),
            "{line}"
        );
    }
}
{%- if web %}

#[test]
fn config_check_refuses_a_host_that_cannot_be_bound() {
    for host in ["999.1.1.1", "not_a_host"] {
        let output = run_cli(&["config", "check"], &[("APP_HOST", host)]);
        assert_exit(&output, 78);
        let errors = stderr(&output);
        assert_eq!(errors.lines().count(), 1, "{errors}");
        assert!(errors.contains("APP_HOST"), "{errors}");
    }
    assert_exit(
        &run_cli(&["config", "check"], &[("APP_HOST", "0.0.0.0")]),
        0,
    );
}

#[test]
fn healthcheck_exits_0_for_a_healthy_server_and_1_otherwise() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let vars = [("APP_HOST", "127.0.0.1"), ("APP_PORT", port.as_str())];
    // Nothing listens yet.
    let output = run_cli(&["healthcheck"], &vars);
    assert_exit(&output, 1);
    assert!(stderr(&output).contains(&port), "{}", stderr(&output));

    let mut server = crate::process::Process::start(&["web"], &vars);
    server.wait_for_line(|line| line.contains("listening on"));
    assert_exit(&run_cli(&["healthcheck"], &vars), 0);
    assert_exit(&run_cli(&["healthcheck", "--ready"], &vars), 0);
    // The image binds 0.0.0.0; the probe then asks loopback.
    assert_exit(
        &run_cli(
            &["healthcheck"],
            &[("APP_HOST", "0.0.0.0"), ("APP_PORT", &port)],
        ),
        0,
    );
    server.signal("TERM");
    assert!(server.wait_for_exit().success(), "{}", server.log());
}
{%- endif %}
{%- if web and redis %}

#[test]
fn healthcheck_ready_fails_while_a_dependency_is_down() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let dead = format!(
        "redis://127.0.0.1:{}",
        service_cache::test_support::free_port()
    );
    let vars = [
        ("APP_HOST", "127.0.0.1"),
        ("APP_PORT", port.as_str()),
        ("CACHE_REDIS_URL", dead.as_str()),
    ];
    let mut server = crate::process::Process::start(&["web"], &vars);
    server.wait_for_line(|line| line.contains("listening on"));
    assert_exit(&run_cli(&["healthcheck"], &vars), 0);
    let output = run_cli(&["healthcheck", "--ready"], &vars);
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("503"), "{}", stderr(&output));
    server.signal("TERM");
    server.wait_for_exit();
}
{%- endif %}
{%- if cache %}

#[test]
fn set_says_one_true_thing_about_the_ttl_and_takes_negative_numbers() {
    let output = run_cli(&["cache", "set", "n", "-1"], &[]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("stored \"n\""),
        "{}",
        stdout(&output)
    );

    let output = run_cli(&["cache", "set", "x", "1", "--ttl", "1e12"], &[]);
    assert_exit(&output, 0);
    let printed = stdout(&output);
    assert!(printed.contains("for 315360000s"), "{printed}");
    assert!(!printed.contains("1000000000000"), "{printed}");

    let output = run_cli(&["cache", "set", "x", "1"], &[("CACHE_ENABLED", "false")]);
    assert_exit(&output, 0);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    let said = stderr(&output);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("not stored"), "{said}");
}
{%- endif %}
{%- if cache %}

#[test]
fn an_unknown_alias_is_refused_naming_the_valid_ones() {
    let output = run_cli(&["cache", "get", "greeting", "--alias", "disk"], &[]);
    assert_exit(&output, 2);
    let errors = stderr(&output);
    assert!(
        errors.contains("disk") && errors.contains("memory") && errors.contains("persistent"),
        "{errors}"
    );
}

#[test]
fn invalid_json_exits_2_with_a_message() {
    for value in ["{oops", "hello", ""] {
        let output = run_cli(&["cache", "set", "greeting", value], &[]);
        assert_exit(&output, 2);
        assert!(stdout(&output).is_empty(), "{}", stdout(&output));
        assert!(
            stderr(&output).contains("not valid JSON"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn the_memory_alias_starts_empty_in_every_command() {
    let output = run_cli(&["cache", "set", "greeting", "\"hi\""], &[]);
    assert_exit(&output, 0);
    let output = run_cli(&["cache", "get", "greeting"], &[]);
    assert_exit(&output, 1);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}
{%- endif %}
{%- if redis %}

/// The environment pointing the persistent alias at `server`, under a known prefix.
fn on(server: &RedisServer) -> [(&'static str, String); 2] {
    [
        ("CACHE_REDIS_URL", server.url()),
        ("CACHE_PREFIX", "cli-test".to_owned()),
    ]
}

fn run_against(server: &RedisServer, args: &[&str]) -> Output {
    let vars = on(server);
    let vars: Vec<(&str, &str)> = vars
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    run_cli(args, &vars)
}

fn stored(server: &RedisServer, key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut server.client())
        .expect("GET")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{text:?} is not JSON: {error}"))
}

#[test]
fn set_then_get_round_trips_through_redis() {
    let server = RedisServer::start();
    let value = r#"{"text": "hi", "tags": ["a", "b"], "n": 1.5}"#;

    let output = run_against(
        &server,
        &["cache", "set", "greeting", value, "--alias", "persistent"],
    );
    assert_exit(&output, 0);
    let raw =
        stored(&server, "cli-test:v1:greeting").expect("the value is in Redis under the prefix");
    assert_eq!(json(&raw), json(value));

    let output = run_against(
        &server,
        &["cache", "get", "greeting", "--alias", "persistent"],
    );
    assert_exit(&output, 0);
    assert_eq!(json(&stdout(&output)), json(value));
}

#[test]
fn a_miss_prints_nothing_and_exits_1() {
    let server = RedisServer::start();
    let output = run_against(
        &server,
        &["cache", "get", "absent", "--alias", "persistent"],
    );
    assert_exit(&output, 1);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}

#[test]
fn a_value_that_is_not_json_is_a_miss_removed_with_one_warning() {
    let server = RedisServer::start();
    let _: () = redis::cmd("SET")
        .arg("cli-test:v1:k")
        .arg("not json{")
        .query(&mut server.client())
        .unwrap();
    let output = run_against(&server, &["cache", "get", "k", "--alias", "persistent"]);
    assert_exit(&output, 1);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    assert_eq!(
        stored(&server, "cli-test:v1:k"),
        None,
        "the value is removed"
    );
    let errors = stderr(&output);
    let warnings: Vec<&str> = errors
        .lines()
        .filter(|line| line.to_lowercase().contains("warn"))
        .collect();
    assert_eq!(warnings.len(), 1, "{errors}");
    assert!(warnings[0].contains("not JSON"), "{errors}");
}

#[test]
fn invalid_json_stores_nothing() {
    let server = RedisServer::start();
    let output = run_against(
        &server,
        &["cache", "set", "greeting", "{oops", "--alias", "persistent"],
    );
    assert_exit(&output, 2);
    assert_eq!(stored(&server, "cli-test:v1:greeting"), None);
}

#[test]
fn an_entry_is_gone_after_its_ttl() {
    let server = RedisServer::start();
    let output = run_against(
        &server,
        &[
            "cache",
            "set",
            "flash",
            "true",
            "--alias",
            "persistent",
            "--ttl",
            "0.5",
        ],
    );
    assert_exit(&output, 0);
    let pttl: i64 = redis::cmd("PTTL")
        .arg("cli-test:v1:flash")
        .query(&mut server.client())
        .expect("PTTL");
    // -2 means already expired (a slow machine); -1 (no TTL) or more than 500 ms fail.
    assert!(
        pttl == -2 || (1..=500).contains(&pttl),
        "a 0.5 s TTL left {pttl} ms"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let output = run_against(&server, &["cache", "get", "flash", "--alias", "persistent"]);
        if output.status.code() == Some(1) {
            break;
        }
        assert_exit(&output, 0);
        assert!(
            Instant::now() < deadline,
            "the entry outlived its TTL by seconds"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stored(&server, "cli-test:v1:flash"), None);
}

#[test]
fn delete_and_clear_touch_only_this_services_keys() {
    let server = RedisServer::start();
    for key in ["items:1", "items:2", "greeting"] {
        assert_exit(
            &run_against(
                &server,
                &["cache", "set", key, "1", "--alias", "persistent"],
            ),
            0,
        );
    }
    let _: () = redis::cmd("SET")
        .arg("other-service:greeting")
        .arg("1")
        .query(&mut server.client())
        .expect("SET");

    assert_exit(
        &run_against(
            &server,
            &["cache", "delete", "greeting", "--alias", "persistent"],
        ),
        0,
    );
    assert_eq!(stored(&server, "cli-test:v1:greeting"), None);
    assert!(stored(&server, "cli-test:v1:items:1").is_some());

    assert_exit(
        &run_against(
            &server,
            &[
                "cache",
                "delete",
                "items:*",
                "--pattern",
                "--alias",
                "persistent",
            ],
        ),
        0,
    );
    assert_eq!(stored(&server, "cli-test:v1:items:1"), None);
    assert_eq!(stored(&server, "cli-test:v1:items:2"), None);

    assert_exit(
        &run_against(
            &server,
            &["cache", "set", "greeting", "2", "--alias", "persistent"],
        ),
        0,
    );
    assert_exit(
        &run_against(&server, &["cache", "clear", "--alias", "persistent"]),
        0,
    );
    assert_eq!(stored(&server, "cli-test:v1:greeting"), None);
    assert_eq!(
        stored(&server, "other-service:greeting").as_deref(),
        Some("1")
    );
}

#[test]
fn an_unreachable_redis_is_reported_not_mistaken_for_a_miss() {
    let mut server = RedisServer::start();
    let output = run_against(&server, &["cache", "stats"]);
    assert_exit(&output, 0);
    let table = stdout(&output);
    let persistent = table
        .lines()
        .find(|line| line.starts_with("persistent"))
        .unwrap_or_default();
    assert!(
        persistent.contains("redis") && persistent.ends_with("ok"),
        "{table}"
    );

    server.stop();
    let output = run_against(&server, &["cache", "stats"]);
    assert_exit(&output, 69);
    assert!(
        stdout(&output).contains("unreachable"),
        "{}",
        stdout(&output)
    );

    let output = run_against(
        &server,
        &["cache", "get", "greeting", "--alias", "persistent"],
    );
    assert_exit(&output, 69);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    // One clear line: not the server's "will fail fast and retry" warnings too.
    let errors = stderr(&output);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    // It names where Redis was looked for and why it failed.
    let address = format!("127.0.0.1:{}", server.port());
    assert!(
        errors.contains(&address) && errors.contains("refused"),
        "{errors}"
    );
}
{%- endif %}
