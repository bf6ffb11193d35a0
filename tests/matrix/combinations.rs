//! Answers to the template's prompts: one [`Combination`] per generated project.
//!
//! A combination answers some options explicitly and leaves the rest to their defaults,
//! which for a conditional placeholder depend on other answers (`redis` defaults to the
//! `cache` answer, `database` to `sqlite` with web and `none` without). An answer is a
//! [`Value`]: a bool, or one of a string option's choices. An option no declaration asks
//! for is not passed to cargo-generate and counts as off. [`all`] enumerates every
//! distinct set of answers a user can give; [`REFUSALS`] says which of them the pre hook
//! must refuse, and with what words.

use crate::options::{self, Kind, TemplateOption, Value};

/// The entrypoint options: a project needs at least one.
pub const ENTRYPOINTS: [&str; 3] = ["web", "worker", "cli"];

/// Options that change no Rust code (only Docker and CI files), so building every
/// combination of them would compile the same crate again.
pub const NON_RUST: [&str; 2] = ["docker", "github_actions"];

/// The value of each string option in [`Combination::everything_on`]: the choice that
/// brings the most with it (for `database`, a server of its own in compose and CI).
pub const EVERYTHING_ON_CHOICES: [(&str, &str); 1] = [("database", "postgres")];

/// The choice of a string option that adds nothing, left out of package names.
const NOTHING: &str = "none";

/// An impossible set of answers and the words of the pre hook's refusal
/// (`hooks/pre.rhai`) that tell the user what to do.
pub struct Refusal {
    /// Whether these answers are impossible.
    pub applies: fn(&Combination) -> bool,
    /// Text the refusal must contain.
    pub message: &'static str,
}

/// The pre hook's rules, in the order it checks them.
pub const REFUSALS: [Refusal; 3] = [
    Refusal {
        applies: |c| !ENTRYPOINTS.iter().any(|entrypoint| c.is_on(entrypoint)),
        message: "enable at least one of web, worker or cli",
    },
    Refusal {
        applies: |c| c.is_on("redis") && !c.is_on("cache"),
        message: "redis=true needs cache=true",
    },
    Refusal {
        applies: |c| !c.is("database", NOTHING) && !c.is_on("web"),
        message: "needs web=true",
    },
];

/// One set of answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    /// Per option, in declaration order: the explicit answer, or `None` for the default.
    answers: Vec<(&'static TemplateOption, Option<Value>)>,
}

impl Combination {
    /// What a user gets by pressing enter at every prompt.
    pub fn defaults() -> Self {
        Self {
            answers: options::all().iter().map(|option| (option, None)).collect(),
        }
    }

    /// Every bool on, and each string option at its [`EVERYTHING_ON_CHOICES`] value.
    pub fn everything_on() -> Self {
        let answer = |option: &TemplateOption| match &option.kind {
            Kind::Bool => Value::Bool(true),
            Kind::Choice(_) => EVERYTHING_ON_CHOICES
                .iter()
                .find(|(name, _)| *name == option.name)
                .map(|(_, choice)| Value::from(*choice))
                .unwrap_or_else(|| {
                    panic!("EVERYTHING_ON_CHOICES has no value for `{}`", option.name)
                }),
        };
        Self {
            answers: options::all()
                .iter()
                .map(|option| (option, Some(answer(option))))
                .collect(),
        }
    }

    /// This combination with `name` answered `value` (`true`, or a choice such as
    /// `"postgres"`); panics on an unknown option or a value it does not take.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        let option = options::get(name);
        let value = value.into();
        assert!(option.takes(&value), "`{name}` never is {value}");
        for (candidate, answer) in &mut self.answers {
            if *candidate == option {
                *answer = Some(value.clone());
            }
        }
        self
    }

    /// Whether the bool option `name` is on: asked and answered (or defaulted to) `true`.
    pub fn is_on(&self, name: &str) -> bool {
        let option = options::get(name);
        assert_eq!(
            option.kind,
            Kind::Bool,
            "`{name}` is not a bool; ask for its value"
        );
        self.value(name) == Some(Value::Bool(true))
    }

    /// The effective answer to `name`; `None` when it is not asked.
    pub fn value(&self, name: &str) -> Option<Value> {
        let option = options::get(name);
        self.declaration_default(option)
            .map(|default| self.answer(option).cloned().unwrap_or(default))
    }

    /// Whether the string option `name` is asked and is `choice`; panics on a choice the
    /// option does not have, so a misspelling cannot pass for "no".
    pub fn is(&self, name: &str, choice: &str) -> bool {
        let choice = Value::from(choice);
        assert!(
            options::get(name).takes(&choice),
            "`{name}` has no choice {choice}"
        );
        self.value(name) == Some(choice)
    }

    /// Whether `condition` (from `cargo-generate.toml`) holds for these answers; an
    /// option that is not asked holds no value.
    pub fn satisfies(&self, condition: &options::Condition) -> bool {
        let value = self.value(&condition.option);
        match &condition.value {
            // Unasked counts as off, as everywhere else.
            Value::Bool(_) => condition.holds(&value.unwrap_or(Value::Bool(false))),
            Value::Choice(_) => value.is_some_and(|value| condition.holds(&value)),
        }
    }

    /// The refusal the pre hook must give, if any.
    pub fn refusal(&self) -> Option<&'static Refusal> {
        REFUSALS.iter().find(|refusal| (refusal.applies)(self))
    }

    /// Whether the pre hook accepts these answers.
    pub fn is_valid(&self) -> bool {
        self.refusal().is_none()
    }

    /// `-d name=value` definitions for every asked option, defaults included, so a
    /// change of default in `cargo-generate.toml` never changes what a test generates.
    pub fn defines(&self) -> Vec<String> {
        self.resolved()
            .map(|(option, value)| format!("{}={value}", option.name))
            .collect()
    }

    /// The package name of the generated project: the Rust options that are on and the
    /// choices that add something, e.g. `web-cache-sqlite` (web and the cache without
    /// redis, a SQLite database, whatever docker and CI say). Short, like a real
    /// service's name, and unique among the crates the matrix builds.
    pub fn package_name(&self) -> String {
        let parts: Vec<String> = self
            .resolved()
            .filter(|(option, _)| !NON_RUST.contains(&option.name.as_str()))
            .filter_map(|(option, value)| match value {
                Value::Bool(true) => Some(option.name.replace('_', "-")),
                Value::Bool(false) => None,
                Value::Choice(choice) => (choice != NOTHING).then_some(choice),
            })
            .collect();
        if parts.is_empty() {
            "bare".to_owned()
        } else {
            parts.join("-")
        }
    }

    /// Every answer spelled out, e.g. `web-noworker-...-noredis-database-sqlite`: how
    /// failures name the combination.
    pub fn label(&self) -> String {
        self.resolved()
            .map(|(option, value)| {
                let name = option.name.replace('_', "-");
                match value {
                    Value::Bool(true) => name,
                    Value::Bool(false) => format!("no{name}"),
                    Value::Choice(choice) => format!("{name}-{choice}"),
                }
            })
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The answers that can change Rust code: two combinations with the same key
    /// generate the same crate apart from Docker and CI files.
    pub fn rust_key(&self) -> Vec<(String, Value)> {
        self.resolved()
            .filter(|(option, _)| !NON_RUST.contains(&option.name.as_str()))
            .map(|(option, value)| (option.name.clone(), value))
            .collect()
    }

    /// Every asked option with its effective value.
    fn resolved(&self) -> impl Iterator<Item = (&'static TemplateOption, Value)> + '_ {
        self.answers.iter().filter_map(|(option, answer)| {
            self.declaration_default(option)
                .map(|default| (*option, answer.clone().unwrap_or(default)))
        })
    }

    fn answer(&self, option: &TemplateOption) -> Option<&Value> {
        self.answers
            .iter()
            .find(|(candidate, _)| *candidate == option)
            .and_then(|(_, answer)| answer.as_ref())
    }

    /// The default of the first declaration whose condition holds; `None` when no
    /// declaration asks for the option. Conditions only read unconditional options.
    fn declaration_default(&self, option: &TemplateOption) -> Option<Value> {
        option
            .declarations
            .iter()
            .find(|declaration| match &declaration.asked_when {
                None => true,
                Some(condition) => {
                    let other = options::get(&condition.option);
                    self.answer(other)
                        .or_else(|| other.declarations.first().map(|d| &d.default))
                        .is_some_and(|value| condition.holds(value))
                }
            })
            .map(|declaration| declaration.default.clone())
    }
}

impl std::fmt::Display for Combination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// Every distinct set of answers, valid or refused, each once and explicit: every value
/// of every option against every value of the others.
pub fn all() -> Vec<Combination> {
    let mut combinations: Vec<Combination> = Vec::new();
    let mut names = std::collections::HashSet::new();
    for answers in every_answer(options::all()) {
        let mut combination = Combination {
            answers: options::all()
                .iter()
                .zip(answers)
                .map(|(option, value)| (option, Some(value)))
                .collect(),
        };
        // An unasked option's answer is never seen; dropping it makes duplicates equal.
        for index in 0..combination.answers.len() {
            let option = combination.answers[index].0;
            if combination.declaration_default(option).is_none() {
                combination.answers[index].1 = None;
            }
        }
        if names.insert(combination.label()) {
            combinations.push(combination);
        }
    }
    combinations
}

/// The cartesian product of the options' values, the first option varying fastest.
fn every_answer(options: &[TemplateOption]) -> Vec<Vec<Value>> {
    options
        .iter()
        .rev()
        .fold(vec![Vec::new()], |tails, option| {
            tails
                .iter()
                .flat_map(|tail| {
                    option.values().into_iter().map(move |value| {
                        let mut answers = vec![value];
                        answers.extend(tail.iter().cloned());
                        answers
                    })
                })
                .collect()
        })
}

/// Every combination the pre hook accepts.
pub fn valid() -> Vec<Combination> {
    all().into_iter().filter(Combination::is_valid).collect()
}

#[test]
fn the_matrix_covers_each_value_of_each_option_and_names_are_unique() {
    let valid = valid();
    for option in options::all() {
        for value in option.values() {
            assert!(
                valid
                    .iter()
                    .any(|c| c.value(&option.name).as_ref() == Some(&value)),
                "no valid combination has {}={value}",
                option.name
            );
        }
    }
    let mut labels: Vec<String> = all().iter().map(Combination::label).collect();
    let count = labels.len();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), count, "two combinations share a label");
    // One package name per crate: combinations differing only in Docker or CI share it.
    let mut crates: Vec<(String, Vec<(String, Value)>)> = valid
        .iter()
        .map(|c| (c.package_name(), c.rust_key()))
        .collect();
    crates.sort();
    crates.dedup();
    let mut names: Vec<&String> = crates.iter().map(|(name, _)| name).collect();
    names.dedup();
    assert_eq!(names.len(), crates.len(), "two crates share a package name");
    for refusal in &REFUSALS {
        assert!(
            all()
                .iter()
                .any(|c| c.refusal().is_some_and(|r| r.message == refusal.message)),
            "no combination is refused with {:?}",
            refusal.message
        );
    }
}

#[test]
fn defaults_follow_the_answers_they_depend_on() {
    // redis is declared under `cache` (default on) and `!cache` (default off).
    let without_cache = Combination::defaults().with("cache", false);
    assert!(!without_cache.is_on("redis"));
    assert!(without_cache.is_valid());
    assert!(Combination::defaults().is_on("redis"));
    assert!(
        Combination::everything_on()
            .defines()
            .contains(&"redis=true".to_owned())
    );
    let refused = Combination::defaults()
        .with("cache", false)
        .with("redis", true);
    assert_eq!(
        refused.refusal().map(|r| r.message),
        Some("redis=true needs cache=true")
    );
    // database is declared under `web` (default sqlite) and `!web` (default none).
    assert!(Combination::defaults().is("database", "sqlite"));
    let without_web = Combination::defaults().with("web", false);
    assert!(without_web.is("database", "none") && without_web.is_valid());
    let refused = without_web.with("database", "postgres");
    assert_eq!(refused.refusal().map(|r| r.message), Some("needs web=true"));
}

#[test]
fn choices_are_spelt_out_in_labels_defines_and_package_names() {
    let quick_start = Combination::defaults();
    assert!(
        quick_start.label().ends_with("-database-sqlite"),
        "{quick_start}"
    );
    assert!(
        quick_start
            .defines()
            .contains(&"database=sqlite".to_owned())
    );
    assert_eq!(quick_start.package_name(), "web-cli-cache-redis-sqlite");
    let everything = Combination::everything_on();
    assert!(everything.is("database", "postgres"));
    assert!(everything.package_name().ends_with("-postgres"));
    let in_memory = quick_start.with("database", "none");
    assert_eq!(in_memory.package_name(), "web-cli-cache-redis");
    assert!(in_memory.label().ends_with("-database-none"), "{in_memory}");
    assert_eq!(in_memory.value("database"), Some(Value::from("none")));
}

#[test]
fn every_string_option_has_an_everything_on_choice() {
    for option in options::all() {
        if let Kind::Choice(_) = option.kind {
            let choice = Combination::everything_on().value(&option.name);
            assert!(
                choice.is_some_and(|choice| option.takes(&choice)),
                "EVERYTHING_ON_CHOICES: no valid value for `{}`",
                option.name
            );
        }
    }
    assert!(Combination::everything_on().is_valid());
}
