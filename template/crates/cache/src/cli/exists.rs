//! `cache exists KEY`: answers with its exit code alone.

use std::io::Write;
use std::process::ExitCode;

use super::output::{failed, memory_hint};
use super::{AliasArg, EXIT_MISS};
use crate::{Backend, Caches};

/// Exit 0 when KEY holds a value, 1 when it does not; prints nothing on stdout.
#[derive(Debug, clap::Args)]
pub struct ExistsCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    #[command(flatten)]
    alias: AliasArg,
}

impl ExistsCommand {
    /// Looks the key up and returns the exit code; `_out` stays untouched.
    ///
    /// # Errors
    /// Never; the signature is the one every cache subcommand has.
    pub async fn run(self, caches: &Caches, _out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self { key, alias } = self;
        let cache = alias.cache(caches);
        if cache.backend() == Backend::Disabled {
            eprintln!("absent: CACHE_ENABLED=false, so nothing is ever stored");
            return Ok(ExitCode::from(EXIT_MISS));
        }
        Ok(match cache.exists(&key).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!(
                    "absent: {key:?} is not in the {} cache{}",
                    cache.alias(),
                    memory_hint(cache)
                );
                ExitCode::from(EXIT_MISS)
            }
            Err(error) => failed(cache, &error),
        })
    }
}
