//! `cache expire KEY SECONDS`: gives a key a new TTL.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::AliasArg;
use super::output::{failed, missing};
use super::ttl_option::{applied_ttl, parse_ttl};
use crate::Caches;

/// Give KEY a new time to live from now (exit 0); exit 1 when it holds no value.
#[derive(Debug, clap::Args)]
pub struct ExpireCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    /// The new time to live in seconds; fractions work (0.5).
    #[arg(value_parser = parse_ttl)]
    seconds: Duration,
    #[command(flatten)]
    alias: AliasArg,
}

impl ExpireCommand {
    /// Changes the TTL, says so on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self {
            key,
            seconds,
            alias,
        } = self;
        let cache = alias.cache(caches);
        match cache.expire(&key, seconds).await {
            Ok(true) => {
                writeln!(
                    out,
                    "{key:?} in the {} cache now lives {}s",
                    cache.alias(),
                    applied_ttl(seconds).as_secs_f64()
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(false) => Ok(missing(cache, &key)),
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
