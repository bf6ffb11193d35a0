//! STUB
use std::process::ExitCode;

use crate::services::cache::Caches;

/// STUB
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// Stats.
    Stats,
}

/// STUB
pub async fn run(_command: CacheCommand, _caches: &Caches) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
