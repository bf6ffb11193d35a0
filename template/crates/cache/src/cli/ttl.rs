//! `cache ttl KEY`: prints the seconds a key has left.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::AliasArg;
use super::output::{failed, missing};
use crate::Caches;

/// Print the seconds KEY has left (exit 0), `never` when it does not expire; on a miss
/// print nothing (exit 1).
#[derive(Debug, clap::Args)]
pub struct TtlCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    #[command(flatten)]
    alias: AliasArg,
}

impl TtlCommand {
    /// Prints the time left on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self { key, alias } = self;
        let cache = alias.cache(caches);
        match cache.ttl(&key).await {
            Ok(Some(Duration::MAX)) => {
                writeln!(out, "never")?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(Some(left)) => {
                writeln!(out, "{}", left.as_secs_f64())?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(None) => Ok(missing(cache, &key)),
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
