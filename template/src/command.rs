//! The command line: one subcommand per mode, and the start-up every mode shares.
//!
//! Start-up is the same for each mode: read [`Settings`] (a bad value stops here with
//! one line per variable and exit code 78), install telemetry, build the
//! [`AppContext`], then hand it to the mode's `run`. Users never write this wiring.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::AppContext;
use crate::settings::{Settings, SettingsError};
{%- if web or worker %}
use crate::shutdown::Shutdown;
{%- endif %}
use crate::telemetry;

/// {{project-name}}: web server, worker and management commands in one binary.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// The mode to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every mode the binary can run in. Management commands are listed in `cli/mod.rs`
/// and appear here as subcommands of their own.
#[derive(Debug, Subcommand)]
pub enum Command {
{%- if web %}
    /// Run the HTTP server (binds APP_HOST:APP_PORT).
    Web(WebArgs),
{%- endif %}
{%- if worker %}
    /// Run the background worker until SIGTERM or ctrl-c.
    #[command(long_about = crate::worker::long_help())]
    Worker,
{%- endif %}
{%- if cli %}
    #[command(flatten)]
    Manage(crate::cli::CliCommand),
{%- endif %}
}
{%- if web %}

/// Options of the `web` subcommand.
#[derive(Debug, clap::Args)]
pub struct WebArgs {
{%- if worker %}
    /// Also run the background worker in this process; both stop together.
    #[arg(long)]
    pub with_worker: bool,
{%- endif %}
}
{%- endif %}

impl Cli {
    /// Runs the selected mode after the shared start-up and returns the exit code.
    pub fn run(self) -> ExitCode {
        let settings = match Settings::from_env() {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(SettingsError::EXIT_CODE);
            }
        };
        telemetry::init(&settings.log, self.command.default_log_level());
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
            let outcome = match AppContext::build(settings).await {
                Ok(context) => self.command.run(context).await,
                Err(error) => Err(error.context("start-up failed")),
            };
            outcome.unwrap_or_else(|error| {
                tracing::error!(error = format!("{error:#}"), "stopped with an error");
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            })
        })
    }
}

impl Command {
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
            Command::Manage(_) => "warn",
{%- endif %}
        }
    }

    /// Runs the mode with the context every mode shares.
    async fn run(self, context: AppContext) -> anyhow::Result<ExitCode> {
        match self {
{%- if web and worker %}
            Command::Web(args) if args.with_worker => {
                run_web_and_worker(context, Shutdown::on_signals()?).await?;
                Ok(ExitCode::SUCCESS)
            }
{%- endif %}
{%- if web %}
            Command::Web(_) => {
                let shutdown = Shutdown::on_signals()?;
                crate::web::run(context, shutdown.requested()).await?;
                Ok(ExitCode::SUCCESS)
            }
{%- endif %}
{%- if worker %}
            Command::Worker => {
                let shutdown = Shutdown::on_signals()?;
                crate::worker::run(context, shutdown.requested()).await?;
                Ok(ExitCode::SUCCESS)
            }
{%- endif %}
{%- if cli %}
            Command::Manage(command) => command.run(context).await,
{%- endif %}
        }
    }
}
{%- if web and worker %}

/// `web --with-worker`: the server and the worker side by side in one process. The
/// signal, or either of them stopping, stops both.
async fn run_web_and_worker(context: AppContext, shutdown: Shutdown) -> anyhow::Result<()> {
    let stop_when_done = |result: anyhow::Result<()>| {
        shutdown.trigger();
        result
    };
    let (server, worker) = tokio::join!(
        async { stop_when_done(crate::web::run(context.clone(), shutdown.requested()).await) },
        async { stop_when_done(crate::worker::run(context.clone(), shutdown.requested()).await) },
    );
    match (server, worker) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(error), Ok(())) => Err(error),
        (Ok(()), Err(error)) => Err(error.context("the worker failed")),
        (Err(error), Err(worker_error)) => {
            tracing::error!(error = format!("{worker_error:#}"), "the worker failed too");
            Err(error)
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
