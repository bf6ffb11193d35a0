//! The shipped lock file: `template/Cargo.lock` holds the dependency versions the
//! harness tests, and every generated project starts from it.
//!
//! It is resolved for every option on, and every choice of the string options at once
//! ([`lock_root`]: the everything-on project, whose manifest also gets the dependencies
//! of the other choices, SQLite's driver beside PostgreSQL's). A project with fewer
//! options prunes it on its first cargo command; pruning drops packages and never picks
//! new versions, so every combination builds with versions from this one file. The root
//! package's name is `{{project-name}}`, rendered like any other template file.
//!
//! - [`drift`]: what a generated project's own lock has that the shipped one lacks (the
//!   full checks call it after clippy, for every combination they build).
//! - The test below fails when the lock is not current for the template's manifests,
//!   and names the command that fixes it.
//! - `update_the_shipped_lock` (ignored; `ci/update-lock` runs it) moves the lock
//!   forward on purpose: `cargo update` in the lock root, written back with the root's
//!   name as the placeholder again.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::combinations::Combination;
use crate::generate::Project;
use crate::options::{self, Kind, repo_root};
use crate::{cargo, generate};

/// Where the shipped lock lives, relative to the repository.
pub const SHIPPED: &str = "template/Cargo.lock";

/// The root package's name in the shipped lock.
const ROOT_PLACEHOLDER: &str = "{{project-name}}";

/// The project name `update_the_shipped_lock` generates under, swapped for the
/// placeholder before the lock is written back.
const UPDATE_ROOT: &str = "lock-update-root";

/// One package of a lock file from a registry (path packages are the project's own).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Locked {
    pub name: String,
    pub version: String,
    pub source: String,
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// The registry packages of a lock file's text.
pub fn packages(text: &str) -> Result<BTreeSet<Locked>, String> {
    let lock: toml::Table =
        toml::from_str(text).map_err(|error| format!("not a lock file: {error}"))?;
    let entries = lock
        .get("package")
        .and_then(|packages| packages.as_array())
        .ok_or("a lock file without [[package]] entries")?;
    let field = |entry: &toml::Value, name: &str| {
        entry
            .get(name)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    Ok(entries
        .iter()
        .filter_map(|entry| {
            Some(Locked {
                name: field(entry, "name")?,
                version: field(entry, "version")?,
                source: field(entry, "source")?,
            })
        })
        .collect())
}

/// The shipped lock's registry packages.
pub fn shipped() -> Result<BTreeSet<Locked>, String> {
    let path = repo_root().join(SHIPPED);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    packages(&text).map_err(|error| format!("{SHIPPED}: {error}"))
}

/// The packages of the project at `project`'s `Cargo.lock` that the shipped lock does not
/// hold at that version, one line each; empty when the project builds with tested versions.
pub fn drift(project: &Path) -> Vec<String> {
    let lock = project.join("Cargo.lock");
    let own = match std::fs::read_to_string(&lock)
        .map_err(|error| format!("cannot read {}: {error}", lock.display()))
        .and_then(|text| packages(&text))
    {
        Ok(own) => own,
        Err(error) => return vec![error],
    };
    let shipped = match shipped() {
        Ok(shipped) => shipped,
        Err(error) => return vec![error],
    };
    own.difference(&shipped)
        .map(|package| {
            let tested: Vec<&str> = shipped
                .iter()
                .filter(|candidate| candidate.name == package.name)
                .map(|candidate| candidate.version.as_str())
                .collect();
            match tested.as_slice() {
                [] => format!("{package}: not in {SHIPPED}"),
                _ => format!("{package}: {SHIPPED} has {}", tested.join(", ")),
            }
        })
        .collect()
}

/// The manifest tables whose entries [`lock_root`] merges.
const DEPENDENCY_TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

/// Generates, under `name`, the project the shipped lock is resolved for: everything on,
/// its manifest holding the dependencies of every other valid choice of each string
/// option too (features unioned), since no one combination has them all. Only its
/// manifest is changed; nothing builds it.
pub fn lock_root(name: &str) -> Result<Project, String> {
    let everything = Combination::everything_on();
    let project = generate::generate(name, &everything.defines())
        .map_err(|failed| format!("everything on: generation failed: {failed}"))?;
    let path = project.path.join("Cargo.toml");
    let mut manifest = manifest(&path)?;
    for option in options::all() {
        if !matches!(option.kind, Kind::Choice(_)) {
            continue;
        }
        for value in option.values() {
            let variant = everything.clone().with(&option.name, value);
            if variant == everything || !variant.is_valid() {
                continue;
            }
            let other = generate::generate(name, &variant.defines())
                .map_err(|failed| format!("{variant}: generation failed: {failed}"))?;
            merge_dependencies(
                &mut manifest,
                &self::manifest(&other.path.join("Cargo.toml"))?,
            );
        }
    }
    let text = toml::to_string(&manifest)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    std::fs::write(&path, text).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(project)
}

fn manifest(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    toml::from_str(&text).map_err(|error| format!("{}: not valid TOML: {error}", path.display()))
}

/// Adds `other`'s dependencies to `manifest`'s: the ones it lacks whole, and the
/// features of the ones both have.
fn merge_dependencies(manifest: &mut toml::Table, other: &toml::Table) {
    for section in DEPENDENCY_TABLES {
        let Some(theirs) = other.get(section).and_then(|t| t.as_table()) else {
            continue;
        };
        let ours = manifest
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(ours) = ours.as_table_mut() else {
            continue;
        };
        for (name, spec) in theirs {
            match ours.get_mut(name) {
                None => {
                    ours.insert(name.clone(), spec.clone());
                }
                Some(mine) => merge_features(mine, spec),
            }
        }
    }
}

/// `mine` with the features of `theirs` too (a bare version becomes a table).
fn merge_features(mine: &mut toml::Value, theirs: &toml::Value) {
    let Some(extra) = theirs.get("features").and_then(|f| f.as_array()) else {
        return;
    };
    if let toml::Value::String(version) = mine {
        let mut table = toml::Table::new();
        table.insert("version".to_owned(), toml::Value::String(version.clone()));
        *mine = toml::Value::Table(table);
    }
    let Some(table) = mine.as_table_mut() else {
        return;
    };
    let features = table
        .entry("features")
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    if let Some(features) = features.as_array_mut() {
        for feature in extra {
            if !features.contains(feature) {
                features.push(feature.clone());
            }
        }
    }
}

/// The sentence every lock failure ends with.
pub fn fix() -> &'static str {
    "the shipped lock is out of date for the template's manifests: run ci/update-lock \
     (it updates template/Cargo.lock and runs the matrix), then commit the lock"
}

#[test]
fn the_shipped_lock_is_current_for_the_template_manifests() {
    let before = shipped().unwrap_or_else(|error| panic!("{error}"));
    let project = lock_root("lock-check-root").unwrap_or_else(|error| panic!("{error}"));
    // With --locked cargo compares the resolution it needs with the lock as a graph
    // (the root's place in the file does not matter) and refuses any difference: a
    // dependency added, dropped or given other features in a manifest.
    let metadata = |locked: bool| {
        let mut command = Command::new("cargo");
        command.args(["metadata", "--format-version", "1"]);
        if locked {
            command.arg("--locked");
        }
        let label = if locked {
            "cargo metadata --locked"
        } else {
            "cargo metadata"
        };
        cargo::run_command(
            "lock-check",
            label,
            command,
            &project.path,
            Duration::from_secs(10 * 60),
        )
    };
    let Err(refusal) = metadata(true) else {
        return;
    };
    // Say what changed: resolve again, letting cargo write the lock it wants.
    let changes = match metadata(false) {
        Err(failure) => failure,
        Ok(_) => {
            let text = std::fs::read_to_string(project.path.join("Cargo.lock"))
                .expect("cargo metadata writes Cargo.lock");
            let after = packages(&text).unwrap_or_else(|error| panic!("{error}"));
            let list = |set: Vec<String>| match set.is_empty() {
                true => "none".to_owned(),
                false => set.join(", "),
            };
            format!(
                "resolved but not shipped: {}\nshipped but not needed: {}",
                list(after.difference(&before).map(Locked::to_string).collect()),
                list(before.difference(&after).map(Locked::to_string).collect()),
            )
        }
    };
    panic!("{}\n{changes}\n{refusal}", fix());
}

/// The engine crates are tested in this repository's workspace (its own `Cargo.lock`),
/// so that lock must hold the versions generated services get for every package the two
/// share, or the engine's suites here would prove other versions than the ones shipped.
#[test]
fn the_repository_tests_the_engine_with_the_shipped_versions() {
    let shipped = shipped().unwrap_or_else(|error| panic!("{error}"));
    let path = repo_root().join("Cargo.lock");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let here = packages(&text).unwrap_or_else(|error| panic!("Cargo.lock: {error}"));
    // Same crate, same semver-compatible range (two majors may both be needed).
    let differing: Vec<String> = shipped
        .iter()
        .flat_map(|package| {
            here.iter()
                .filter(move |p| {
                    p.name == package.name
                        && compatible(&p.version) == compatible(&package.version)
                        && p.version != package.version
                })
                .map(move |p| format!("{package} shipped, {} here", p.version))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "Cargo.lock and {SHIPPED} disagree: {}\nrun ci/update-lock (it updates both)",
        differing.join("; ")
    );
}

/// The part of a version that semver keeps compatible: `1` of `1.4.2`, `0.23` of `0.23.1`.
fn compatible(version: &str) -> String {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}"),
        (Some(major), _) => major.to_owned(),
        (None, _) => String::new(),
    }
}

#[test]
fn merging_manifests_adds_dependencies_and_unions_features() {
    let mut ours: toml::Table = toml::from_str(
        "[dependencies]\nserde = \"1\"\nsqlx = { version = \"0.8\", features = [\"postgres\", \"macros\"] }\n",
    )
    .expect("valid TOML");
    let theirs: toml::Table = toml::from_str(
        "[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\n\
         sqlx = { version = \"0.8\", features = [\"sqlite\", \"macros\"] }\n\
         [dev-dependencies]\ntempfile = \"3\"\n",
    )
    .expect("valid TOML");
    merge_dependencies(&mut ours, &theirs);
    let features = |name: &str| -> Vec<String> {
        ours["dependencies"][name]["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(features("sqlx"), ["postgres", "macros", "sqlite"]);
    assert_eq!(features("serde"), ["derive"]);
    assert_eq!(ours["dependencies"]["serde"]["version"].as_str(), Some("1"));
    assert_eq!(ours["dev-dependencies"]["tempfile"].as_str(), Some("3"));
}

#[test]
fn drift_names_new_and_moved_packages() {
    let shipped = shipped().unwrap_or_else(|error| panic!("{error}"));
    let tested = shipped
        .iter()
        .next()
        .expect("the shipped lock has packages");
    let dir = tempfile::tempdir().expect("temporary directory");
    let lock = format!(
        "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n\n\
         [[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"{source}\"\n\n\
         [[package]]\nname = \"{name}\"\nversion = \"999.0.0\"\nsource = \"{source}\"\n\n\
         [[package]]\nname = \"no-such-crate-here\"\nversion = \"1.0.0\"\nsource = \"{source}\"\n",
        name = tested.name,
        version = tested.version,
        source = tested.source,
    );
    std::fs::write(dir.path().join("Cargo.lock"), lock).expect("write a lock");
    let found = drift(dir.path());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with(&format!(
            "{} 999.0.0: {SHIPPED} has {}",
            tested.name, tested.version
        )),
        "{found:?}"
    );
    assert_eq!(
        found[1],
        format!("no-such-crate-here 1.0.0: not in {SHIPPED}")
    );
}

/// Moves the shipped lock forward: `cargo update` (with the words of
/// `TEMPLATE_LOCK_UPDATE` as arguments, e.g. `-p serde`) in the [`lock_root`], whose
/// lock then replaces `template/Cargo.lock`. Run by `ci/update-lock`.
#[test]
#[ignore = "rewrites template/Cargo.lock; ci/update-lock runs it"]
fn update_the_shipped_lock() {
    let before = shipped().unwrap_or_default();
    let project = lock_root(UPDATE_ROOT).unwrap_or_else(|error| panic!("{error}"));
    let arguments = std::env::var("TEMPLATE_LOCK_UPDATE").unwrap_or_default();
    let mut command = Command::new("cargo");
    command.arg("update").args(arguments.split_whitespace());
    if let Err(failure) = cargo::run_command(
        "lock-update",
        "cargo update",
        command,
        &project.path,
        Duration::from_secs(10 * 60),
    ) {
        panic!("{failure}");
    }
    let text = std::fs::read_to_string(project.path.join("Cargo.lock"))
        .expect("cargo update writes Cargo.lock");
    let root = format!("name = \"{UPDATE_ROOT}\"");
    assert_eq!(text.matches(&root).count(), 1, "the root package once");
    let text = text.replace(&root, &format!("name = \"{ROOT_PLACEHOLDER}\""));
    let after = packages(&text).unwrap_or_else(|error| panic!("{error}"));
    std::fs::write(repo_root().join(SHIPPED), text).expect("write the shipped lock");
    for package in after.difference(&before) {
        cargo::progress(&format!("lock: + {package}"));
    }
    for package in before.difference(&after) {
        cargo::progress(&format!("lock: - {package}"));
    }
}
