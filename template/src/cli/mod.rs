//! Management commands: one-shot modes that do their job and exit with a code a script
//! can rely on. Results go to stdout; messages and logs go to stderr.
//!
//! Each command is one file here: a clap type with
//! `async fn run(self, context: AppContext) -> anyhow::Result<ExitCode>`. To add one,
//! write `src/cli/<name>.rs`, declare it with `mod`, and add its line to `commands!`
//! below; it then appears in `--help` and gets the same start-up as every mode.
{% if cache %}
pub mod cache;
{%- endif %}
pub mod config;
{%- if web %}
pub mod healthcheck;
{%- endif %}

use std::process::ExitCode;

use crate::context::AppContext;

/// Declares the commands and dispatches to their `run`, so that a new command is one
/// line: the enum and its `match` are written once here instead of by hand per command.
macro_rules! commands {
    ($($(#[$attr:meta])* $variant:ident($command:ty),)*) => {
        /// Every management command; flattened into the binary's own subcommands.
        #[derive(Debug, clap::Subcommand)]
        pub enum CliCommand {
            $($(#[$attr])* $variant($command),)*
        }

        impl CliCommand {
            /// Runs the command with the start-up context and returns its exit code.
            ///
            /// # Errors
            /// Whatever the command reports as an error (exit code 1).
            pub async fn run(self, context: AppContext) -> anyhow::Result<ExitCode> {
                match self {
                    $(Self::$variant(command) => command.run(context).await,)*
                }
            }
        }
    };
}

commands! {
{%- if cache %}
    /// Read and manage cache entries.
    Cache(cache::CacheCommand),
{%- endif %}
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
{%- if web %}
    /// Probe the local web server: exit 0 when GET /health (or /ready) answers 200.
    Healthcheck(healthcheck::HealthcheckCommand),
{%- endif %}
}
