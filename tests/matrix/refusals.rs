//! Answers the pre hook must refuse, with the sentence a user sees, and the near miss it
//! must accept.
//!
//! The hook's messages (`hooks/pre.rhai`) name the fix; these tests pin the part a user
//! acts on, and check that a refused generation writes no file.

use crate::combinations::{self, Combination};
use crate::generate;

fn expect_refusal(name: &str, defines: &[String], expected: &str) -> Result<(), String> {
    match generate::generate(name, defines) {
        Ok(mut project) => Err(format!(
            "{name} ({}): generated {} instead of refusing",
            defines.join(" "),
            project.keep().display()
        )),
        Err(failed) if !failed.message.contains(expected) => Err(format!(
            "{name} ({}): refused without saying {expected:?}:\n{}",
            defines.join(" "),
            failed.message
        )),
        // cargo-generate creates the project's directory before the hooks run and leaves
        // it (empty) behind; no file may be written.
        Err(failed) if !failed.leftovers.is_empty() => Err(format!(
            "{name} ({}): refused but wrote {:?}",
            defines.join(" "),
            failed.leftovers
        )),
        Err(_) => Ok(()),
    }
}

#[test]
fn every_impossible_combination_is_refused_with_its_fix() {
    let refused: Vec<Combination> = combinations::all()
        .into_iter()
        .filter(|combination| !combination.is_valid())
        .collect();
    assert!(!refused.is_empty());
    let failures: Vec<String> = refused
        .iter()
        .filter_map(|c| {
            let expected = c
                .refusal()
                .map(|refusal| refusal.message)
                .unwrap_or_default();
            expect_refusal(&c.label(), &c.defines(), expected).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn redis_without_cache_is_refused_naming_both() {
    // Passed explicitly, whether or not cargo-generate.toml asks for redis without cache.
    let combination = Combination::defaults().with("cache", false);
    let mut defines: Vec<String> = combination
        .defines()
        .into_iter()
        .filter(|define| !define.starts_with("redis="))
        .collect();
    defines.push("redis=true".to_owned());
    let expected = Combination::defaults()
        .with("cache", false)
        .with("redis", true)
        .refusal()
        .map(|refusal| refusal.message)
        .expect("redis without cache is a refusal");
    if let Err(failure) = expect_refusal("redis-without-cache", &defines, expected) {
        panic!("{failure}");
    }
}

#[test]
fn a_value_that_is_not_a_boolean_is_refused() {
    // cargo-generate itself rejects it before the hooks run; its message does not name
    // the option, so only the refusal and the expected form are pinned.
    let defines = vec!["web=maybe".to_owned()];
    let failed = match generate::generate("not-a-boolean", &defines) {
        Ok(mut project) => panic!("web=maybe generated {}", project.keep().display()),
        Err(failed) => failed,
    };
    assert!(failed.message.contains("true"), "{}", failed.message);
}

#[test]
fn cache_off_without_mentioning_redis_generates_without_redis() {
    // Only -d cache=false: redis is left to its default, which follows the cache.
    let defines = vec!["cache=false".to_owned()];
    let project = generate::generate("cache-off-only", &defines)
        .unwrap_or_else(|failed| panic!("cache=false alone was refused:\n{failed}"));
    let manifest = std::fs::read_to_string(project.path.join("Cargo.toml")).expect("Cargo.toml");
    assert!(!manifest.to_lowercase().contains("redis"), "{manifest}");
    assert!(!project.path.join("src/services").exists());
    // The rest of this project's checks are the static checks' (the same combination).
    let example = std::fs::read_to_string(project.path.join(".env.example")).expect(".env.example");
    assert!(!example.contains("CACHE_"), "{example}");
    assert!(!Combination::defaults().with("cache", false).is_on("redis"));
}

#[test]
fn a_database_that_is_not_a_choice_is_refused_naming_the_option() {
    // cargo-generate checks `choices` itself, before the hooks run.
    let defines = vec!["database=mysql".to_owned()];
    if let Err(failure) = expect_refusal(
        "not-a-choice",
        &defines,
        "\"mysql\" is not a valid value for database",
    ) {
        panic!("{failure}");
    }
}
