//! Generates projects from this checkout through the cargo-generate library, as a user's
//! `cargo generate --path <repo> template --silent --name NAME -d option=value ...` would.
//!
//! The sub-template argument (`template`) is passed the way that command line passes it:
//! clap puts the first positional argument in `TemplatePath::auto_path`, and with `--path`
//! given cargo-generate 0.23.14 reads that as the subfolder (`TemplatePath::subfolder()`;
//! the `subfolder` field is only read when neither `--git`, `--path` nor `--favorite` is).
//! The template folder has no `cargo-generate.toml` of its own, so cargo-generate looks
//! upwards and applies the root one, hooks and conditionals included.
//!
//! Only the template's own files (`cargo-generate.toml`, `template/`, `hooks/`) are staged
//! into a temporary directory once per run: a `--path` template is copied whole, so a
//! local `target/` or the harness itself must never reach cargo-generate. Each project
//! lands in its own temporary directory outside the repository, removed when the
//! [`Project`] is dropped unless [`Project::keep`] was called for a failure.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cargo_generate::{GenerateArgs, TemplatePath, Vcs};
use tempfile::TempDir;

use crate::combinations::Combination;
use crate::options::repo_root;

/// The parts of the repository that make up the template.
const TEMPLATE_PARTS: [&str; 3] = ["cargo-generate.toml", "template", "hooks"];

/// The sub-template users name on the command line (`cargo generate --path . template`).
const SUB_TEMPLATE: &str = "template";

/// A generated project in a temporary directory.
pub struct Project {
    /// The directory holding the project; `None` once kept.
    dir: Option<TempDir>,
    /// The project's root (`<dir>/<name>`).
    pub path: PathBuf,
    /// The project's name, which is also its package name.
    pub name: String,
}

impl Project {
    /// Leaves the project on disk (to inspect a failure) and returns where it is.
    pub fn keep(&mut self) -> PathBuf {
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        self.path.clone()
    }
}

/// Generates `combination` under its package name.
pub fn combination(combination: &Combination) -> Result<Project, Failed> {
    generate(&combination.package_name(), &combination.defines())
}

/// Why a generation failed.
#[derive(Debug)]
pub struct Failed {
    /// The message cargo-generate would show the user (hook aborts included), without
    /// colours.
    pub message: String,
    /// Files the failed generation wrote under its destination (should be none).
    pub leftovers: Vec<PathBuf>,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Generates a project called `name` with `-d` definitions `defines`.
pub fn generate(name: &str, defines: &[String]) -> Result<Project, Failed> {
    refuse_outside_values();
    let stage = stage();
    let dir = tempfile::Builder::new()
        .prefix("template-matrix-")
        .tempdir()
        .expect("cannot create a temporary directory");
    let args = GenerateArgs {
        template_path: template_path(&stage.template),
        name: Some(name.to_owned()),
        silent: true,
        vcs: Some(Vcs::None),
        no_workspace: true,
        // The CLI's default; `GenerateArgs::default()` says lib.
        lib: false,
        define: defines.to_vec(),
        destination: Some(dir.path().to_path_buf()),
        // An empty config keeps the developer's own favorites and [values] out.
        config: Some(stage.config.clone()),
        ..GenerateArgs::default()
    };
    // cargo-generate was written for one generation per process; keep it that way.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let result = cargo_generate::generate(args);
    drop(guard);
    match result {
        Ok(path) => Ok(Project {
            dir: Some(dir),
            path,
            name: name.to_owned(),
        }),
        Err(error) => Err(Failed {
            message: plain(&format!("{error:#}")),
            leftovers: files_under(dir.path()),
        }),
    }
}

/// What `cargo generate --path ROOT template` parses to.
fn template_path(root: &Path) -> TemplatePath {
    TemplatePath {
        path: Some(root.to_string_lossy().into_owned()),
        auto_path: Some(SUB_TEMPLATE.to_owned()),
        ..TemplatePath::default()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        if entry.path().is_dir() {
            files.extend(files_under(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

/// The staged template: a copy of the template's parts, made once per test run.
struct Stage {
    /// The template root handed to cargo-generate.
    template: PathBuf,
    /// An empty cargo-generate config file.
    config: PathBuf,
}

/// Stages under cargo's scratch directory for integration tests (`target/tmp`), one
/// directory per process; a static is never dropped, so earlier runs' stages are removed
/// here instead, unless their process is still running.
fn stage() -> &'static Stage {
    static STAGE: OnceLock<Stage> = OnceLock::new();
    STAGE.get_or_init(|| {
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_stages(scratch);
        let dir = scratch.join(format!("{STAGE_PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let template = dir.join("template-repo");
        std::fs::create_dir_all(&template).expect("cannot create the staging directory");
        let root = repo_root();
        for part in TEMPLATE_PARTS {
            copy_recursively(&root.join(part), &template.join(part))
                .unwrap_or_else(|error| panic!("cannot stage {part}: {error}"));
        }
        let config = dir.join("cargo-generate-config.toml");
        std::fs::write(&config, "").expect("cannot write the empty cargo-generate config");
        Stage { template, config }
    })
}

const STAGE_PREFIX: &str = "template-stage-";

fn remove_stale_stages(scratch: &Path) {
    let Ok(entries) = std::fs::read_dir(scratch) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(STAGE_PREFIX) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn copy_recursively(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

/// cargo-generate also takes answers from `CARGO_GENERATE_VALUE_*` and a values file named
/// by the environment; either would silently change what every test generates.
fn refuse_outside_values() {
    let outside: Vec<String> = std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| {
            name.starts_with("CARGO_GENERATE_VALUE_")
                || name == "CARGO_GENERATE_TEMPLATE_VALUES_FILE"
        })
        .collect();
    assert!(
        outside.is_empty(),
        "unset {} before running the harness: they override the answers it passes",
        outside.join(", ")
    );
}

/// Drops terminal colour codes, which cargo-generate adds when it thinks it has a terminal.
fn plain(text: &str) -> String {
    static ANSI: OnceLock<regex::Regex> = OnceLock::new();
    ANSI.get_or_init(|| regex::Regex::new(r"\x1b\[[0-9;]*m").expect("valid regex"))
        .replace_all(text, "")
        .into_owned()
}

/// With `--path` given, only `auto_path` is read as the subfolder; a `subfolder` field
/// would be ignored, and the generation would silently fall back to `sub_templates`.
#[test]
fn the_sub_template_argument_is_read_as_the_subfolder() {
    let path = template_path(Path::new("/repo"));
    assert_eq!(
        path.subfolder().map(|s| s.as_ref().to_owned()).as_deref(),
        Some(SUB_TEMPLATE),
        "cargo-generate would not read the sub-template argument as the subfolder"
    );
}
