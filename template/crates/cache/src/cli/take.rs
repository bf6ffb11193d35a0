//! `cache take KEY`: prints the JSON under a key and deletes it, in one step.

use std::io::Write;
use std::process::ExitCode;

use super::output::{failed, memory_hint};
use super::{AliasArg, EXIT_MISS};
use crate::{Backend, Caches};

/// Print the JSON under KEY and delete it (exit 0); on a miss print nothing (exit 1).
#[derive(Debug, clap::Args)]
pub struct TakeCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    #[command(flatten)]
    alias: AliasArg,
}

impl TakeCommand {
    /// Prints the value on `out`, deletes it and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self { key, alias } = self;
        let cache = alias.cache(caches);
        if cache.backend() == Backend::Disabled {
            eprintln!("miss: CACHE_ENABLED=false, so every read is a miss");
            return Ok(ExitCode::from(EXIT_MISS));
        }
        match cache.take_json(&key).await {
            Ok(Some(json)) => {
                writeln!(out, "{json}")?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(None) => {
                eprintln!(
                    "miss: {key:?} is not in the {} cache (or held something that is not JSON, now removed){}",
                    cache.alias(),
                    memory_hint(cache)
                );
                Ok(ExitCode::from(EXIT_MISS))
            }
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
