//! `cache …`: read and manage cache entries from a shell. The subcommands are the cache
//! engine's (`service_cache::cli`, one file each in `crates/cache/src/cli/`); this
//! command runs them against this service's caches.

use std::process::ExitCode;

use crate::context::AppContext;

/// Read and manage cache entries.
#[derive(Debug, clap::Args)]
pub struct CacheCommand {
    /// What to do.
    #[command(subcommand)]
    command: service_cache::cli::CacheCommand,
}

impl CacheCommand {
    /// Runs the subcommand against the context's caches and returns its exit code.
    ///
    /// # Errors
    /// Only when the result cannot be written to stdout.
    pub async fn run(self, context: AppContext) -> anyhow::Result<ExitCode> {
        self.command.run(&context.caches).await
    }
}
