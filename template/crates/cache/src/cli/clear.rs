//! `cache clear [--all-versions]`: deletes every key of this service in an alias.

use std::io::Write;
use std::process::ExitCode;

use super::AliasArg;
use super::output::{failed, keys};
use crate::Caches;

/// Delete every key of this service and CACHE_VERSION in the alias (only keys under
/// CACHE_PREFIX).
#[derive(Debug, clap::Args)]
pub struct ClearCommand {
    #[command(flatten)]
    alias: AliasArg,
    /// Delete the keys of every CACHE_VERSION under CACHE_PREFIX, not only the
    /// current one's (after a deploy changed the version).
    #[arg(long)]
    all_versions: bool,
}

impl ClearCommand {
    /// Clears, says how many keys on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let cache = self.alias.cache(caches);
        let (cleared, which) = if self.all_versions {
            (cache.clear_all_versions().await, " (every CACHE_VERSION)")
        } else {
            (cache.clear().await, "")
        };
        match cleared {
            Ok(count) => {
                let alias = cache.alias();
                writeln!(out, "cleared {} from the {alias} cache{which}", keys(count))?;
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
