//! Runs commands (cargo steps, Dockerfile `RUN` lines) in generated projects, one at a time.
//!
//! Every generated project builds into one shared `CARGO_TARGET_DIR` with
//! `CARGO_PROFILE_DEV_DEBUG=0`, the same two settings as the developers' dev loop, so
//! dependencies compile once for the whole matrix. libtest runs tests on threads, so a
//! process-wide lock keeps commands from fighting over that directory and the two cores.
//! Each command has a timeout; a failure names the combination and the step and ends
//! with the tail of the output (the whole log stays on disk).

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines of output shown in a failure message.
const TAIL_LINES: usize = 120;

/// A cargo step of the full checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Build,
    Clippy,
    Fmt,
    Test,
}

impl Step {
    /// The arguments after `cargo`.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Step::Build => &["build"],
            Step::Clippy => &["clippy", "--all-targets", "--", "-D", "warnings"],
            Step::Fmt => &["fmt", "--check"],
            Step::Test => &["test"],
        }
    }

    /// Generous bounds: the first build of a run compiles every dependency on 2 cores.
    /// Tests get less, so a hanging test cannot eat CI's 90 minutes alone.
    fn timeout(self) -> Duration {
        match self {
            Step::Build | Step::Clippy => Duration::from_secs(30 * 60),
            Step::Test => Duration::from_secs(15 * 60),
            Step::Fmt => Duration::from_secs(2 * 60),
        }
    }
}

/// The target directory every generated project shares: `TEMPLATE_TARGET_DIR`, or the
/// one the dev loop in the README uses.
pub fn target_dir() -> PathBuf {
    std::env::var_os("TEMPLATE_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/actix-service-template/target"))
}

/// Runs `cargo <step>` in `project` for the combination called `combination`.
pub fn run(combination: &str, project: &Path, step: Step) -> Result<String, String> {
    let mut command = Command::new("cargo");
    command.args(step.args());
    let label = format!("cargo {}", step.args().join(" "));
    run_command(combination, &label, command, project, step.timeout())
}

/// Runs `command` in `dir` with the generated projects' environment; returns its output.
pub fn run_command(
    combination: &str,
    label: &str,
    mut command: Command,
    dir: &Path,
    timeout: Duration,
) -> Result<String, String> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let log_path = log_path(combination, label);
    let log = File::create(&log_path)
        .map_err(|error| format!("cannot create {}: {error}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|error| format!("cannot share {}: {error}", log_path.display()))?;
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group, so a timeout ends rustc and test processes too.
        .process_group(0);
    scrub_environment(&mut command);

    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|error| format!("{combination}: cannot start `{label}`: {error}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                kill_group(child.id());
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(error) => return Err(format!("{combination}: waiting for `{label}`: {error}")),
        }
    };
    let elapsed = started.elapsed();
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    progress(&format!(
        "{combination}: {label}: {} in {:.0}s",
        match status {
            Some(status) if status.success() => "ok".to_owned(),
            Some(status) => format!("FAILED ({status})"),
            None => "TIMED OUT".to_owned(),
        },
        elapsed.as_secs_f64()
    ));
    match status {
        Some(status) if status.success() => Ok(output),
        outcome => Err(format!(
            "combination {combination}: `{label}` {} after {:.0}s in {}\n\
             --- last {TAIL_LINES} lines (whole log: {}) ---\n{}",
            match outcome {
                Some(status) => format!("failed ({status})"),
                None => format!("timed out (limit {}s)", timeout.as_secs()),
            },
            elapsed.as_secs_f64(),
            dir.display(),
            log_path.display(),
            tail(&output, TAIL_LINES)
        )),
    }
}

/// One line on the real stderr, past libtest's capture, so a long CI run shows progress.
pub fn progress(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "[matrix] {line}");
}

/// The outer `cargo test` exports `CARGO_*` variables (manifest dir, package name, ...)
/// meant for the harness, not for a nested cargo; only `CARGO_HOME` is the user's.
fn scrub_environment(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if (name.starts_with("CARGO_") || name.starts_with("__CARGO")) && name != "CARGO_HOME" {
            command.env_remove(name.as_ref());
        }
    }
    command
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_TERM_COLOR", "never");
}

fn kill_group(pid: u32) {
    // Ends the group this harness started (the child leads it), by its id.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

fn log_path(combination: &str, label: &str) -> PathBuf {
    let dir = target_dir()
        .parent()
        .map(|parent| parent.join("logs"))
        .unwrap_or_else(|| std::env::temp_dir().join("actix-service-template-logs"));
    let _ = std::fs::create_dir_all(&dir);
    let slug: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(48)
        .collect();
    dir.join(format!("{combination}--{slug}.log"))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn tail_keeps_the_last_lines() {
    assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    assert_eq!(tail("a", 5), "a");
}

#[test]
fn a_failure_names_the_combination_and_step_and_shows_the_output() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new("sh");
    command.args(["-c", "echo compiling; echo 'error: boom' >&2; exit 3"]);
    let failure = run_command(
        "self-test",
        "build",
        command,
        dir.path(),
        Duration::from_secs(60),
    )
    .expect_err("exit 3 is a failure");
    for expected in [
        "combination self-test",
        "`build` failed",
        "compiling",
        "error: boom",
    ] {
        assert!(
            failure.contains(expected),
            "{expected:?} missing in:\n{failure}"
        );
    }
}

#[test]
fn a_command_past_its_timeout_is_ended_and_reported() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new("sh");
    // A grandchild too: the whole process group must go, or `wait` would hang on it.
    command.args(["-c", "echo started; sleep 600 & sleep 600"]);
    let failure = run_command(
        "self-test",
        "hang",
        command,
        dir.path(),
        Duration::from_secs(1),
    )
    .expect_err("a hang is a failure");
    assert!(
        failure.contains("timed out") && failure.contains("started"),
        "{failure}"
    );
}
