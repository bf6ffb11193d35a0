//! `cache get KEY`: prints the JSON stored under a key.

use std::io::Write;
use std::process::ExitCode;

use super::output::{failed, missing};
use super::{AliasArg, EXIT_MISS};
use crate::{Backend, Caches};

/// Print the JSON stored under KEY (exit 0); on a miss print nothing (exit 1).
#[derive(Debug, clap::Args)]
pub struct GetCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    #[command(flatten)]
    alias: AliasArg,
}

impl GetCommand {
    /// Prints the value on `out` and returns the exit code.
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
        match cache.get_raw(&key).await {
            Ok(Some(json)) if serde_json::from_str::<serde::de::IgnoredAny>(&json).is_ok() => {
                writeln!(out, "{json}")?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(Some(_)) => {
                // Written by hand (redis-cli) and not JSON: a miss, removed, as the service
                // treats it (`get_json` removes it unless it changed meanwhile).
                if let Err(error) = cache.get_json(&key).await {
                    return Ok(failed(cache, &error));
                }
                eprintln!(
                    "warning: the value under {key:?} is not JSON; it was removed and counts as a miss"
                );
                Ok(ExitCode::from(EXIT_MISS))
            }
            Ok(None) => Ok(missing(cache, &key)),
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
