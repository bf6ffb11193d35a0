//! The command line: one subcommand per mode, and the start-up every mode shares.
//!
//! Start-up is the same for each mode: read [`Settings`] from the environment over
//! `.env` (a bad value stops here with one line per variable and exit code 78), install
//! telemetry, build the [`AppContext`], then hand it to the mode's `run`. Users never
//! write this wiring. A mode that fails ends with one error line, in the log format.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::context::AppContext;
{%- if worker %}
use crate::metrics::listener::MetricsListener;
{%- endif %}
use crate::settings::{EnvReader, LogFormat, Settings, SettingsError};
{%- if web or worker %}
use crate::shutdown::Shutdown;
{%- endif %}
use crate::telemetry;

/// {{project-name}}: one binary, one mode per subcommand.
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
{%- if worker %}
pub struct WebArgs {
    /// Also run the background worker in this process; both stop together.
    #[arg(long)]
    pub with_worker: bool,
}
{%- else %}
pub struct WebArgs {}
{%- endif %}
{%- endif %}

impl Cli {
    /// Runs the selected mode after the shared start-up and returns the exit code.
    /// `dotenv` holds the pairs of `.env`; real environment variables win over them.
    pub fn run(self, dotenv: Vec<(String, String)>) -> ExitCode {
        let mut env = EnvReader::from_process_with(dotenv);
        let settings = match Settings::from_reader(&mut env) {
            Ok(settings) => settings,
            Err(error) => {
                let format = LogFormat::requested_in(&env);
                for message in error.messages() {
                    telemetry::report_error(format, &message);
                }
                return ExitCode::from(SettingsError::EXIT_CODE);
            }
        };
        let format = settings.log.format;
        // Held until the end: dropping it writes out the log lines still queued.
        let telemetry = telemetry::init(&settings.log, self.command.default_log_filter());
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                drop(telemetry);
                let message = format!("could not start the async runtime: {error}");
                telemetry::report_error(format, &message);
                return ExitCode::FAILURE;
            }
        };
        let outcome = runtime.block_on(async move {
            let context = AppContext::build(settings)
                .await
                .context("start-up failed")?;
            self.command.run(context).await
        });
        // Every log line is out before the error that ends the process, so it is last.
        drop(runtime);
        drop(telemetry);
        outcome.unwrap_or_else(|error| {
            telemetry::report_error(format, &format!("{error:#}"));
            ExitCode::FAILURE
        })
    }
}

impl Command {
    /// Long-running modes log at info; one-shot commands keep stderr quiet.
    fn default_log_filter(&self) -> &'static str {
        match self {
{%- if web %}
            Command::Web(_) => "info",
{%- endif %}
{%- if worker %}
            Command::Worker => "info",
{%- endif %}
{%- if cli %}
            Command::Manage(_) => COMMAND_LOG_FILTER,
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
                run_worker(context, shutdown).await?;
                Ok(ExitCode::SUCCESS)
            }
{%- endif %}
{%- if cli %}
            Command::Manage(command) => command.run(context).await,
{%- endif %}
        }
    }
}
{%- if cli and cache %}

/// Commands log warnings, but not the cache's: a long-running mode needs to hear that
/// Redis is down and will be retried, while a command reports the failure itself, in
/// one line, and exits. (The cache's errors still show.)
const COMMAND_LOG_FILTER: &str = "warn,service_cache=error";
{%- elsif cli %}

/// Commands log warnings and errors only, so their stderr stays readable.
const COMMAND_LOG_FILTER: &str = "warn";
{%- endif %}
{%- if worker %}

/// `worker`: the jobs, and `/metrics` on a listener of their own (`METRICS_HOST`,
/// `METRICS_PORT`) unless metrics are off. Both stop on the signal.
async fn run_worker(context: AppContext, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = MetricsListener::bind(&context.settings.metrics, &context.metrics).await?;
    let scrapes = async {
        if let Some(listener) = listener {
            listener.serve(shutdown.requested()).await;
        }
    };
    let jobs = async {
        let result = crate::worker::run(context.clone(), shutdown.requested()).await;
        // A worker that stops on its own (no jobs) stops the listener too.
        shutdown.trigger();
        result
    };
    let (result, ()) = tokio::join!(jobs, scrapes);
    result
}
{%- endif %}
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
