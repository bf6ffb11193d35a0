//! STUB
use std::process::ExitCode;

/// STUB
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Check.
    Check,
}

/// STUB
pub fn run(_command: ConfigCommand) -> ExitCode {
    ExitCode::SUCCESS
}
