//! Management commands: one-shot modes that do their job and exit with a code a script
//! can rely on. Results go to stdout; messages and logs go to stderr.
//!
//! Each command is one file here: a clap type with
//! `async fn run(self, context: AppContext) -> anyhow::Result<ExitCode>`. Adding one is
//! that file and one line in `commands!` below, `pub mod <file>; <Variant>(<file>::<Type>),`
//! under the `///` line that becomes its `--help` text; it then appears in `--help` and
//! gets the same start-up as every mode.

use std::process::ExitCode;

use crate::context::AppContext;

/// Declares the command modules, the enum of commands and the dispatch to their `run`:
/// each `pub mod <file>; <Variant>(<file>::<Type>),` line declares `src/cli/<file>.rs`
/// and adds the variant, with the attributes above the line (its `///` help text,
/// `#[command(...)]`), so that a new command is one line: the module, the enum and its
/// `match` are written once here instead of by hand per command.
macro_rules! commands {
    ($($(#[$attr:meta])* $vis:vis mod $module:ident; $variant:ident($command:ty),)*) => {
        $($vis mod $module;)*

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
    pub mod cache; Cache(cache::CacheCommand),
{%- endif %}
    /// Inspect the configuration.
    #[command(subcommand)]
    pub mod config; Config(config::ConfigCommand),
{%- if database != "none" %}
    /// Manage the database's schema.
    #[command(subcommand)]
    pub mod db; Db(db::DbCommand),
{%- endif %}
{%- if web %}
    /// Probe the local web server: exit 0 when GET /health (or /ready) answers 200.
    pub mod healthcheck; Healthcheck(healthcheck::HealthcheckCommand),
{%- endif %}
}
