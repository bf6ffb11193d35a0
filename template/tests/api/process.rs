//! The built binary as a real process, for every test that runs it: one-shot commands
//! with `run`, long-running modes with `Process`.
//!
//! The process sees only the variables a test gives it (plus `PATH`) and runs from the
//! system's temporary directory, so neither the test's environment nor a developer's
//! `.env` can leak in.
{% if web or worker %}
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for a log line or an exit before it fails.
const PATIENCE: Duration = Duration::from_secs(20);
{%- else %}
use std::process::Command;
{%- endif %}

/// The service's binary, as cargo built it for these tests.
#[rustfmt::skip] // One line whatever the length of the project's name.
pub const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");

/// The binary with `args`, only `vars` in its environment, from a neutral directory.
{%- if database != "none" %}
/// Without a `DATABASE_URL` in `vars`, the process gets a fresh database of its own
/// (never removed by the call: the process may outlive it).
{%- endif %}
pub fn command(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
{%- if worker %}
    // Any free port for the worker's metrics listener, so workers can run side by side.
    command.env("METRICS_PORT", "0");
{%- endif %}
{%- if database != "none" %}
    if !vars.iter().any(|(name, _)| *name == "DATABASE_URL") {
        let database = crate::test_database::TestDatabase::new();
        command.env("DATABASE_URL", database.url());
        std::mem::forget(database);
    }
{%- endif %}
    command
        .envs(vars.iter().copied())
        .current_dir(std::env::temp_dir());
    command
}

{%- if cli %}

/// Runs a one-shot command to the end.
pub fn run(args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    command(args, vars).output().expect("run the binary")
}

/// A finished command's standard output, as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A finished command's standard error, as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code, with both streams in the message when it is not `expected`.
#[track_caller]
pub fn assert_exit(output: &std::process::Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}
{%- endif %}
{%- if web or worker %}

/// A long-running mode whose stderr is read line by line while it runs. Killed by pid
/// if a test ends without stopping it.
pub struct Process {
    child: Child,
    /// The thread reading stderr; it ends when the process closes stderr.
    reader: Option<JoinHandle<()>>,
    /// Every stderr line, as it arrives.
    lines: mpsc::Receiver<String>,
    /// The lines read so far.
    seen: Vec<String>,
}

impl Process {
    /// Starts the binary with `args` and `vars`.
    pub fn start(args: &[&str], vars: &[(&str, &str)]) -> Self {
        Self::spawn(command(args, vars))
    }

    /// Starts `command` (the binary, or a shell that execs it), reading its stderr.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            reader: Some(reader),
            lines,
            seen: Vec::new(),
        }
    }
{%- if worker or database == "none" %}

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
{%- endif %}

    /// Everything written to stderr so far.
    pub fn log(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }

{%- if web %}

    /// Waits for a stderr line matching `wanted` (seen before or arriving now) and
    /// returns it.
    pub fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        self.wait_for_lines(&wanted, 1);
        self.seen
            .iter()
            .find(|line| wanted(line))
            .cloned()
            .expect("a matching line was seen")
    }
{%- endif %}

    /// Waits until `count` stderr lines match `wanted`.
    pub fn wait_for_lines(&mut self, wanted: impl Fn(&str) -> bool, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.seen.iter().filter(|line| wanted(line)).count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "expected {count} matching log lines within {PATIENCE:?}; stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

{%- if worker and redis %}

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the process").is_none()
    }
{%- endif %}

    /// Sends `signal` (`TERM`, `INT`) to the process by its pid.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit, so that a hang fails the test; afterwards
    /// [`Process::log`] holds every line it wrote.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the process") {
                // The reader ends at the end of stderr, so no last line is missed.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {PATIENCE:?}; stderr:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Only reached with the process still running when a test failed half-way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
{%- endif %}
