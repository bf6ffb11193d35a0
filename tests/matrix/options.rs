//! The template's options, read from `cargo-generate.toml`: the one place they are declared.
//!
//! Every placeholder there becomes an option the matrix varies, so a new option cannot be
//! forgotten by the harness. A placeholder declared under `[conditional.'x'.placeholders]`
//! is only asked when `x` holds (`redis` only when `cache` is on); the harness leaves it
//! out of the answers otherwise, exactly as an interactive user never sees the prompt.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One boolean placeholder of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOption {
    /// The placeholder's name, as passed with `-d name=value`.
    pub name: String,
    /// The answer a user gets by pressing enter.
    pub default: bool,
    /// Set for placeholders that are only asked when another option has a given value.
    pub asked_when: Option<Condition>,
}

/// `option == expected`: the condition of a `[conditional.'option']` or `'!option'` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The option the condition reads.
    pub option: String,
    /// The value that makes the condition hold.
    pub expected: bool,
}

/// The repository's root (where `cargo-generate.toml` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every option, in the order `cargo-generate.toml` declares them (conditional ones last).
pub fn all() -> &'static [TemplateOption] {
    static OPTIONS: OnceLock<Vec<TemplateOption>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let path = repo_root().join("cargo-generate.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        parse(&path, &text)
    })
}

/// The option called `name`; panics when `cargo-generate.toml` has no such placeholder, so
/// a renamed option breaks the harness loudly instead of silently testing nothing.
pub fn get(name: &str) -> &'static TemplateOption {
    all()
        .iter()
        .find(|option| option.name == name)
        .unwrap_or_else(|| panic!("cargo-generate.toml declares no placeholder `{name}`"))
}

/// The `ignore` list of `[conditional.'!name']`: the paths left out when `name` is off.
pub fn ignored_when_off(name: &str) -> Vec<String> {
    let path = repo_root().join("cargo-generate.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let table: toml::Table = toml::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid TOML: {error}", path.display()));
    table
        .get("conditional")
        .and_then(|conditional| conditional.get(format!("!{name}").as_str()))
        .and_then(|block| block.get("ignore"))
        .and_then(|ignore| ignore.as_array())
        .map(|paths| {
            paths
                .iter()
                .filter_map(|path| path.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn parse(path: &Path, text: &str) -> Vec<TemplateOption> {
    let table: toml::Table = toml::from_str(text)
        .unwrap_or_else(|error| panic!("{} is not valid TOML: {error}", path.display()));
    let mut options = Vec::new();
    if let Some(placeholders) = table.get("placeholders").and_then(|p| p.as_table()) {
        for (name, spec) in placeholders {
            options.push(option(name, spec, None));
        }
    }
    if let Some(conditionals) = table.get("conditional").and_then(|c| c.as_table()) {
        for (expression, block) in conditionals {
            let Some(placeholders) = block.get("placeholders").and_then(|p| p.as_table()) else {
                continue;
            };
            let condition = condition(expression);
            for (name, spec) in placeholders {
                options.push(option(name, spec, Some(condition.clone())));
            }
        }
    }
    for option in &options {
        if let Some(condition) = &option.asked_when {
            assert!(
                options.iter().any(|other| other.name == condition.option),
                "placeholder `{}` is asked when `{}`, which is not a placeholder",
                option.name,
                condition.option
            );
        }
    }
    options
}

fn option(name: &str, spec: &toml::Value, asked_when: Option<Condition>) -> TemplateOption {
    let kind = spec.get("type").and_then(|t| t.as_str());
    assert_eq!(
        kind,
        Some("bool"),
        "placeholder `{name}` has type {kind:?}; the harness varies only bool placeholders"
    );
    let default = spec
        .get("default")
        .and_then(|d| d.as_bool())
        .unwrap_or_else(|| panic!("placeholder `{name}` needs a boolean default"));
    TemplateOption {
        name: name.to_owned(),
        default,
        asked_when,
    }
}

/// Parses `x` or `!x`; richer Rhai expressions would need a real evaluator here.
fn condition(expression: &str) -> Condition {
    let expression = expression.trim();
    let (option, expected) = match expression.strip_prefix('!') {
        Some(rest) => (rest.trim(), false),
        None => (expression, true),
    };
    assert!(
        !option.is_empty() && option.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "conditional `{expression}` declares placeholders; the harness understands only `x` and `!x`"
    );
    Condition {
        option: option.to_owned(),
        expected,
    }
}

#[test]
fn every_conditional_placeholder_depends_on_an_unconditional_one() {
    // A chain (asked when another conditional one is on) would need ordering the
    // matrix does not do; this keeps that assumption visible.
    for option in all() {
        if let Some(condition) = &option.asked_when {
            assert!(
                get(&condition.option).asked_when.is_none(),
                "`{}` is asked when `{}`, which is itself conditional",
                option.name,
                condition.option
            );
        }
    }
    assert!(
        all().len() >= 2,
        "cargo-generate.toml declares too few options"
    );
}

#[test]
fn parses_plain_and_conditional_placeholders() {
    let text = r#"
        [placeholders.a]
        type = "bool"
        prompt = "A?"
        default = true
        [conditional.'!a'.placeholders.b]
        type = "bool"
        prompt = "B?"
        default = false
        [conditional.'!a']
        ignore = ["x"]
    "#;
    let options = parse(Path::new("test.toml"), text);
    assert_eq!(
        options,
        vec![
            TemplateOption {
                name: "a".into(),
                default: true,
                asked_when: None
            },
            TemplateOption {
                name: "b".into(),
                default: false,
                asked_when: Some(Condition {
                    option: "a".into(),
                    expected: false
                })
            },
        ]
    );
}
