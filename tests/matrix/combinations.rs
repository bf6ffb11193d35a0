//! Answers to the template's prompts: one [`Combination`] per generated project.
//!
//! A combination answers some options explicitly and leaves the rest to their defaults,
//! which for a conditional placeholder depend on other answers (`redis` defaults to the
//! `cache` answer). An option no declaration asks for is not passed to cargo-generate and
//! counts as off. [`all`] enumerates every distinct set of answers a user can give;
//! [`REFUSALS`] says which of them the pre hook must refuse, and with what words.

use crate::options::{self, TemplateOption};

/// The entrypoint options: a project needs at least one.
pub const ENTRYPOINTS: [&str; 3] = ["web", "worker", "cli"];

/// Options that change no Rust code (only Docker and CI files), so building every
/// combination of them would compile the same crate again.
pub const NON_RUST: [&str; 2] = ["docker", "github_actions"];

/// An impossible set of answers and the words of the pre hook's refusal
/// (`hooks/pre.rhai`) that tell the user what to do.
pub struct Refusal {
    /// Whether these answers are impossible.
    pub applies: fn(&Combination) -> bool,
    /// Text the refusal must contain.
    pub message: &'static str,
}

/// The pre hook's rules, in the order it checks them.
pub const REFUSALS: [Refusal; 2] = [
    Refusal {
        applies: |c| !ENTRYPOINTS.iter().any(|entrypoint| c.is_on(entrypoint)),
        message: "enable at least one of web, worker or cli",
    },
    Refusal {
        applies: |c| c.is_on("redis") && !c.is_on("cache"),
        message: "redis=true needs cache=true",
    },
];

/// One set of answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    /// Per option, in declaration order: the explicit answer, or `None` for the default.
    answers: Vec<(&'static TemplateOption, Option<bool>)>,
}

impl Combination {
    /// What a user gets by pressing enter at every prompt.
    pub fn defaults() -> Self {
        Self {
            answers: options::all().iter().map(|option| (option, None)).collect(),
        }
    }

    /// Every option on.
    pub fn everything_on() -> Self {
        Self {
            answers: options::all()
                .iter()
                .map(|option| (option, Some(true)))
                .collect(),
        }
    }

    /// This combination with `name` answered `value`; panics on an unknown option.
    pub fn with(mut self, name: &str, value: bool) -> Self {
        let option = options::get(name);
        for (candidate, answer) in &mut self.answers {
            if *candidate == option {
                *answer = Some(value);
            }
        }
        self
    }

    /// Whether `name` is asked for this combination (one of its conditions holds).
    pub fn is_asked(&self, name: &str) -> bool {
        self.declaration_default(options::get(name)).is_some()
    }

    /// Whether `name` is on: asked and answered (or defaulted to) `true`.
    pub fn is_on(&self, name: &str) -> bool {
        let option = options::get(name);
        match self.declaration_default(option) {
            None => false,
            Some(default) => self.answer(option).unwrap_or(default),
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

    /// The package name of the generated project: the Rust options that are on, e.g.
    /// `web-cache` (web and the cache without redis, whatever docker and CI say). Short,
    /// like a real service's name, and unique among the crates the matrix builds.
    pub fn package_name(&self) -> String {
        let on: Vec<String> = self
            .resolved()
            .filter(|(option, value)| *value && !NON_RUST.contains(&option.name.as_str()))
            .map(|(option, _)| option.name.replace('_', "-"))
            .collect();
        if on.is_empty() {
            "bare".to_owned()
        } else {
            on.join("-")
        }
    }

    /// Every answer spelled out, e.g. `web-noworker-cli-cache-docker-...-noredis`: how
    /// failures name the combination.
    pub fn label(&self) -> String {
        self.resolved()
            .map(|(option, value)| {
                let name = option.name.replace('_', "-");
                if value { name } else { format!("no{name}") }
            })
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The answers that can change Rust code: two combinations with the same key
    /// generate the same crate apart from Docker and CI files.
    pub fn rust_key(&self) -> Vec<(String, bool)> {
        self.resolved()
            .filter(|(option, _)| !NON_RUST.contains(&option.name.as_str()))
            .map(|(option, value)| (option.name.clone(), value))
            .collect()
    }

    /// Every asked option with its effective value.
    fn resolved(&self) -> impl Iterator<Item = (&'static TemplateOption, bool)> + '_ {
        self.answers.iter().filter_map(|(option, answer)| {
            self.declaration_default(option)
                .map(|default| (*option, answer.unwrap_or(default)))
        })
    }

    fn answer(&self, option: &TemplateOption) -> Option<bool> {
        self.answers
            .iter()
            .find(|(candidate, _)| *candidate == option)
            .and_then(|(_, answer)| *answer)
    }

    /// The default of the first declaration whose condition holds; `None` when no
    /// declaration asks for the option. Conditions only read unconditional options.
    fn declaration_default(&self, option: &TemplateOption) -> Option<bool> {
        option
            .declarations
            .iter()
            .find(|declaration| match &declaration.asked_when {
                None => true,
                Some(condition) => {
                    let other = options::get(&condition.option);
                    let value = self
                        .answer(other)
                        .or_else(|| other.declarations.first().map(|d| d.default));
                    value == Some(condition.expected)
                }
            })
            .map(|declaration| declaration.default)
    }
}

impl std::fmt::Display for Combination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// Every distinct set of answers, valid or refused, each once and explicit.
pub fn all() -> Vec<Combination> {
    let options = options::all();
    let mut combinations: Vec<Combination> = Vec::new();
    let mut names = std::collections::HashSet::new();
    for bits in 0..(1u64 << options.len()) {
        let mut combination = Combination {
            answers: options
                .iter()
                .enumerate()
                .map(|(index, option)| (option, Some(bits & (1 << index) != 0)))
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

/// Every combination the pre hook accepts.
pub fn valid() -> Vec<Combination> {
    all().into_iter().filter(Combination::is_valid).collect()
}

#[test]
fn the_matrix_covers_each_option_both_ways_and_names_are_unique() {
    let valid = valid();
    for option in options::all() {
        for value in [false, true] {
            assert!(
                valid
                    .iter()
                    .any(|c| c.is_asked(&option.name) && c.is_on(&option.name) == value),
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
}
