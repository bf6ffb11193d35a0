//! `cache exists|incr|add|take|ttl|expire|get-many`, `set KEY -` (the value on standard
//! input), tags (`set --tag`, `invalidate-tag`) and `clear --all-versions` as real
//! processes{% if redis %} against a real `redis-server`{% endif %}: what a
//! script relies on is stdout, stderr and the exit code (0 done, 1 absent or not stored,
//! 2 invalid input, 69 backend failure, as for `cache get`).

use std::io::Write as _;
{% if redis -%}
use std::process::Output;
{% endif -%}
use std::process::Stdio;
{%- if redis %}

use service_cache::test_support::RedisServer;
{%- endif %}

use crate::process::{assert_exit, command, run, stderr, stdout};

/// Runs `args` with `input` on its standard input.
fn run_with_input(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = command(args, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the service's CLI");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(input)
        .expect("write the input");
    child.wait_with_output().expect("the CLI ends")
}

#[test]
fn set_reads_a_value_beyond_the_argument_limit_from_standard_input() {
    // Past the kernel's 128 KiB per argument, which `cache set KEY JSON` cannot pass.
    let big = format!("\"{}\"", "x".repeat(200 * 1024));
    let output = run_with_input(&["cache", "set", "big", "-"], big.as_bytes());
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("stored \"big\""),
        "{}",
        stdout(&output)
    );

    let output = run_with_input(&["cache", "set", "bad", "-"], b"{oops");
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("not valid JSON"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn disabled_caches_answer_each_command_with_its_documented_code() {
    let off = [("CACHE_ENABLED", "false")];
    let output = run(&["cache", "exists", "k"], &off);
    assert_exit(&output, 1);
    let output = run(&["cache", "take", "k"], &off);
    assert_exit(&output, 1);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    let output = run(&["cache", "add", "k", "1"], &off);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("not stored"),
        "{}",
        stderr(&output)
    );
    let output = run(&["cache", "incr", "k", "--by", "4"], &off);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "4\n");
    assert!(
        stderr(&output).contains("CACHE_ENABLED=false"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn add_refuses_invalid_json_before_touching_the_cache() {
    let output = run(&["cache", "add", "k", "{oops"], &[]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("not valid JSON"),
        "{}",
        stderr(&output)
    );
}
{%- if redis %}

/// Runs `args` with the persistent alias on `server`, under the prefix `ops`.
fn run_on(server: &RedisServer, args: &[&str]) -> Output {
    let url = server.url();
    run(
        args,
        &[("CACHE_REDIS_URL", url.as_str()), ("CACHE_PREFIX", "ops")],
    )
}

#[test]
fn ttl_expire_and_get_many_work_across_processes() {
    let server = RedisServer::start();
    let p = ["--alias", "persistent"];
    for (key, value) in [("a", "1"), ("c", "{\"n\":3}")] {
        let output = run_on(
            &server,
            &[&["cache", "set", key, value, "--ttl", "60"][..], &p].concat(),
        );
        assert_exit(&output, 0);
    }
    let output = run_on(
        &server,
        &[&["cache", "get-many", "c", "b", "a"][..], &p].concat(),
    );
    assert_exit(&output, 1);
    assert_eq!(stdout(&output), "{\"c\":{\"n\":3},\"b\":null,\"a\":1}\n");
    let output = run_on(
        &server,
        &[&["cache", "get-many", "a", "c"][..], &p].concat(),
    );
    assert_exit(&output, 0);

    let output = run_on(&server, &[&["cache", "ttl", "a"][..], &p].concat());
    assert_exit(&output, 0);
    let left: f64 = stdout(&output).trim().parse().expect("seconds");
    assert!(left > 50.0 && left <= 60.0, "{left}");
    let output = run_on(
        &server,
        &[&["cache", "expire", "a", "3600"][..], &p].concat(),
    );
    assert_exit(&output, 0);
    let output = run_on(&server, &[&["cache", "ttl", "a"][..], &p].concat());
    let left: f64 = stdout(&output).trim().parse().expect("seconds");
    assert!(left > 3500.0, "{left}");
    for args in [
        ["cache", "ttl", "b"].as_slice(),
        &["cache", "expire", "b", "5"],
    ] {
        let output = run_on(&server, &[args, &p].concat());
        assert_exit(&output, 1);
        assert!(stderr(&output).contains("miss"), "{}", stderr(&output));
    }
}

#[test]
fn tags_and_versions_work_across_processes() {
    let server = RedisServer::start();
    let p = ["--alias", "persistent"];
    for (key, tag) in [
        ("pet:1", "owner:7"),
        ("pet:2", "owner:7"),
        ("pet:3", "owner:8"),
    ] {
        let output = run_on(
            &server,
            &[
                &["cache", "set", key, "1", "--tag", tag, "--tag", "pets"][..],
                &p,
            ]
            .concat(),
        );
        assert_exit(&output, 0);
        assert!(stdout(&output).contains("tagged"), "{}", stdout(&output));
    }
    let output = run_on(
        &server,
        &[&["cache", "invalidate-tag", "owner:7"][..], &p].concat(),
    );
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output),
        "deleted 2 keys tagged \"owner:7\" from the persistent cache\n"
    );
    for (key, code) in [("pet:1", 1), ("pet:2", 1), ("pet:3", 0)] {
        assert_exit(
            &run_on(&server, &[&["cache", "exists", key][..], &p].concat()),
            code,
        );
    }

    // Version 2 does not see version 1's entries; its clear leaves them, --all-versions not.
    let url = server.url();
    let v2 = |args: &[&str]| {
        run(
            &[args, &p].concat(),
            &[
                ("CACHE_REDIS_URL", url.as_str()),
                ("CACHE_PREFIX", "ops"),
                ("CACHE_VERSION", "2"),
            ],
        )
    };
    assert_exit(&v2(&["cache", "exists", "pet:3"]), 1);
    assert_exit(&v2(&["cache", "set", "pet:3", "2"]), 0);
    let output = v2(&["cache", "clear"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "cleared 1 key from the persistent cache\n");
    assert_exit(
        &run_on(&server, &[&["cache", "exists", "pet:3"][..], &p].concat()),
        0,
    );
    let output = v2(&["cache", "clear", "--all-versions"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("every CACHE_VERSION"),
        "{}",
        stdout(&output)
    );
    assert_exit(
        &run_on(&server, &[&["cache", "exists", "pet:3"][..], &p].concat()),
        1,
    );
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("ops:*")
        .query(&mut server.client())
        .unwrap();
    assert!(left.is_empty(), "{left:?}");

    let output = run_on(
        &server,
        &["cache", "clear", "--all-versions", "--alias", "nope"],
    );
    assert_exit(&output, 2);
}

#[test]
fn counters_add_and_take_work_across_processes() {
    let server = RedisServer::start();
    let p = ["--alias", "persistent"];

    let output = run_on(&server, &[&["cache", "exists", "hits"][..], &p].concat());
    assert_exit(&output, 1);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));

    let output = run_on(
        &server,
        &[&["cache", "incr", "hits", "--ttl", "60"][..], &p].concat(),
    );
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "1\n");
    let output = run_on(
        &server,
        &[&["cache", "incr", "hits", "--by", "-3"][..], &p].concat(),
    );
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "-2\n");
    let ttl: i64 = redis::cmd("PTTL")
        .arg("ops:v1:hits")
        .query(&mut server.client())
        .unwrap();
    assert!((1..=60_000).contains(&ttl), "the first --ttl stays: {ttl}");

    let output = run_on(&server, &[&["cache", "exists", "hits"][..], &p].concat());
    assert_exit(&output, 0);

    let output = run_on(
        &server,
        &[&["cache", "add", "lock", "\"a\""][..], &p].concat(),
    );
    assert_exit(&output, 0);
    let output = run_on(
        &server,
        &[&["cache", "add", "lock", "\"b\""][..], &p].concat(),
    );
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("already holds"),
        "{}",
        stderr(&output)
    );

    let output = run_on(&server, &[&["cache", "take", "lock"][..], &p].concat());
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "\"a\"\n");
    let output = run_on(&server, &[&["cache", "take", "lock"][..], &p].concat());
    assert_exit(&output, 1);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));

    let output = run_on(
        &server,
        &[&["cache", "set", "name", "\"Ada\""][..], &p].concat(),
    );
    assert_exit(&output, 0);
    let output = run_on(&server, &[&["cache", "incr", "name"][..], &p].concat());
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("not a counter"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn get_and_take_print_a_compressed_value_as_json() {
    let server = RedisServer::start();
    let url = server.url();
    let vars = [
        ("CACHE_REDIS_URL", url.as_str()),
        ("CACHE_PREFIX", "ops"),
        ("CACHE_COMPRESS_MIN_BYTES", "64"),
    ];
    let value =
        serde_json::json!({ "rows": vec!["the same row, again and again"; 50] }).to_string();
    let output = run(
        &["cache", "set", "big", &value, "--alias", "persistent"],
        &vars,
    );
    assert_exit(&output, 0);
    let stored: Vec<u8> = redis::cmd("GET")
        .arg("ops:v1:big")
        .query(&mut server.client())
        .unwrap();
    assert!(stored.starts_with(b"\0lz4"), "stored compressed");

    let output = run(&["cache", "get", "big", "--alias", "persistent"], &vars);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{value}\n"));
    let output = run(&["cache", "take", "big", "--alias", "persistent"], &vars);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{value}\n"));
}

#[test]
fn a_failing_backend_is_69_for_every_command() {
    let mut server = RedisServer::start();
    server.stop();
    for args in [
        &["cache", "exists", "k"][..],
        &["cache", "incr", "k"],
        &["cache", "add", "k", "1"],
        &["cache", "take", "k"],
    ] {
        let output = run_on(&server, &[args, &["--alias", "persistent"]].concat());
        assert_exit(&output, 69);
        assert!(stdout(&output).is_empty(), "{}", stdout(&output));
        assert!(stderr(&output).contains("refused"), "{}", stderr(&output));
    }
}
{%- endif %}
