//! The generated README's "Growing the service", applied as written to a generated project.
//!
//! The README shows each addition (a setting, a route, a job, a command, a domain and its
//! shared resource) as code blocks whose info string says where the code goes, after the
//! language (GitHub highlights `rust,file=…` as Rust and shows none of the rest):
//!
//! - `` ```rust,file=src/cli/greet.rs ``: the block is that new file, whole;
//! - `` ```rust,line=src/cli/mod.rs,after=pub mod config; `` (or `before=`): the block's
//!   lines go right after (before) the one line of that file that starts, indentation
//!   aside, with everything after `after=`, which may hold spaces and commas (a `~~~`
//!   fence lets it hold backticks too);
//! - `` ```console,run ``: each `$ ` line is a shell command run in the project, and the
//!   lines under it are everything it must print on stdout.
//!
//! The test generates the everything-on combination (one build, under its own package
//! name so it never shares a binary with the full checks), applies every marked block of
//! its rendered README in order, and fails on a marker that points nowhere or at two
//! lines. The grown project must then build, run the README's commands with the output
//! shown, start the worker with the README's jobs and run them, pass clippy, rustfmt and
//! its tests (the README's own tests among them, by name), and still pass the static
//! checks of every generated project.

use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use regex::Regex;

use crate::cargo::{self, Step};
use crate::combinations::Combination;
use crate::generate::{self, Project};
use crate::static_checks;

/// The grown project's package name, which is also its binary's.
const GROWN: &str = "grown";

/// Directories the README must add a file to: the setting's concern, a route, a job, a
/// command and an integration test. A README that lost a step fails here.
const EXPECTED_ADDITIONS: [&str; 5] = [
    "src/settings/",
    "src/web/routes/",
    "src/worker/jobs/",
    "src/cli/",
    "tests/api/",
];

/// How long the worker runs before the test stops it with SIGTERM: every job runs once
/// as the worker starts.
const WORKER_SECONDS: u64 = 10;

/// One marked block of the README.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marked {
    /// A new file and its whole text.
    File { path: String, text: String },
    /// Lines to insert next to the line starting with `anchor`.
    Lines {
        path: String,
        anchor: String,
        after: bool,
        lines: Vec<String>,
    },
    /// Shell commands, each with the stdout it must print.
    Run(Vec<(String, String)>),
}

/// What applying the README changed.
#[derive(Debug, Default)]
struct Grown {
    /// New files, relative to the project, with their text.
    files: Vec<(String, String)>,
    /// Commands and their expected stdout.
    runs: Vec<(String, String)>,
}

impl Grown {
    /// The new files under `dir`.
    fn files_under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a (String, String)> {
        self.files
            .iter()
            .filter(move |(path, _)| path.starts_with(dir))
    }
}

/// Every marked block of `markdown`, in order; ordinary fences are skipped.
fn marked_blocks(markdown: &str) -> Result<Vec<Marked>, String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let Some(fence) = fence_of(line) else {
            index += 1;
            continue;
        };
        let info = line[fence.len()..].trim();
        let opened_at = index + 1;
        let mut body = Vec::new();
        index += 1;
        loop {
            let Some(line) = lines.get(index) else {
                return Err(format!("README.md:{opened_at}: the fence is never closed"));
            };
            index += 1;
            if is_closing(line, &fence) {
                break;
            }
            body.push((*line).to_owned());
        }
        if let Some(block) =
            marked(info, body).map_err(|e| format!("README.md:{opened_at}: {e}"))?
        {
            blocks.push(block);
        }
    }
    Ok(blocks)
}

/// The opening fence of `line` (three or more backticks or tildes at its start).
fn fence_of(line: &str) -> Option<String> {
    let first = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let fence: String = line.chars().take_while(|c| *c == first).collect();
    (fence.len() >= 3).then_some(fence)
}

/// Whether `line` closes a block opened by `fence`.
fn is_closing(line: &str, fence: &str) -> bool {
    let line = line.trim_end();
    let first = fence.chars().next().unwrap_or('`');
    line.len() >= fence.len() && line.chars().all(|c| c == first)
}

/// The block a fence's `info` string marks, if it is marked at all.
fn marked(info: &str, body: Vec<String>) -> Result<Option<Marked>, String> {
    let Some((_language, marker)) = info.split_once(',') else {
        return Ok(None);
    };
    if marker == "run" {
        return commands(&body).map(|runs| Some(Marked::Run(runs)));
    }
    if let Some(path) = marker.strip_prefix("file=") {
        let path = project_path(path)?;
        let mut text = body.join("\n");
        text.push('\n');
        return Ok(Some(Marked::File { path, text }));
    }
    if let Some(rest) = marker.strip_prefix("line=") {
        let after_at = rest.find(",after=");
        let before_at = rest.find(",before=");
        let (path, anchor, after) = match (after_at, before_at) {
            (Some(at), None) => (&rest[..at], &rest[at + ",after=".len()..], true),
            (Some(at), Some(before)) if at < before => {
                (&rest[..at], &rest[at + ",after=".len()..], true)
            }
            (_, Some(at)) => (&rest[..at], &rest[at + ",before=".len()..], false),
            (None, None) => {
                return Err(format!(
                    "`{info}` names no anchor: add `,after=<start of a line>` or `,before=…`"
                ));
            }
        };
        if anchor.trim().is_empty() {
            return Err(format!("`{info}` has an empty anchor"));
        }
        if body.is_empty() {
            return Err(format!("`{info}` marks an empty block"));
        }
        return Ok(Some(Marked::Lines {
            path: project_path(path)?,
            anchor: anchor.trim().to_owned(),
            after,
            lines: body,
        }));
    }
    if marker.split(',').any(|word| word.contains('=')) {
        return Err(format!(
            "`{info}`: unknown marker (known: file=, line=…,after= or before=, run)"
        ));
    }
    // `rust,ignore` and the like: not ours.
    Ok(None)
}

/// `path` if it stays inside the project.
fn project_path(path: &str) -> Result<String, String> {
    let inside = !path.is_empty()
        && Path::new(path)
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    if inside {
        Ok(path.to_owned())
    } else {
        Err(format!("`{path}` is not a path inside the project"))
    }
}

/// The `$ ` commands of a `run` block, each with the lines under it.
fn commands(body: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut runs: Vec<(String, String)> = Vec::new();
    for line in body {
        if let Some(command) = line.strip_prefix("$ ") {
            runs.push((command.trim().to_owned(), String::new()));
        } else if let Some((_, output)) = runs.last_mut() {
            output.push_str(line);
            output.push('\n');
        } else {
            return Err(format!("`{line}` comes before any `$ ` command"));
        }
    }
    if runs.is_empty() {
        return Err("a run block without a `$ ` command".to_owned());
    }
    Ok(runs)
}

/// Applies `blocks` to the project at `root`, in order.
fn apply(root: &Path, blocks: &[Marked]) -> Result<Grown, String> {
    let mut grown = Grown::default();
    for block in blocks {
        match block {
            Marked::File { path, text } => {
                let target = root.join(path);
                if target.exists() {
                    return Err(format!(
                        "`file={path}`: the file exists already; the README would overwrite it"
                    ));
                }
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                std::fs::write(&target, text)
                    .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
                grown.files.push((path.clone(), text.clone()));
            }
            Marked::Lines {
                path,
                anchor,
                after,
                lines,
            } => {
                let target = root.join(path);
                let text = std::fs::read_to_string(&target).map_err(|e| {
                    format!("`line={path}`: the README points at a file that is not there ({e})")
                })?;
                let inserted = insert(&text, anchor, *after, lines)
                    .map_err(|e| format!("`line={path}`: {e}"))?;
                std::fs::write(&target, inserted)
                    .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            }
            Marked::Run(runs) => grown.runs.extend(runs.iter().cloned()),
        }
    }
    Ok(grown)
}

/// `text` with `lines` inserted after (or before) its one line starting with `anchor`.
fn insert(text: &str, anchor: &str, after: bool, lines: &[String]) -> Result<String, String> {
    let mut all: Vec<&str> = text.lines().collect();
    let matching: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with(anchor))
        .map(|(index, _)| index)
        .collect();
    let at = match matching.as_slice() {
        [only] => *only + usize::from(after),
        [] => {
            return Err(format!(
                "no line starts with `{anchor}`: the marker points nowhere"
            ));
        }
        several => {
            return Err(format!(
                "{} lines start with `{anchor}` (lines {}): the marker is ambiguous",
                several.len(),
                several
                    .iter()
                    .map(|index| (index + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    all.splice(at..at, lines.iter().map(String::as_str));
    let mut out = all.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The names of the test functions in a Rust file.
fn test_functions(text: &str) -> Vec<String> {
    let pattern =
        Regex::new(r"#\[(?:tokio::)?test\]\s*(?:async\s+)?fn\s+([a-z0-9_]+)").expect("valid regex");
    pattern
        .captures_iter(text)
        .map(|captures| captures[1].to_owned())
        .collect()
}

/// The names the jobs of a job file give themselves (`fn name(&self)`).
fn job_names(text: &str) -> Vec<String> {
    let pattern =
        Regex::new(r#"fn\s+name\s*\(\s*&self\s*\)\s*->\s*&'static\s+str\s*\{\s*"([^"]+)""#)
            .expect("valid regex");
    pattern
        .captures_iter(text)
        .map(|captures| captures[1].to_owned())
        .collect()
}

/// Runs a README command in the project and compares its stdout with the README's.
fn check_command(project: &Path, command: &str, expected: &str) -> Result<(), String> {
    let out_dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let out = out_dir.path().join("stdout");
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("{command} >\"$README_STDOUT\""))
        .env("README_STDOUT", &out);
    cargo::run_command(
        GROWN,
        &format!("README: {command}"),
        shell,
        project,
        Duration::from_secs(10 * 60),
    )?;
    let printed = std::fs::read_to_string(&out).unwrap_or_default();
    if printed == expected {
        Ok(())
    } else {
        Err(format!(
            "`{command}` printed\n{printed}\nbut the README shows\n{expected}"
        ))
    }
}

/// Starts the built worker, stops it with SIGTERM after [`WORKER_SECONDS`], and checks
/// that it started with every job in `names` and finished a run of each.
fn check_worker(project: &Path, names: &[String]) -> Result<(), String> {
    let binary = cargo::target_dir().join("debug").join(GROWN);
    let mut worker = Command::new("timeout");
    worker
        .arg("--preserve-status")
        .arg("--signal=TERM")
        .arg("--kill-after=30")
        .arg(WORKER_SECONDS.to_string())
        .arg(&binary)
        .arg("worker")
        // Any free port for its metrics listener; lines a test can read.
        .env("METRICS_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info");
    let log = cargo::run_command(
        GROWN,
        "worker until SIGTERM",
        worker,
        project,
        Duration::from_secs(WORKER_SECONDS + 60),
    )?;
    let has_line = |parts: &[&str]| {
        log.lines()
            .any(|line| parts.iter().all(|part| line.contains(part)))
    };
    let mut missing = Vec::new();
    for name in names {
        if !has_line(&["worker started", name]) {
            missing.push(format!("the `worker started` line does not list {name}"));
        }
        if !has_line(&["job finished", name]) {
            missing.push(format!("no `job finished` line for {name}"));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the worker with the README's jobs:\n  {}\n--- its log ---\n{log}",
            missing.join("\n  ")
        ))
    }
}

/// Applies the README to `project` and runs every check; the first failure ends it.
fn grow_and_check(project: &Project, combination: &Combination) -> Result<(), String> {
    let root = &project.path;
    let readme = std::fs::read_to_string(root.join("README.md"))
        .map_err(|e| format!("cannot read the generated README.md: {e}"))?;
    let blocks = marked_blocks(&readme)?;
    let grown = apply(root, &blocks)?;
    let absent: Vec<&str> = EXPECTED_ADDITIONS
        .into_iter()
        .filter(|dir| grown.files_under(dir).next().is_none())
        .collect();
    if !absent.is_empty() || grown.runs.is_empty() {
        return Err(format!(
            "the README adds no file under {} {}; its steps are gone or unmarked",
            absent.join(", "),
            if grown.runs.is_empty() {
                "and runs no command"
            } else {
                ""
            }
        ));
    }
    cargo::progress(&format!(
        "{GROWN}: the README wrote {} files and {} commands to run",
        grown.files.len(),
        grown.runs.len()
    ));

    cargo::run(GROWN, root, Step::Build)?;
    for (command, expected) in &grown.runs {
        check_command(root, command, expected)?;
    }
    let jobs: Vec<String> = grown
        .files_under("src/worker/jobs/")
        .flat_map(|(_, text)| job_names(text))
        .collect();
    if jobs.is_empty() {
        return Err("the README's job file names no job (`fn name(&self)`)".to_owned());
    }
    check_worker(root, &jobs)?;
    cargo::run(GROWN, root, Step::Clippy)?;
    cargo::run(GROWN, root, Step::Fmt)?;
    let tested = cargo::run(GROWN, root, Step::Test)?;
    // A test file that no `mod` line declares is silently never compiled.
    let mut not_run = Vec::new();
    for (path, text) in grown.files_under("tests/api/") {
        let module = Path::new(path)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let names = test_functions(text);
        if names.is_empty() {
            not_run.push(format!("{path} has no test function"));
        }
        for name in names {
            if !tested.contains(&format!("test {module}::{name} ... ok")) {
                not_run.push(format!("{module}::{name} did not run and pass"));
            }
        }
    }
    if !not_run.is_empty() {
        return Err(format!("the README's tests:\n  {}", not_run.join("\n  ")));
    }
    let problems = static_checks::problems(root, &project.name, combination);
    if !problems.is_empty() {
        return Err(format!(
            "the grown project fails the static checks:\n  {}",
            problems.join("\n  ")
        ));
    }
    Ok(())
}

#[test]
fn the_readme_growing_steps_build_lint_and_pass_their_tests() {
    let combination = Combination::everything_on();
    let mut project = generate::generate(GROWN, &combination.defines())
        .unwrap_or_else(|failed| panic!("{combination}: generation failed: {failed}"));
    if let Err(failure) = grow_and_check(&project, &combination) {
        let kept: PathBuf = project.keep();
        panic!(
            "\"Growing the service\" in the README of {combination}: {failure}\n\
             (project kept in {})",
            kept.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{Marked, apply, insert, job_names, marked_blocks, test_functions};

    const README: &str = "\
# Demo

```sh
cargo run
```

```rust,ignore
not ours
```

```rust,file=src/greet.rs
//! Greets.

pub fn greet() {}
```

```rust,line=src/lib.rs,after=pub mod config;
pub mod greet;
```

~~~markdown,line=README.md,before=| `RUST_LOG` |
| `GREETING_TEXT` | `Hello` |
~~~

```console,run
$ cargo run -q -- greet
Hello, world!
$ true
```
";

    #[test]
    fn markers_are_read_from_the_info_strings_and_other_fences_are_skipped() {
        let blocks = marked_blocks(README).expect("valid markers");
        assert_eq!(
            blocks,
            vec![
                Marked::File {
                    path: "src/greet.rs".to_owned(),
                    text: "//! Greets.\n\npub fn greet() {}\n".to_owned(),
                },
                Marked::Lines {
                    path: "src/lib.rs".to_owned(),
                    anchor: "pub mod config;".to_owned(),
                    after: true,
                    lines: vec!["pub mod greet;".to_owned()],
                },
                Marked::Lines {
                    path: "README.md".to_owned(),
                    anchor: "| `RUST_LOG` |".to_owned(),
                    after: false,
                    lines: vec!["| `GREETING_TEXT` | `Hello` |".to_owned()],
                },
                Marked::Run(vec![
                    (
                        "cargo run -q -- greet".to_owned(),
                        "Hello, world!\n".to_owned()
                    ),
                    ("true".to_owned(), String::new()),
                ]),
            ]
        );
    }

    #[test]
    fn bad_markers_are_errors_with_their_line() {
        for (markdown, expected) in [
            ("```rust,line=src/lib.rs\nx\n```\n", "names no anchor"),
            ("```rust,line=src/lib.rs,after=\nx\n```\n", "empty anchor"),
            ("```rust,flie=src/lib.rs\nx\n```\n", "unknown marker"),
            ("```rust,file=../outside.rs\nx\n```\n", "not a path inside"),
            ("```rust,file=/etc/passwd\nx\n```\n", "not a path inside"),
            ("```console,run\nHello\n```\n", "before any `$ ` command"),
            (
                "text\n```rust,file=src/a.rs\nx\n",
                "README.md:2: the fence is never closed",
            ),
        ] {
            let error = marked_blocks(markdown).expect_err(markdown);
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }

    #[test]
    fn lines_go_next_to_the_one_line_the_anchor_starts() {
        let text = "mod a;\n    pub mod config; Config(config::ConfigCommand),\nmod z;\n";
        let lines = ["    pub mod greet; Greet(greet::GreetCommand),".to_owned()];
        assert_eq!(
            insert(text, "pub mod config;", true, &lines).unwrap(),
            concat!(
                "mod a;\n",
                "    pub mod config; Config(config::ConfigCommand),\n",
                "    pub mod greet; Greet(greet::GreetCommand),\n",
                "mod z;\n"
            )
        );
        assert_eq!(
            insert(text, "mod z;", false, &["mod y;".to_owned()]).unwrap(),
            "mod a;\n    pub mod config; Config(config::ConfigCommand),\nmod y;\nmod z;\n"
        );
        let nowhere = insert(text, "mod b;", true, &lines).unwrap_err();
        assert!(nowhere.contains("points nowhere"), "{nowhere}");
        let twice = insert(text, "mod", true, &lines).unwrap_err();
        assert!(
            twice.contains("ambiguous") && twice.contains("lines 1, 3"),
            "{twice}"
        );
    }

    #[test]
    fn applying_writes_new_files_and_refuses_to_overwrite_or_miss() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "pub mod config;\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "| `RUST_LOG` |\n").unwrap();
        let blocks = marked_blocks(README).unwrap();
        let grown = apply(dir.path(), &blocks).expect("every marker points somewhere");
        assert_eq!(grown.files.len(), 1);
        assert_eq!(grown.runs.len(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(),
            "pub mod config;\npub mod greet;\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
            "| `GREETING_TEXT` | `Hello` |\n| `RUST_LOG` |\n"
        );
        let again = apply(dir.path(), &blocks).unwrap_err();
        assert!(again.contains("exists already"), "{again}");
        std::fs::remove_file(dir.path().join("src/greet.rs")).unwrap();
        std::fs::remove_file(dir.path().join("src/lib.rs")).unwrap();
        let missing = apply(dir.path(), &blocks).unwrap_err();
        assert!(missing.contains("not there"), "{missing}");
    }

    #[test]
    fn tests_and_job_names_are_found_in_the_readme_code() {
        let text = "#[tokio::test]\nasync fn over_http() {}\n#[test]\nfn plain() {}\nfn helper() {}\n\
                    fn name(&self) -> &'static str {\n        \"greeter\"\n    }\n";
        assert_eq!(test_functions(text), ["over_http", "plain"]);
        assert_eq!(job_names(text), ["greeter"]);
    }
}
