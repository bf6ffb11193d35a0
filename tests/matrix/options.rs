//! The template's options, read from `cargo-generate.toml`: the one place they are declared.
//!
//! Every placeholder there becomes an option the matrix varies, so a new option cannot be
//! forgotten by the harness. A placeholder declared under `[conditional.'x'.placeholders]`
//! is only asked when `x` holds; one declared under several conditions (`redis` under
//! `cache` and `!cache`, so its default follows the cache) is asked when any holds, with
//! that declaration's default. An option no declaration asks for is left out of the
//! answers, exactly as an interactive user never sees the prompt.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One boolean placeholder of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOption {
    /// The placeholder's name, as passed with `-d name=value`.
    pub name: String,
    /// Where it is declared; unconditional placeholders have one without a condition.
    pub declarations: Vec<Declaration>,
}

impl TemplateOption {
    /// Whether the placeholder depends on another option's answer.
    pub fn is_conditional(&self) -> bool {
        self.declarations.iter().all(|d| d.asked_when.is_some())
    }
}

/// One `[placeholders.x]` or `[conditional.'c'.placeholders.x]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The condition of the enclosing `[conditional]` block, if any.
    pub asked_when: Option<Condition>,
    /// The answer a user gets by pressing enter.
    pub default: bool,
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
    let mut options: Vec<TemplateOption> = Vec::new();
    let mut declare = |name: &str, spec: &toml::Value, asked_when: Option<Condition>| {
        let declaration = declaration(name, spec, asked_when);
        match options.iter_mut().find(|option| option.name == name) {
            Some(option) => option.declarations.push(declaration),
            None => options.push(TemplateOption {
                name: name.to_owned(),
                declarations: vec![declaration],
            }),
        }
    };
    if let Some(placeholders) = table.get("placeholders").and_then(|p| p.as_table()) {
        for (name, spec) in placeholders {
            declare(name, spec, None);
        }
    }
    if let Some(conditionals) = table.get("conditional").and_then(|c| c.as_table()) {
        for (expression, block) in conditionals {
            let Some(placeholders) = block.get("placeholders").and_then(|p| p.as_table()) else {
                continue;
            };
            let condition = condition(expression);
            for (name, spec) in placeholders {
                declare(name, spec, Some(condition.clone()));
            }
        }
    }
    for option in &options {
        for declaration in &option.declarations {
            if let Some(condition) = &declaration.asked_when {
                assert!(
                    options.iter().any(|other| other.name == condition.option),
                    "placeholder `{}` is asked when `{}`, which is not a placeholder",
                    option.name,
                    condition.option
                );
            }
        }
    }
    options
}

fn declaration(name: &str, spec: &toml::Value, asked_when: Option<Condition>) -> Declaration {
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
    Declaration {
        asked_when,
        default,
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
        !option.is_empty()
            && option
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
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
        for declaration in &option.declarations {
            if let Some(condition) = &declaration.asked_when {
                assert!(
                    !get(&condition.option).is_conditional(),
                    "`{}` is asked when `{}`, which is itself conditional",
                    option.name,
                    condition.option
                );
            }
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
        [conditional.'a'.placeholders.b]
        type = "bool"
        prompt = "B?"
        default = true
        [conditional.'!a']
        ignore = ["x"]
    "#;
    let options = parse(Path::new("test.toml"), text);
    let declaration = |expected, default| Declaration {
        asked_when: Some(Condition {
            option: "a".into(),
            expected,
        }),
        default,
    };
    assert_eq!(options.len(), 2, "{options:?}");
    assert_eq!(
        options[0],
        TemplateOption {
            name: "a".into(),
            declarations: vec![Declaration {
                asked_when: None,
                default: true
            }],
        }
    );
    assert_eq!(options[1].name, "b");
    // TOML tables need not keep their order; the conditions exclude each other anyway.
    assert_eq!(options[1].declarations.len(), 2, "{options:?}");
    for expected in [declaration(false, false), declaration(true, true)] {
        assert!(options[1].declarations.contains(&expected), "{options:?}");
    }
    assert!(options[1].is_conditional() && !options[0].is_conditional());
}
