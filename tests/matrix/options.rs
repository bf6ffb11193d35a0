//! The template's options, read from `cargo-generate.toml`: the one place they are declared.
//!
//! Every placeholder there becomes an option the matrix varies, so a new option cannot be
//! forgotten by the harness: a bool takes `false` and `true`, a string takes each of its
//! `choices`. A placeholder declared under `[conditional.'x'.placeholders]` is only asked
//! when `x` holds; one declared under several conditions (`redis` under `cache` and
//! `!cache`, so its default follows the cache) is asked when any holds, with that
//! declaration's default. An option no declaration asks for is left out of the answers,
//! exactly as an interactive user never sees the prompt.
//!
//! Placeholders are declared under `x` or `!x` only; `ignore` lists may also be keyed by
//! `x == "value"` or `x != "value"` ([`ignore_blocks`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One placeholder of the template: a bool, or a string with a list of `choices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOption {
    /// The placeholder's name, as passed with `-d name=value`.
    pub name: String,
    /// The answers it takes; every declaration agrees on them.
    pub kind: Kind,
    /// Where it is declared; unconditional placeholders have one without a condition.
    pub declarations: Vec<Declaration>,
}

impl TemplateOption {
    /// Whether the placeholder depends on another option's answer.
    pub fn is_conditional(&self) -> bool {
        self.declarations.iter().all(|d| d.asked_when.is_some())
    }

    /// Every answer the placeholder takes: `false` and `true`, or its choices in order.
    pub fn values(&self) -> Vec<Value> {
        match &self.kind {
            Kind::Bool => vec![Value::Bool(false), Value::Bool(true)],
            Kind::Choice(choices) => choices.iter().cloned().map(Value::Choice).collect(),
        }
    }

    /// Whether `value` is one of [`values`](Self::values).
    pub fn takes(&self, value: &Value) -> bool {
        self.values().contains(value)
    }
}

/// What a placeholder takes: `type = "bool"`, or `type = "string"` with `choices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// The `choices` list, in declaration order.
    Choice(Vec<String>),
}

/// One answer to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Bool(bool),
    Choice(String),
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Choice(value.to_owned())
    }
}

/// As cargo-generate reads it after `-d name=`: `true`, `false` or the choice itself.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(value) => write!(f, "{value}"),
            Value::Choice(choice) => f.write_str(choice),
        }
    }
}

/// One `[placeholders.x]` or `[conditional.'c'.placeholders.x]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The condition of the enclosing `[conditional]` block, if any.
    pub asked_when: Option<Condition>,
    /// The answer a user gets by pressing enter: a value of the placeholder's kind.
    pub default: Value,
}

/// A condition on one option, as a `[conditional.'...']` key spells it: `x` and `!x` for
/// a bool, `x == "value"` and `x != "value"` for a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The option the condition reads.
    pub option: String,
    /// The value it compares the option with (`true` for `x`, `false` for `!x`).
    pub value: Value,
    /// Whether it holds when the option has that value (`x`, `!x`, `==`) or when it has
    /// any other (`!=`).
    pub equal: bool,
}

impl Condition {
    /// Whether the condition holds for an option whose value is `value`.
    pub fn holds(&self, value: &Value) -> bool {
        (*value == self.value) == self.equal
    }

    /// The condition that holds exactly when this one does not (`!x` for `x`).
    pub fn negated(&self) -> Condition {
        match &self.value {
            Value::Bool(on) => Condition {
                value: Value::Bool(!on),
                ..self.clone()
            },
            Value::Choice(_) => Condition {
                equal: !self.equal,
                ..self.clone()
            },
        }
    }

    /// Whether the key is `x` or `!x`, the only form placeholders are declared under.
    fn is_boolean(&self) -> bool {
        matches!(self.value, Value::Bool(_)) && self.equal
    }
}

/// How failures name it: `web is off`, `database is postgres`, `database is not none`.
impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.value, self.equal) {
            (Value::Bool(on), _) => {
                write!(f, "{} is {}", self.option, if *on { "on" } else { "off" })
            }
            (Value::Choice(choice), true) => write!(f, "{} is {choice}", self.option),
            (Value::Choice(choice), false) => write!(f, "{} is not {choice}", self.option),
        }
    }
}

/// The repository's root (where `cargo-generate.toml` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every option, in the order `cargo-generate.toml` declares them (conditional ones last).
pub fn all() -> &'static [TemplateOption] {
    static OPTIONS: OnceLock<Vec<TemplateOption>> = OnceLock::new();
    OPTIONS.get_or_init(|| parse(&config_path(), &config_text()))
}

/// The option called `name`; panics when `cargo-generate.toml` has no such placeholder, so
/// a renamed option breaks the harness loudly instead of silently testing nothing.
pub fn get(name: &str) -> &'static TemplateOption {
    all()
        .iter()
        .find(|option| option.name == name)
        .unwrap_or_else(|| panic!("cargo-generate.toml declares no placeholder `{name}`"))
}

/// Every `[conditional.'c'] ignore` list whose key is one condition (`x`, `!x`,
/// `x == "v"`, `x != "v"`), with that condition: the paths left out while it holds.
/// Keys joining several conditions (`!web && !worker`) are not read.
pub fn ignore_blocks() -> &'static [(Condition, Vec<String>)] {
    static BLOCKS: OnceLock<Vec<(Condition, Vec<String>)>> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        let path = config_path();
        let table = table(&path, &config_text());
        parse_ignore_blocks(&path, &table, all())
    })
}

/// `expression`, written like a `[conditional.'...']` key, read against the template's
/// options; panics when it is not one of the four forms of [`condition`] or compares an
/// option with a value it never has.
pub fn checked_condition(expression: &str) -> Condition {
    let condition = condition(expression)
        .unwrap_or_else(|| panic!("`{expression}` is not `x`, `!x`, `x == \"v\"` or `x != \"v\"`"));
    check_condition(all(), &condition, &format!("`{expression}`"));
    condition
}

fn config_path() -> PathBuf {
    repo_root().join("cargo-generate.toml")
}

fn config_text() -> String {
    let path = config_path();
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn table(path: &Path, text: &str) -> toml::Table {
    toml::from_str(text)
        .unwrap_or_else(|error| panic!("{} is not valid TOML: {error}", path.display()))
}

fn parse(path: &Path, text: &str) -> Vec<TemplateOption> {
    let table = table(path, text);
    let mut options: Vec<TemplateOption> = Vec::new();
    let mut declare = |name: &str, spec: &toml::Value, asked_when: Option<Condition>| {
        let (kind, declaration) = declaration(name, spec, asked_when);
        match options.iter_mut().find(|option| option.name == name) {
            Some(option) => {
                assert_eq!(
                    option.kind, kind,
                    "placeholder `{name}` is declared with different types or choices"
                );
                option.declarations.push(declaration);
            }
            None => options.push(TemplateOption {
                name: name.to_owned(),
                kind,
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
            let condition = condition(expression).unwrap_or_else(|| {
                panic!(
                    "conditional `{expression}` declares placeholders; the harness understands \
                     only `x` and `!x` there"
                )
            });
            assert!(
                condition.is_boolean(),
                "conditional `{expression}` declares placeholders; only `x` and `!x` may"
            );
            for (name, spec) in placeholders {
                declare(name, spec, Some(condition.clone()));
            }
        }
    }
    for option in &options {
        for declaration in &option.declarations {
            if let Some(condition) = &declaration.asked_when {
                check_condition(
                    &options,
                    condition,
                    &format!("placeholder `{}`", option.name),
                );
            }
        }
    }
    options
}

/// Panics unless `condition` reads a declared option and compares it with a value that
/// option takes (a misspelt choice would silently never match).
fn check_condition(options: &[TemplateOption], condition: &Condition, context: &str) {
    let option = options
        .iter()
        .find(|option| option.name == condition.option)
        .unwrap_or_else(|| {
            panic!(
                "{context} reads `{}`, which is not a placeholder",
                condition.option
            )
        });
    assert!(
        option.takes(&condition.value),
        "{context} compares `{}` with {:?}, which it never is (it takes {})",
        option.name,
        condition.value.to_string(),
        option
            .values()
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn parse_ignore_blocks(
    path: &Path,
    table: &toml::Table,
    options: &[TemplateOption],
) -> Vec<(Condition, Vec<String>)> {
    let Some(conditionals) = table.get("conditional").and_then(|c| c.as_table()) else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    for (expression, block) in conditionals {
        let Some(ignore) = block.get("ignore").and_then(|ignore| ignore.as_array()) else {
            continue;
        };
        let Some(condition) = condition(expression) else {
            continue;
        };
        check_condition(
            options,
            &condition,
            &format!("{}: [conditional.'{expression}']", path.display()),
        );
        let paths = ignore
            .iter()
            .filter_map(|path| path.as_str().map(str::to_owned))
            .collect();
        blocks.push((condition, paths));
    }
    blocks
}

fn declaration(
    name: &str,
    spec: &toml::Value,
    asked_when: Option<Condition>,
) -> (Kind, Declaration) {
    let kind = kind(name, spec);
    let default = match (&kind, spec.get("default")) {
        (Kind::Bool, Some(toml::Value::Boolean(default))) => Value::Bool(*default),
        (Kind::Choice(choices), Some(toml::Value::String(default)))
            if choices.contains(default) =>
        {
            Value::Choice(default.clone())
        }
        (_, default) => {
            panic!("placeholder `{name}` has default {default:?}, not one of its values")
        }
    };
    (
        kind,
        Declaration {
            asked_when,
            default,
        },
    )
}

/// A bool, or a string with a non-empty list of distinct `choices`; anything else (a
/// free-form string, a regex) has no finite set of answers to vary.
fn kind(name: &str, spec: &toml::Value) -> Kind {
    match spec.get("type").and_then(|t| t.as_str()) {
        Some("bool") => Kind::Bool,
        Some("string") => {
            let choices: Vec<String> = spec
                .get("choices")
                .and_then(|c| c.as_array())
                .unwrap_or_else(|| {
                    panic!("placeholder `{name}` is a string without `choices`; the harness varies only bools and choices")
                })
                .iter()
                .map(|choice| {
                    choice
                        .as_str()
                        .unwrap_or_else(|| panic!("placeholder `{name}` has a choice {choice} that is not a string"))
                        .to_owned()
                })
                .collect();
            let mut distinct = choices.clone();
            distinct.sort();
            distinct.dedup();
            assert!(
                !choices.is_empty() && distinct.len() == choices.len(),
                "placeholder `{name}` needs distinct choices, has {choices:?}"
            );
            Kind::Choice(choices)
        }
        other => panic!(
            "placeholder `{name}` has type {other:?}; the harness varies only bools and strings with choices"
        ),
    }
}

/// Parses `x`, `!x`, `x == "v"` or `x != "v"`; `None` for anything richer (`a && b`),
/// which would need a real Rhai evaluator.
pub fn condition(expression: &str) -> Option<Condition> {
    let expression = expression.trim();
    let is_name = |name: &str| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    for (operator, equal) in [("==", true), ("!=", false)] {
        let Some((option, value)) = expression.split_once(operator) else {
            continue;
        };
        let (option, value) = (option.trim(), value.trim());
        let choice = value.strip_prefix('"')?.strip_suffix('"')?;
        return (is_name(option) && !choice.contains('"')).then(|| Condition {
            option: option.to_owned(),
            value: Value::from(choice),
            equal,
        });
    }
    let (option, on) = match expression.strip_prefix('!') {
        Some(rest) => (rest.trim(), false),
        None => (expression, true),
    };
    is_name(option).then(|| Condition {
        option: option.to_owned(),
        value: Value::Bool(on),
        equal: true,
    })
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
        [conditional.'a'.placeholders.c]
        type = "string"
        prompt = "C?"
        choices = ["x", "y"]
        default = "y"
        [conditional.'!a']
        ignore = ["x"]
    "#;
    let options = parse(Path::new("test.toml"), text);
    let declaration = |on, default: bool| Declaration {
        asked_when: Some(Condition {
            option: "a".into(),
            value: Value::Bool(on),
            equal: true,
        }),
        default: Value::Bool(default),
    };
    assert_eq!(options.len(), 3, "{options:?}");
    assert_eq!(
        options[0],
        TemplateOption {
            name: "a".into(),
            kind: Kind::Bool,
            declarations: vec![Declaration {
                asked_when: None,
                default: Value::Bool(true),
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
    assert_eq!(options[2].kind, Kind::Choice(vec!["x".into(), "y".into()]));
    assert_eq!(options[2].declarations[0].default, Value::from("y"));
    assert_eq!(
        options[2].values(),
        vec![Value::from("x"), Value::from("y")]
    );
}

#[test]
fn reads_the_four_forms_of_condition_and_no_other() {
    let parsed = |expression| {
        condition(expression).map(|c| {
            let boolean = c.is_boolean();
            (c.option, c.value.to_string(), c.equal, boolean)
        })
    };
    let expect = |option: &str, value: &str, equal, boolean| {
        Some((option.to_owned(), value.to_owned(), equal, boolean))
    };
    assert_eq!(parsed("web"), expect("web", "true", true, true));
    assert_eq!(parsed(" !web "), expect("web", "false", true, true));
    assert_eq!(
        parsed(r#"database == "none""#),
        expect("database", "none", true, false)
    );
    assert_eq!(
        parsed(r#"database!="postgres""#),
        expect("database", "postgres", false, false)
    );
    for richer in [
        "!web && !worker",
        "!web || !redis",
        "database == none",
        r#"database == "a" || web == "b""#,
        r#"database == "sqlite" && web"#,
    ] {
        assert_eq!(parsed(richer), None, "{richer}");
    }
    let not_postgres = condition(r#"database != "postgres""#).expect("a condition");
    assert!(not_postgres.holds(&Value::from("none")));
    assert!(!not_postgres.holds(&Value::from("postgres")));
    assert_eq!(not_postgres.to_string(), "database is not postgres");
    assert_eq!(
        condition("!web").expect("a condition").to_string(),
        "web is off"
    );
}

#[test]
fn ignore_blocks_are_keyed_by_one_condition_on_a_value_the_option_takes() {
    let text = r#"
        [placeholders.web]
        type = "bool"
        prompt = "Web?"
        default = true
        [placeholders.database]
        type = "string"
        prompt = "Database?"
        choices = ["sqlite", "none"]
        default = "sqlite"
        [conditional.'!web']
        ignore = ["src/web"]
        [conditional.'database == "none"']
        ignore = ["migrations"]
        [conditional.'!web && database != "none"']
        ignore = ["unread"]
    "#;
    let path = Path::new("test.toml");
    let blocks = parse_ignore_blocks(path, &table(path, text), &parse(path, text));
    let mut found: Vec<(String, Vec<String>)> = blocks
        .into_iter()
        .map(|(condition, paths)| (condition.to_string(), paths))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("database is none".to_owned(), vec!["migrations".to_owned()]),
            ("web is off".to_owned(), vec!["src/web".to_owned()]),
        ]
    );
    let misspelt = text.replace(r#"'database == "none"'"#, r#"'database == "nil"'"#);
    let options = parse(path, &misspelt);
    let refused =
        std::panic::catch_unwind(|| parse_ignore_blocks(path, &table(path, &misspelt), &options));
    assert!(
        refused.is_err(),
        "a choice the option never takes is refused"
    );
}

#[test]
fn the_template_declares_its_choices_and_keys_its_ignores_readably() {
    // Reading every block checks each key's option and value against the declarations.
    assert!(!ignore_blocks().is_empty());
    for option in all() {
        for declaration in &option.declarations {
            assert!(option.takes(&declaration.default), "{option:?}");
        }
    }
}
