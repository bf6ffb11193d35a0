//! `cache incr KEY [--by N]`: adds to a counter and prints the new count.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::output::{MEMORY_NOTE, failed};
use super::ttl_option::parse_ttl;
use super::{AliasArg, EXIT_INVALID_INPUT};
use crate::{Alias, Backend, CacheError, Caches};

/// Add to the counter under KEY (created at 0) and print the new count.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Add to the counter under KEY and print the new count.\n\n\
    A counter that does not exist starts at 0 and lives for --ttl from this first \
    increment; later increments keep that deadline. Exits 2 when KEY holds \
    something other than a whole number."
)]
pub struct IncrCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    #[command(flatten)]
    alias: AliasArg,
    /// What to add; negative numbers count down.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    by: i64,
    /// Lifetime of a new counter in seconds; fractions work (0.5). Default: the
    /// alias's default TTL. An existing counter keeps its own.
    #[arg(long, value_name = "SECONDS", value_parser = parse_ttl)]
    ttl: Option<Duration>,
}

impl IncrCommand {
    /// Increments, prints the count on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self {
            key,
            alias,
            by,
            ttl,
        } = self;
        let cache = alias.cache(caches);
        match cache.incr(&key, by, ttl).await {
            Ok(count) => {
                writeln!(out, "{count}")?;
                if cache.backend() == Backend::Disabled {
                    eprintln!("not kept: CACHE_ENABLED=false, so every counter starts afresh");
                } else if cache.alias() == Alias::Memory {
                    eprintln!("{MEMORY_NOTE}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(error @ CacheError::NotACounter) => {
                eprintln!("error: {key:?} in the {} cache: {error}", cache.alias());
                Ok(ExitCode::from(EXIT_INVALID_INPUT))
            }
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
