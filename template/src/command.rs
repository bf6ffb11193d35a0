//! The command line: one subcommand per mode, and the start-up every mode shares.
//!
//! Start-up is the same for each mode: read [`Settings`] (a bad value stops here with
//! one line naming the variable), install telemetry,{% if cache %} configure the caches,{% endif %} then
//! hand over to the mode's `run`. Users never write this wiring themselves.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
{%- if web or worker or cache %}
{% if cache %}
use crate::services::cache::{Caches, configure_caches};
{%- endif %}
use crate::settings::Settings;
use crate::telemetry;
{%- endif %}

/// Exit code for invalid configuration (`EX_CONFIG` from sysexits.h).
pub const EXIT_CONFIG: u8 = 78;

/// {{project-name}}: web server, worker and management commands in one binary.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// The mode to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every mode the binary can run in.
#[derive(Debug, Subcommand)]
pub enum Command {
{%- if web %}
    /// Run the HTTP server (binds APP_HOST:APP_PORT).
    Web(crate::web::Args),
{%- endif %}
{%- if worker %}
    /// Run the background worker until SIGTERM or ctrl-c.
    #[command(long_about = crate::worker::LONG_HELP)]
    Worker,
{%- endif %}
{%- if cli %}
{%- if cache %}
    /// Read and manage cache entries.
    #[command(subcommand)]
    Cache(crate::cli::cache::CacheCommand),
{%- endif %}
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(crate::cli::config::ConfigCommand),
{%- endif %}
}

impl Cli {
    /// Runs the selected mode and returns the process exit code.
    pub fn run(self) -> ExitCode {
{%- if cli %}
{%- if web or worker or cache %}
        match self.command {
            // `config check` reports invalid settings instead of stopping on them.
            Command::Config(command) => crate::cli::config::run(command),
            mode => mode.start(),
        }
{%- else %}
        // `config check` reports invalid settings instead of stopping on them.
        let Command::Config(command) = self.command;
        crate::cli::config::run(command)
{%- endif %}
{%- else %}
        self.command.start()
{%- endif %}
    }
}
{%- if web or worker or cache %}

impl Command {
    /// The start-up every mode shares, then the mode itself.
    fn start(self) -> ExitCode {
        let settings = match Settings::from_env() {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        telemetry::init(&settings.log, self.default_log_level());
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("error: could not start the async runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
        runtime.block_on(async move {
{%- if cache %}
            let caches = configure_caches(&settings.cache);
{%- endif %}
            match self.dispatch({% if web or worker %}settings{% if cache %}, {% endif %}{% endif %}{% if cache %}caches{% endif %}).await {
                Ok(code) => code,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "stopped with an error");
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            }
        })
    }

    /// Long-running modes log at info; one-shot commands keep stderr quiet.
    fn default_log_level(&self) -> &'static str {
        match self {
{%- if web %}
            Command::Web(_) => "info",
{%- endif %}
{%- if worker %}
            Command::Worker => "info",
{%- endif %}
{%- if cli %}
{%- if cache %}
            Command::Cache(_) => "warn",
{%- endif %}
            Command::Config(_) => "warn",
{%- endif %}
        }
    }

    async fn dispatch(self{% if web or worker %}, settings: Settings{% endif %}{% if cache %}, caches: Caches{% endif %}) -> anyhow::Result<ExitCode> {
        match self {
{%- if web %}
            Command::Web(args) => crate::web::run(args, settings{% if cache %}, caches{% endif %})
                .await
                .map(|()| ExitCode::SUCCESS),
{%- endif %}
{%- if worker %}
            Command::Worker => {
                let shutdown = crate::worker::shutdown_signal();
                crate::worker::run(&settings{% if cache %}, caches{% endif %}, shutdown)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
{%- endif %}
{%- if cli %}
{%- if cache %}
            Command::Cache(command) => crate::cli::cache::run(command, &caches).await,
{%- endif %}
            // Handled before start-up in `Cli::run`; answering here too keeps it correct.
            Command::Config(command) => Ok(crate::cli::config::run(command)),
{%- endif %}
        }
    }
}
{%- endif %}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
