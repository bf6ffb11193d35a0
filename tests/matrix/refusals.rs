//! Answers the pre hook must refuse, with the sentence a user sees, and the near miss it
//! must accept.
//!
//! The hook's messages (`hooks/pre.rhai`) name the fix; these tests pin the part a user
//! acts on, and check that a refused generation writes no file.

use crate::combinations::{self, Combination};
use crate::generate;

/// What the no-entrypoint refusal must tell the user to do.
const NO_ENTRYPOINT_FIX: &str = "enable at least one of web, worker or cli";

/// The redis-without-cache refusal, naming both options.
const REDIS_NEEDS_CACHE: &str = "redis=true needs cache=true";

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
fn no_entrypoint_is_refused_with_the_fix() {
    let refused: Vec<Combination> = combinations::all()
        .into_iter()
        .filter(|combination| !combination.is_valid())
        .collect();
    assert!(!refused.is_empty());
    let failures: Vec<String> = refused
        .iter()
        .filter_map(|c| expect_refusal(&c.name(), &c.defines(), NO_ENTRYPOINT_FIX).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn redis_without_cache_is_refused_naming_both() {
    let failures: Vec<String> = combinations::valid()
        .into_iter()
        .filter(|combination| !combination.is_on("cache"))
        .filter_map(|combination| {
            let mut defines = combination.defines();
            defines.push("redis=true".to_owned());
            expect_refusal(&combination.name(), &defines, REDIS_NEEDS_CACHE).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
    // Only -d cache=false: redis is never asked, so the hook settles it to false.
    let defines = vec!["cache=false".to_owned()];
    let project = generate::generate("cache-off-only", &defines)
        .unwrap_or_else(|failed| panic!("cache=false alone was refused:\n{failed}"));
    let manifest = std::fs::read_to_string(project.path.join("Cargo.toml")).expect("Cargo.toml");
    assert!(!manifest.to_lowercase().contains("redis"), "{manifest}");
    assert!(!project.path.join("src/services").exists());
    let problems = crate::static_checks::problems(
        &project.path,
        &project.name,
        &Combination::defaults().with("cache", false),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
