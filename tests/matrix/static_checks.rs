//! Checks on the generated files themselves, for every valid combination, without compiling.
//!
//! What a compiler cannot see: Liquid left in the output, empty directories, hook files,
//! files and words of options left out, dependencies nothing uses, files no module
//! declares, and an `.env.example` that drifted from the variables the settings read.
//! Each problem is one line naming the file (and line) so a failure reads as a to-do list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

use crate::combinations::{self, Combination};
use crate::{docker, generate, options};

/// Paths that exist exactly when every one of their conditions holds, written as
/// `cargo-generate.toml` keys are: `x`, `!x`, `x == "value"`, `x != "value"`.
const OWNED_PATHS: &[(&[&str], &[&str])] = &[
    (&["web"], &["src/web", "src/items"]),
    (&["worker"], &["src/worker"]),
    (&["cli"], &["src/cli"]),
    (
        &["cache"],
        &["src/services/cache.rs", "crates/cache", "crates/cached"],
    ),
    (
        &["docker"],
        &["Dockerfile", ".dockerignore", "compose.yaml"],
    ),
    (&["github_actions"], &[".github/workflows/ci.yml"]),
    (
        &[r#"database != "none""#],
        &[
            "migrations",
            "src/database",
            "src/settings/database.rs",
            "src/metrics/database.rs",
            "tests/api/database.rs",
            "tests/api/test_database.rs",
        ],
    ),
    (&[r#"database != "none""#, "cli"], &["src/cli/db.rs"]),
    (&[r#"database == "postgres""#], &["tests/api/postgres.rs"]),
    // The in-process stand-in for the example resource's store.
    (
        &["web", r#"database == "none""#],
        &["src/items/in_memory.rs", "tests/api/item_memory.rs"],
    ),
];

/// Prefixes of the variables `.env.example` must list exactly (with `RUST_LOG`).
const SETTINGS_PREFIXES: [&str; 5] = ["APP_", "CACHE_", "WORKER_", "LOG_", "DATABASE_"];

/// Variables that belong to an option, with the condition (as in [`OWNED_PATHS`]) under
/// which they exist; most specific prefix first. Settings may still name them when the
/// condition does not hold (to warn that they do nothing); `.env.example` must not list
/// them then.
const OPTION_VARIABLES: [(&str, &str); 7] = [
    ("CACHE_REDIS_", "redis"),
    // The L1 in front of Redis and compression in Redis.
    ("CACHE_PERSISTENT_L1_", "redis"),
    ("CACHE_COMPRESS_", "redis"),
    ("CACHE_", "cache"),
    ("APP_", "web"),
    ("WORKER_", "worker"),
    ("DATABASE_", r#"database != "none""#),
];

#[test]
fn every_valid_combination_generates_a_clean_project() {
    let combinations = combinations::valid();
    // Problem -> combinations that have it: most problems are shared by many.
    let mut problems_seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut kept = Vec::new();
    let mut failed = 0;
    for combination in &combinations {
        let found = match generate::combination(combination) {
            Err(failed) => vec![format!("generation failed: {}", failed.message)],
            Ok(mut project) => {
                let found = problems(&project.path, &project.name, combination);
                // A few kept projects are enough to look at; dozens would fill /tmp.
                if !found.is_empty() && kept.len() < 3 {
                    kept.push(project.keep().display().to_string());
                }
                found
            }
        };
        failed += usize::from(!found.is_empty());
        for problem in found {
            problems_seen
                .entry(problem)
                .or_default()
                .push(combination.label());
        }
    }
    crate::cargo::progress(&format!(
        "static checks: {} of {} valid combinations clean",
        combinations.len() - failed,
        combinations.len()
    ));
    let report: Vec<String> = problems_seen
        .iter()
        .map(|(problem, names)| match names.as_slice() {
            [only] => format!("{problem}\n    in {only}"),
            [first, ..] => format!(
                "{problem}\n    in {} combinations, e.g. {first}",
                names.len()
            ),
            [] => unreachable!("a problem is recorded with its combination"),
        })
        .collect();
    assert!(
        report.is_empty(),
        "{failed} of {} combinations have problems:\n{}\n(kept: {})",
        combinations.len(),
        report.join("\n"),
        kept.join(", ")
    );
}

/// Every problem found in the project generated at `root` for `combination`.
pub fn problems(root: &Path, name: &str, combination: &Combination) -> Vec<String> {
    let tree = Tree::read(root, name);
    let mut problems = Vec::new();
    problems.extend(no_template_machinery(&tree));
    problems.extend(no_empty_directories(&tree));
    problems.extend(options_own_their_files(&tree, combination));
    problems.extend(no_mentions_of_absent_options(&tree, combination));
    problems.extend(dependencies_are_used(&tree, name));
    problems.extend(modules_are_declared(&tree));
    problems.extend(env_example_matches_settings(&tree, combination));
    if combination.is_on("docker") {
        problems.extend(docker::problems(root, name, combination));
    }
    if combination.is_on("github_actions") {
        problems.extend(workflow_runs_the_checks(&tree, combination));
    }
    problems
}

/// A generated project's files, read once.
struct Tree {
    /// Every file, relative to the root, with its text (empty for binary files).
    files: Vec<(PathBuf, String)>,
    /// Every directory, relative to the root.
    dirs: Vec<PathBuf>,
    /// Directories with nothing in them.
    empty_dirs: Vec<PathBuf>,
    /// The project's name and crate name: user-chosen words, never findings.
    own_names: [String; 2],
}

impl Tree {
    fn read(root: &Path, name: &str) -> Self {
        let mut tree = Tree {
            files: Vec::new(),
            dirs: Vec::new(),
            empty_dirs: Vec::new(),
            own_names: [name.to_owned(), name.replace('-', "_")],
        };
        tree.walk(root, Path::new(""));
        tree.files.sort();
        tree
    }

    fn walk(&mut self, root: &Path, relative: &Path) {
        let entries: Vec<_> = std::fs::read_dir(root.join(relative))
            .map(|entries| entries.filter_map(Result::ok).collect())
            .unwrap_or_default();
        if entries.is_empty() && !relative.as_os_str().is_empty() {
            self.empty_dirs.push(relative.to_path_buf());
        }
        for entry in entries {
            let path = relative.join(entry.file_name());
            if entry.path().is_dir() {
                self.dirs.push(path.clone());
                self.walk(root, &path);
            } else {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                self.files.push((path, text));
            }
        }
    }

    fn exists(&self, path: &str) -> bool {
        let path = Path::new(path);
        self.dirs.iter().any(|d| d == path) || self.files.iter().any(|(f, _)| f == path)
    }

    fn text(&self, path: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(f, _)| f == Path::new(path))
            .map(|(_, text)| text.as_str())
    }

    /// Rust files under `dir` (`src`, `tests`, `benches`).
    fn rust_files<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a (PathBuf, String)> {
        self.files.iter().filter(move |(path, _)| {
            path.starts_with(dir) && path.extension().is_some_and(|e| e == "rs")
        })
    }

    /// `text` with the project's own name taken out (`web-nocache` says "cache").
    fn without_own_names(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for name in &self.own_names {
            text = text.replace(name.as_str(), "PROJECT");
        }
        text
    }
}

fn regex(pattern: &'static str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// No Liquid, hook scripts, `.liquid` suffixes or cargo-generate config in the output.
fn no_template_machinery(tree: &Tree) -> Vec<String> {
    static LIQUID: OnceLock<Regex> = OnceLock::new();
    // `{%` anywhere, or `{{ name` (Rust's `{{}}` escapes have no name); GitHub's `${{ }}`
    // is the workflow's own syntax.
    let liquid = LIQUID.get_or_init(|| regex(r"\{%|\{\{-?\s*[A-Za-z_]"));
    let mut problems = Vec::new();
    for (path, text) in &tree.files {
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        if file_name.ends_with(".rhai") || file_name.ends_with(".liquid") {
            problems.push(format!(
                "{}: template machinery in the output",
                path.display()
            ));
        }
        if file_name == "cargo-generate.toml" {
            problems.push(format!(
                "{}: cargo-generate's config in the output",
                path.display()
            ));
        }
        for found in liquid.find_iter(text) {
            if found.as_str().starts_with("{{") && text[..found.start()].ends_with('$') {
                continue;
            }
            problems.push(format!(
                "{}:{}: Liquid left in the output: `{}`",
                path.display(),
                line_of(text, found.start()),
                text[found.start()..]
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
            ));
        }
    }
    problems
}

fn no_empty_directories(tree: &Tree) -> Vec<String> {
    tree.empty_dirs
        .iter()
        .map(|dir| format!("{}/: empty directory", dir.display()))
        .collect()
}

/// Each option's files exist exactly when its conditions hold, and every path of a
/// `[conditional.'...'] ignore` list is gone while its key holds.
fn options_own_their_files(tree: &Tree, combination: &Combination) -> Vec<String> {
    let mut problems = Vec::new();
    for (expressions, paths) in OWNED_PATHS {
        let conditions: Vec<options::Condition> = expressions
            .iter()
            .map(|e| options::checked_condition(e))
            .collect();
        let failing: Vec<String> = conditions
            .iter()
            .filter(|condition| !combination.satisfies(condition))
            .map(|condition| condition.negated().to_string())
            .collect();
        for path in *paths {
            match (tree.exists(path), failing.is_empty()) {
                (false, true) => problems.push(format!(
                    "{path}: missing although {}",
                    conditions
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" and ")
                )),
                (true, false) => {
                    problems.push(format!(
                        "{path}: present although {}",
                        failing.join(" and ")
                    ));
                }
                _ => {}
            }
        }
    }
    for (condition, paths) in options::ignore_blocks() {
        if !combination.satisfies(condition) {
            continue;
        }
        for path in paths {
            if tree.exists(path) {
                problems.push(format!(
                    "{path}: present although {condition} and cargo-generate.toml ignores it then"
                ));
            }
        }
    }
    problems
}

/// What an option left out must not leave behind.
///
/// - Without the cache, `src/` does not mention caching at all, prose included: the
///   concept does not exist in that service (HTTP's `Cache-Control` is another thing);
///   and no manifest names mini-moka or a `CACHE_*` variable.
/// - Without redis, no Rust identifier says redis (no dead `Backend::Redis`, no
///   `redis::` path, no `redis_url` field), the manifests have no redis crate, variable
///   or service. Prose may still say "Redis": a redis-less cache explains that its
///   persistent alias is in-process, and settings warn about `CACHE_REDIS_*`.
/// - Without the worker, no `WORKER_*` variable; without web, no actix.
/// - Only the chosen database is named ([`no_mentions_of_other_databases`]).
fn no_mentions_of_absent_options(tree: &Tree, combination: &Combination) -> Vec<String> {
    // The named configuration files, plus Rust files under `rust_dirs`.
    let files = |names: &[&str], rust_dirs: &[&str]| -> Vec<&(PathBuf, String)> {
        tree.files
            .iter()
            .filter(|(path, _)| {
                names.iter().any(|name| path == Path::new(name))
                    || (path.extension().is_some_and(|e| e == "rs")
                        && rust_dirs.iter().any(|dir| path.starts_with(dir)))
            })
            .collect()
    };
    let mut problems = Vec::new();
    if !combination.is_on("redis") {
        let manifests = files(
            &["Cargo.toml", ".env.example", "compose.yaml", "Dockerfile"],
            &[],
        );
        problems.extend(mentions(
            tree,
            manifests,
            &regex(r"(?i)redis"),
            "redis is off",
        ));
        let code: Vec<(PathBuf, String)> = files(&[], &["src", "tests", "benches"])
            .into_iter()
            .map(|(path, text)| (path.clone(), rust_code(text)))
            .collect();
        let identifier = regex(r"(?i)[a-z0-9_]*redis[a-z0-9_]*");
        problems.extend(mentions(
            tree,
            code.iter().collect(),
            &identifier,
            "redis is off",
        ));
    }
    if !combination.is_on("cache") {
        // Any word containing "cach": cache, caches, cached, caching, CacheSettings...
        let word = regex(r"(?i)[a-z0-9_]*cach[a-z0-9_]*");
        problems.extend(mentions(tree, files(&[], &["src"]), &word, "cache is off"));
        let manifests = files(&["Cargo.toml", ".env.example"], &[]);
        let names = regex(r"mini-moka|CACHE_[A-Z_]+");
        problems.extend(mentions(tree, manifests, &names, "cache is off"));
    }
    if !combination.is_on("worker") {
        let files = files(&[".env.example", "compose.yaml"], &["src"]);
        problems.extend(mentions(
            tree,
            files,
            &regex(r"WORKER_[A-Z_]+"),
            "worker is off",
        ));
    }
    if !combination.is_on("web") {
        let files = files(&["Cargo.toml"], &[]);
        problems.extend(mentions(tree, files, &regex(r"actix"), "web is off"));
    }
    problems.extend(no_mentions_of_other_databases(tree, combination));
    problems
}

/// The manifests name only the chosen database: no SQLite crate or URL with PostgreSQL,
/// no PostgreSQL server or driver with SQLite, and without a database neither sqlx nor a
/// `DATABASE_*` variable (nor sqlx in any Rust code).
fn no_mentions_of_other_databases(tree: &Tree, combination: &Combination) -> Vec<String> {
    /// Words the manifests must not contain while the condition holds.
    const ABSENT_WORDS: [(&str, &str); 3] = [
        (r#"database != "sqlite""#, r"(?i)sqlite"),
        (r#"database != "postgres""#, r"(?i)postgres"),
        (r#"database == "none""#, r"sqlx|DATABASE_[A-Z_]+"),
    ];
    const MANIFESTS: [&str; 5] = [
        "Cargo.toml",
        ".env.example",
        "compose.yaml",
        "Dockerfile",
        ".github/workflows/ci.yml",
    ];
    let manifests: Vec<&(PathBuf, String)> = tree
        .files
        .iter()
        .filter(|(path, _)| MANIFESTS.iter().any(|name| path == Path::new(name)))
        .collect();
    let mut problems = Vec::new();
    for (expression, pattern) in ABSENT_WORDS {
        let condition = options::checked_condition(expression);
        if combination.satisfies(&condition) {
            let why = condition.to_string();
            problems.extend(mentions(tree, manifests.clone(), &regex(pattern), &why));
        }
    }
    if combination.is("database", "none") {
        let code: Vec<(PathBuf, String)> = tree
            .files
            .iter()
            .filter(|(path, _)| path.extension().is_some_and(|e| e == "rs"))
            .filter(|(path, _)| path.starts_with("src") || path.starts_with("tests"))
            .map(|(path, text)| (path.clone(), rust_code(text)))
            .collect();
        let sqlx = regex(r"\bsqlx\b");
        problems.extend(mentions(
            tree,
            code.iter().collect(),
            &sqlx,
            "database is none",
        ));
    }
    problems
}

/// Matches of `pattern` in `files`, one line per file (the first match and how many more),
/// ignoring the project's own name and HTTP's `Cache-Control`.
fn mentions(
    tree: &Tree,
    files: Vec<&(PathBuf, String)>,
    pattern: &Regex,
    why: &str,
) -> Vec<String> {
    static CACHE_CONTROL: OnceLock<Regex> = OnceLock::new();
    let control = CACHE_CONTROL.get_or_init(|| regex(r"(?i)cache[-_]control"));
    let mut problems = Vec::new();
    for (path, text) in files {
        let text = control
            .replace_all(&tree.without_own_names(text), "HEADER")
            .into_owned();
        let found: Vec<_> = pattern.find_iter(&text).collect();
        let Some(first) = found.first() else { continue };
        let more = match found.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        problems.push(format!(
            "{}:{}: `{}`{more} although {why}",
            path.display(),
            line_of(&text, first.start()),
            first.as_str()
        ));
    }
    problems
}

/// Rust source with comments and the contents of string and character literals blanked
/// out (lines kept, so line numbers still match): what is left is code.
fn rust_code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars[..i]
                .last()
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string: r"...", r#"..."#.
            let hashes = chars[i + 1..].iter().take_while(|h| **h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            out.push('"');
            i += 2 + hashes;
            while i < chars.len() && !chars[i..].starts_with(&closing) {
                out.push(blank(chars[i]));
                i += 1;
            }
            out.push('"');
            i += closing.len();
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // Escaped character literal: '\n', '\'', '\u{..}'.
            out.push_str("''");
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every dependency is named in code: `[dependencies]` in `src/`, dev-dependencies in
/// `src/` (unit tests), `tests/` or `benches/`.
fn dependencies_are_used(tree: &Tree, name: &str) -> Vec<String> {
    let Some(text) = tree.text("Cargo.toml") else {
        return vec!["Cargo.toml: missing".to_owned()];
    };
    let manifest: toml::Table = match toml::from_str(text) {
        Ok(manifest) => manifest,
        Err(error) => return vec![format!("Cargo.toml: not valid TOML: {error}")],
    };
    let mut problems = Vec::new();
    let package = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str());
    if package != Some(name) {
        problems.push(format!(
            "Cargo.toml: package name {package:?}, expected {name:?}"
        ));
    }
    let code = |dirs: &[&str]| -> String {
        dirs.iter()
            .flat_map(|dir| tree.rust_files(dir))
            .map(|(_, text)| rust_code(text))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let src = code(&["src"]);
    let all = code(&["src", "tests", "benches"]);
    for (section, searched, where_) in [
        ("dependencies", &src, "src/"),
        ("dev-dependencies", &all, "src/, tests/ or benches/"),
    ] {
        let Some(dependencies) = manifest.get(section).and_then(|d| d.as_table()) else {
            continue;
        };
        for dependency in dependencies.keys() {
            let ident = dependency.replace('-', "_");
            let used = Regex::new(&format!(
                r"\b{ident}::|\buse\s+{ident}\b|\bextern\s+crate\s+{ident}\b"
            ))
            .expect("valid regex")
            .is_match(searched);
            if !used {
                problems.push(format!(
                    "Cargo.toml: [{section}] `{dependency}` is not used in {where_}"
                ));
            }
        }
    }
    problems
}

/// Every Rust file that is not a crate root is declared by `mod` in its parent module,
/// so no file is dead weight that the compiler never sees.
fn modules_are_declared(tree: &Tree) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, _) in &tree.files {
        if path.extension().is_none_or(|e| e != "rs") || is_crate_root(path) {
            continue;
        }
        let Some(top) = path.iter().next().and_then(|t| t.to_str()) else {
            continue;
        };
        if !["src", "tests", "benches", "examples"].contains(&top) {
            continue;
        }
        let (module, parent_dir) = if path.file_name().is_some_and(|f| f == "mod.rs") {
            let dir = path.parent().unwrap_or(Path::new(""));
            (
                dir.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                dir.parent().unwrap_or(Path::new("")).to_path_buf(),
            )
        } else {
            (
                path.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                path.parent().unwrap_or(Path::new("")).to_path_buf(),
            )
        };
        let mut parents: Vec<PathBuf> = ["mod.rs", "main.rs", "lib.rs"]
            .iter()
            .map(|file| parent_dir.join(file))
            .collect();
        parents.push(parent_dir.with_extension("rs"));
        let declaration = Regex::new(&format!(r"\bmod\s+{module}\s*;")).expect("valid regex");
        let declared = parents.iter().any(|parent| {
            tree.text(&parent.to_string_lossy())
                .is_some_and(|text| declaration.is_match(&rust_code(text)))
        });
        if !declared {
            problems.push(format!(
                "{}: no `mod {module};` declares it (dead file)",
                path.display()
            ));
        }
    }
    problems
}

fn is_crate_root(path: &Path) -> bool {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    matches!(
        parts.as_slice(),
        ["src", "main.rs" | "lib.rs"]
            | ["build.rs"]
            | ["src", "bin", _]
            | ["tests" | "benches" | "examples", _]
            | ["src", "bin", _, "main.rs"]
            | ["tests" | "benches" | "examples", _, "main.rs"]
    )
}

/// `.env.example` lists exactly the `APP_*`, `CACHE_*`, `WORKER_*`, `LOG_*` and
/// `DATABASE_*` variables (and `RUST_LOG`) that `src/settings*` and the cache engine's
/// settings (`crates/cache/src/settings`) read, commented out or not, leaving out those
/// of options that are off ([`OPTION_VARIABLES`]).
fn env_example_matches_settings(tree: &Tree, combination: &Combination) -> Vec<String> {
    let Some(example) = tree.text(".env.example") else {
        return vec![".env.example: missing".to_owned()];
    };
    let relevant =
        |name: &str| name == "RUST_LOG" || SETTINGS_PREFIXES.iter().any(|p| name.starts_with(p));
    let option_is_on = |name: &str| {
        OPTION_VARIABLES
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .is_none_or(|(_, expression)| {
                combination.satisfies(&options::checked_condition(expression))
            })
    };
    // Names, not the prefixes (`"APP_"`) that envy reads a concern's variables with.
    let read_pattern = regex(r#""([A-Z][A-Z0-9_]*[A-Z0-9])""#);
    let mut read = BTreeSet::new();
    let engine_settings = "crates/cache/src/settings";
    for (path, text) in tree
        .rust_files("src")
        .chain(tree.rust_files(engine_settings))
    {
        let read_here = path == Path::new("src/settings.rs")
            || path.starts_with("src/settings")
            || path.starts_with(engine_settings);
        if !read_here {
            continue;
        }
        // Unit tests may name variables in any way; what matters is what the code reads.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for captures in read_pattern.captures_iter(code) {
            if relevant(&captures[1]) && option_is_on(&captures[1]) {
                read.insert(captures[1].to_owned());
            }
        }
    }
    let listed: BTreeSet<String> = regex(r"(?m)^[ \t]*#?[ \t]*([A-Z][A-Z0-9_]*)=")
        .captures_iter(example)
        .map(|captures| captures[1].to_owned())
        .filter(|name| relevant(name))
        .collect();
    let mut problems = Vec::new();
    for name in read.difference(&listed) {
        problems.push(format!(
            ".env.example: {name} is read by src/settings but not listed"
        ));
    }
    for name in listed.difference(&read) {
        problems.push(format!(
            ".env.example: {name} is listed but src/settings never reads it"
        ));
    }
    if read.is_empty() {
        problems.push("src/settings: no variable read; the check would prove nothing".to_owned());
    }
    problems
}

/// The CI workflow is valid YAML (Liquid left GitHub's `${{ }}` alone) and runs rustfmt,
/// clippy and the tests, with a redis-server for them when redis is on.
fn workflow_runs_the_checks(tree: &Tree, combination: &Combination) -> Vec<String> {
    const PATH: &str = ".github/workflows/ci.yml";
    let Some(text) = tree.text(PATH) else {
        return vec![format!("{PATH}: missing")];
    };
    let workflow: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(workflow) => workflow,
        Err(error) => return vec![format!("{PATH}: not valid YAML: {error}")],
    };
    let Some(jobs) = workflow.get("jobs").and_then(|jobs| jobs.as_mapping()) else {
        return vec![format!("{PATH}: no jobs")];
    };
    let commands: Vec<&str> = jobs
        .values()
        .filter_map(|job| job.get("steps").and_then(|steps| steps.as_sequence()))
        .flatten()
        .filter_map(|step| step.get("run").and_then(|run| run.as_str()))
        .collect();
    let commands = commands.join("\n");
    let mut required = vec![
        "cargo fmt --check",
        "cargo clippy",
        "-D warnings",
        "cargo test",
    ];
    if combination.is_on("redis") {
        required.push("redis-server");
    }
    required
        .into_iter()
        .filter(|command| !commands.contains(command))
        .map(|command| format!("{PATH}: no step runs `{command}`"))
        .collect()
}

#[test]
fn the_checks_catch_what_they_are_for() {
    // A hand-made tree with one of each defect; a check that finds nothing here is broken.
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dirs");
        std::fs::write(path, text).expect("write file");
    };
    write(
        "Cargo.toml",
        "[package]\nname = \"demo-nocache\"\n[dependencies]\nserde = \"1\"\nunused-crate = \"1\"\nredis = \"1\"\nsqlx = \"0.8\"\n",
    );
    write("src/lib.rs", "pub mod settings;\nuse serde::Serialize;\n");
    write("src/main.rs", "fn main() { demo_nocache::run(); }\n");
    write("src/dead.rs", "// nobody declares me\n");
    write(
        "src/settings.rs",
        "fn read() { env.string(\"LOG_LEVEL\"); env.string(\"CACHE_TTL\"); }\n",
    );
    write("src/web/routes.rs", "// {{ project-name }}\n");
    write(".env.example", "APP_PORT=8080\n# APP_UNUSED=1\n");
    write("hooks.rhai", "");
    write(
        "migrations/0001_items.sql",
        "create table items (id integer);\n",
    );
    std::fs::create_dir_all(root.join("empty")).expect("create dir");
    let combination = Combination::defaults()
        .with("web", false)
        .with("cache", false)
        .with("docker", false);
    let found = problems(root, "demo-nocache", &combination).join("\n");
    for expected in [
        "hooks.rhai: template machinery",
        "src/web/routes.rs:1: Liquid left",
        "empty/: empty directory",
        "src/web: present although web is off",
        "migrations: present although database is none",
        "Cargo.toml:7: `sqlx` although database is none",
        "Cargo.toml:6: `redis` although redis is off",
        "src/settings.rs:1: `CACHE_TTL` although cache is off",
        "`unused-crate` is not used",
        "`redis` is not used",
        "src/dead.rs: no `mod dead;`",
        "LOG_LEVEL is read by src/settings but not listed",
        "APP_UNUSED is listed but src/settings never reads it",
    ] {
        assert!(
            found.contains(expected),
            "missing {expected:?} in:\n{found}"
        );
    }
    assert!(!found.contains("`serde`"), "serde is used:\n{found}");
    assert!(
        !found.contains("demo_nocache"),
        "own name flagged:\n{found}"
    );
    assert!(
        !found.contains("src/settings.rs: no `mod"),
        "declared module flagged:\n{found}"
    );
}

#[test]
fn every_owned_path_and_option_variable_names_a_real_option_and_value() {
    // A misspelt option or choice here would make a check hold for no combination.
    let expressions = OWNED_PATHS
        .iter()
        .flat_map(|(expressions, _)| expressions.iter())
        .chain(OPTION_VARIABLES.iter().map(|(_, expression)| expression));
    for expression in expressions {
        options::checked_condition(expression);
    }
}

#[test]
fn rust_code_keeps_code_and_blanks_prose() {
    let text = "use redis::Client; // redis\n/* Redis */ let s = \"redis://x\";\n\
                let r = r#\"redis\"#; let c = '\"'; fn f<'a>(x: &'a str) {}\n";
    let code = rust_code(text);
    assert_eq!(code.lines().count(), text.lines().count());
    assert_eq!(code.matches("redis").count(), 1, "{code}");
    assert!(code.contains("use redis::Client;"), "{code}");
    assert!(code.contains("fn f<'a>(x: &'a str) {}"), "{code}");
    assert!(!code.contains("Redis"), "{code}");
}

/// The longest project name whose generated code `cargo fmt --check` accepts as it is:
/// the crate's name sits in `use` lines and strings whose length follows it, which rustfmt
/// wraps past 100 columns.
const LONGEST_TIDY_NAME: usize = 48;

#[test]
fn a_long_project_name_generates_formatted_code() {
    let name = "payments-and-refunds-service-for-northern-region";
    assert_eq!(name.len(), LONGEST_TIDY_NAME);
    let mut problems = Vec::new();
    for database in ["sqlite", "postgres", "none"] {
        let combination = Combination::everything_on().with("database", database);
        let project = generate::generate(name, &combination.defines())
            .unwrap_or_else(|failed| panic!("{name}, database={database}: {failed}"));
        let mut command = std::process::Command::new("cargo");
        command.args(["fmt", "--check"]);
        let label = format!("{name}-{database}");
        if let Err(diff) = crate::cargo::run_command(
            &label,
            "cargo fmt --check",
            command,
            &project.path,
            std::time::Duration::from_secs(120),
        ) {
            problems.push(format!("database={database}: {diff}"));
        }
    }
    assert!(
        problems.is_empty(),
        "a {LONGEST_TIDY_NAME}-character name leaves code for rustfmt to change:\n{}",
        problems.join("\n")
    );
}
