//! Answers to the template's prompts: one [`Combination`] per generated project.
//!
//! A combination holds a value for every option in `cargo-generate.toml`; an option whose
//! condition does not hold (`redis` while `cache` is off) is not asked, so it is not
//! passed to cargo-generate and counts as off. [`all`] enumerates every distinct set of
//! answers a user can give, including the ones the pre hook refuses.

use crate::options::{self, TemplateOption};

/// The entrypoint options: the pre hook refuses a project with none of them.
pub const ENTRYPOINTS: [&str; 3] = ["web", "worker", "cli"];

/// Options that change no Rust code (only Docker and CI files), so building every
/// combination of them would compile the same crate again.
pub const NON_RUST: [&str; 2] = ["docker", "github_actions"];

/// One set of answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    /// A value per option, in declaration order; unasked options keep their default.
    values: Vec<(&'static TemplateOption, bool)>,
}

impl Combination {
    /// What a user gets by pressing enter at every prompt.
    pub fn defaults() -> Self {
        Self {
            values: options::all()
                .iter()
                .map(|option| (option, option.default))
                .collect(),
        }
    }

    /// Every option on.
    pub fn everything_on() -> Self {
        Self {
            values: options::all().iter().map(|option| (option, true)).collect(),
        }
    }

    /// This combination with `name` set to `value`; panics on an unknown option.
    pub fn with(mut self, name: &str, value: bool) -> Self {
        let option = options::get(name);
        for (candidate, slot) in &mut self.values {
            if *candidate == option {
                *slot = value;
            }
        }
        self
    }

    /// Whether `name` is asked for this combination (its condition holds).
    pub fn is_asked(&self, name: &str) -> bool {
        match &options::get(name).asked_when {
            None => true,
            Some(condition) => self.raw(&condition.option) == condition.expected,
        }
    }

    /// Whether `name` is on: asked and answered `true`.
    pub fn is_on(&self, name: &str) -> bool {
        self.is_asked(name) && self.raw(name)
    }

    /// Whether the pre hook accepts these answers (at least one entrypoint).
    pub fn is_valid(&self) -> bool {
        ENTRYPOINTS.iter().any(|entrypoint| self.is_on(entrypoint))
    }

    /// `-d name=value` definitions for every asked option, defaults included, so a
    /// change of default in `cargo-generate.toml` never changes what a test generates.
    pub fn defines(&self) -> Vec<String> {
        self.asked()
            .map(|(option, value)| format!("{}={value}", option.name))
            .collect()
    }

    /// A project name that spells the answers, e.g. `web-noworker-cli-cache-noredis-...`.
    pub fn name(&self) -> String {
        self.asked()
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
        self.asked()
            .filter(|(option, _)| !NON_RUST.contains(&option.name.as_str()))
            .map(|(option, value)| (option.name.clone(), value))
            .collect()
    }

    fn asked(&self) -> impl Iterator<Item = (&'static TemplateOption, bool)> + '_ {
        self.values
            .iter()
            .filter(|(option, _)| self.is_asked(&option.name))
            .map(|(option, value)| (*option, *value))
    }

    fn raw(&self, name: &str) -> bool {
        self.values
            .iter()
            .find(|(option, _)| option.name == name)
            .map(|(_, value)| *value)
            .unwrap_or_else(|| panic!("no option `{name}`"))
    }
}

impl std::fmt::Display for Combination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// Every distinct set of answers, valid or refused, each once.
pub fn all() -> Vec<Combination> {
    let options = options::all();
    let mut combinations: Vec<Combination> = Vec::new();
    for bits in 0..(1u64 << options.len()) {
        let mut combination = Combination {
            values: options
                .iter()
                .enumerate()
                .map(|(index, option)| (option, bits & (1 << index) != 0))
                .collect(),
        };
        // An unasked option's value is never seen; normalising it makes duplicates equal.
        for index in 0..combination.values.len() {
            let (option, _) = combination.values[index];
            if !combination.is_asked(&option.name) {
                combination.values[index].1 = option.default;
            }
        }
        if !combinations.contains(&combination) {
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
                    .any(|c| c.is_asked(&option.name) && c.raw(&option.name) == value),
                "no valid combination has {}={value}",
                option.name
            );
        }
    }
    let mut names: Vec<String> = all().iter().map(Combination::name).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "two combinations share a name");
    assert!(
        all().iter().any(|c| !c.is_valid()),
        "no refused combination"
    );
}

#[test]
fn unasked_options_are_not_passed() {
    let without_cache = Combination::defaults().with("cache", false);
    assert!(!without_cache.is_asked("redis"));
    assert!(!without_cache.is_on("redis"));
    assert!(
        !without_cache
            .defines()
            .iter()
            .any(|d| d.starts_with("redis=")),
        "{:?}",
        without_cache.defines()
    );
    assert!(Combination::everything_on().defines().contains(&"redis=true".to_owned()));
}
