//! Generated projects that must build, lint and pass their own tests.
//!
//! Six combinations get every step (`cargo build`, `cargo clippy --all-targets -- -D
//! warnings`, `cargo fmt --check`, `cargo test`): everything on (PostgreSQL), the quick
//! start's defaults (SQLite), the worker alone, the CLI alone, and web with the cache
//! without Redis (SQLite) and without the cache or a database. Every other valid
//! combination of the options that change Rust code, every database included, gets
//! clippy (which type-checks every target) and rustfmt; the Docker and CI options change
//! no Rust, so they are varied along instead of multiplying the builds.
//!
//! Every checked project must build without a warning and resolve only versions the
//! shipped lock holds ([`lock::drift`]).

use crate::cargo::{self, Step};
use crate::combinations::{self, Combination};
use crate::options::{self, Value};
use crate::{generate, lock, postgres};

/// The Rust-relevant answers of a combination ([`Combination::rust_key`]).
type RustKey = Vec<(String, Value)>;

/// The combinations that get every step.
fn fully_checked() -> Vec<Combination> {
    let only = |entrypoint: &str| {
        combinations::ENTRYPOINTS
            .iter()
            .fold(Combination::defaults(), |combination, other| {
                combination.with(other, *other == entrypoint)
            })
    };
    vec![
        Combination::everything_on(),
        Combination::defaults(),
        only("worker"),
        only("cli"),
        only("web").with("cache", true).with("redis", false),
        only("web").with("cache", false).with("database", "none"),
    ]
}

/// The valid combinations grouped by the crate they generate (their [`RustKey`]), in
/// matrix order, without the crates of [`fully_checked`]: what gets clippy and rustfmt.
fn other_crates() -> Vec<(RustKey, Vec<Combination>)> {
    let full: Vec<_> = fully_checked().iter().map(Combination::rust_key).collect();
    let mut groups: Vec<(RustKey, Vec<Combination>)> = Vec::new();
    for combination in combinations::valid() {
        let key = combination.rust_key();
        if full.contains(&key) {
            continue;
        }
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push(combination),
            None => groups.push((key, vec![combination])),
        }
    }
    groups
}

/// Generates `combination` and runs `steps` in order; the first failure ends it.
fn check(combination: &Combination, steps: &[Step]) -> Result<(), String> {
    let mut project = generate::combination(combination)
        .map_err(|failed| format!("{combination}: generation failed: {failed}"))?;
    for step in steps {
        if *step == Step::Test && combination.is_on("redis") {
            redis_server_is_installed()?;
        }
        if *step == Step::Test && combination.is("database", "postgres") {
            postgres::binaries()?;
        }
        let outcome =
            cargo::run(&combination.label(), &project.path, *step).and_then(
                |output| match warnings(&output) {
                    found if *step == Step::Build && !found.is_empty() => Err(format!(
                        "combination {combination}: `cargo build` printed warnings:\n{}",
                        found.join("\n")
                    )),
                    _ => Ok(()),
                },
            );
        if let Err(failure) = outcome {
            let kept = project.keep();
            return Err(format!("{failure}\n(project kept in {})", kept.display()));
        }
    }
    // The first cargo step settled the shipped lock to this combination's dependencies.
    let drift = lock::drift(&project.path);
    if !drift.is_empty() {
        let kept = project.keep();
        return Err(format!(
            "combination {combination}: builds with versions the shipped lock does not hold:\n  {}\n{}\n(project kept in {})",
            drift.join("\n  "),
            lock::fix(),
            kept.display()
        ));
    }
    Ok(())
}

/// The `warning:` lines of cargo's output: a fresh build of a generated project has none.
fn warnings(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|line| line.trim_start().starts_with("warning:"))
        .collect()
}

fn redis_server_is_installed() -> Result<(), String> {
    match std::process::Command::new("redis-server")
        .arg("--version")
        .output()
    {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err(
            "redis-server is not installed; the generated tests need it: \
                  run ci/test (it installs it) or apt-get install redis-server"
                .to_owned(),
        ),
    }
}

fn full(index: usize) {
    let combination = &fully_checked()[index];
    if let Err(failure) = check(
        combination,
        &[Step::Build, Step::Clippy, Step::Fmt, Step::Test],
    ) {
        panic!("{failure}");
    }
}

#[test]
fn everything_on_builds_lints_and_passes_its_tests() {
    full(0);
}

#[test]
fn quick_start_defaults_build_lint_and_pass_their_tests() {
    full(1);
}

#[test]
fn worker_only_builds_lints_and_passes_its_tests() {
    full(2);
}

#[test]
fn cli_only_builds_lints_and_passes_its_tests() {
    full(3);
}

#[test]
fn web_with_cache_without_redis_builds_lints_and_passes_its_tests() {
    full(4);
}

#[test]
fn web_without_cache_or_database_builds_lints_and_passes_its_tests() {
    full(5);
}

#[test]
fn every_other_combination_is_clippy_and_rustfmt_clean() {
    let others = other_crates();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (key, group) in &others {
        // A different Docker/CI variant for each crate, so those files vary along.
        let combination = &group[checked % group.len()];
        debug_assert_eq!(&combination.rust_key(), key);
        checked += 1;
        if let Err(failure) = check(combination, &[Step::Clippy, Step::Fmt]) {
            failures.push(failure);
        }
    }
    cargo::progress(&format!(
        "clippy + rustfmt: {} of {checked} other combinations clean",
        checked - failures.len()
    ));
    assert!(
        checked > 0,
        "no combination left to lint: the matrix is wrong"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_other_crates_hold_every_value_of_every_rust_option() {
    let others = other_crates();
    // Each value of each option that changes Rust code, every database included.
    for option in options::all() {
        if combinations::NON_RUST.contains(&option.name.as_str()) {
            continue;
        }
        for value in option.values() {
            assert!(
                others
                    .iter()
                    .any(|(_, group)| group[0].value(&option.name).as_ref() == Some(&value)),
                "no other combination has {}={value}",
                option.name
            );
        }
    }
    cargo::progress(&format!(
        "{} other crates get clippy and rustfmt",
        others.len()
    ));
}

#[test]
fn the_fully_checked_combinations_are_valid_and_distinct() {
    let combinations = fully_checked();
    let mut keys: Vec<_> = combinations.iter().map(Combination::rust_key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        combinations.len(),
        "two full checks build the same crate"
    );
    assert!(combinations.iter().all(Combination::is_valid));
    // The quick start is what a user runs first; every database gets a full check.
    assert!(combinations.contains(&Combination::defaults()));
    for choice in options::get("database").values() {
        assert!(
            combinations
                .iter()
                .any(|c| c.value("database").as_ref() == Some(&choice)),
            "no fully checked combination has database={choice}"
        );
    }
}
