//! `cache add KEY JSON`: stores a JSON value only where there is none.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::output::{MEMORY_NOTE, failed, invalid_json};
use super::ttl_option::{applied_ttl, parse_ttl};
use super::{AliasArg, EXIT_MISS};
use crate::{Alias, Backend, Caches};

/// Store a JSON value under KEY only if KEY holds none: exit 0 stored, 1 not.
#[derive(Debug, clap::Args)]
pub struct AddCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    /// The value as JSON, e.g. '{"owner":"job-7"}' or '"a string"' (note the quotes).
    #[arg(allow_negative_numbers = true)]
    json: String,
    #[command(flatten)]
    alias: AliasArg,
    /// Time to live in seconds; fractions work (0.5). Default: the alias's default TTL.
    #[arg(long, value_name = "SECONDS", value_parser = parse_ttl)]
    ttl: Option<Duration>,
}

impl AddCommand {
    /// Stores the value unless the key holds one, says so and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self {
            key,
            json,
            alias,
            ttl,
        } = self;
        let cache = alias.cache(caches);
        if let Some(code) = invalid_json(&json) {
            return Ok(code);
        }
        if cache.backend() == Backend::Disabled {
            eprintln!("not stored: CACHE_ENABLED=false, so every cache operation is a no-op");
            return Ok(ExitCode::from(EXIT_MISS));
        }
        match cache.add_raw(&key, json.trim(), ttl).await {
            Ok(true) => {
                let applied = applied_ttl(ttl.unwrap_or_else(|| cache.default_ttl()));
                writeln!(
                    out,
                    "stored {key:?} in the {} cache for {}s",
                    cache.alias(),
                    applied.as_secs_f64()
                )?;
                if cache.alias() == Alias::Memory {
                    eprintln!("{MEMORY_NOTE}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Ok(false) => {
                eprintln!(
                    "not stored: {key:?} already holds a value in the {} cache",
                    cache.alias()
                );
                Ok(ExitCode::from(EXIT_MISS))
            }
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
