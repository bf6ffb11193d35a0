//! The `{{project-name}}` binary. Everything it does is in the library; this file only
//! reads `.env`, parses the command line and turns the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

use {{crate_name}}::command::Cli;
use {{crate_name}}::settings::SettingsError;

fn main() -> ExitCode {
    // A missing .env is normal (production sets real variables); a broken one is not.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("error: could not read .env: {error}");
        return ExitCode::from(SettingsError::EXIT_CODE);
    }
    Cli::parse().run()
}
