//! The `{{project-name}}` binary. Everything it does is in the library; this file only
//! parses the command line, reads `.env` and turns the outcome into an exit code.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use {{crate_name}}::command::Cli;
use {{crate_name}}::settings::{self, EnvReader, LogFormat};
use {{crate_name}}::telemetry;

fn main() -> ExitCode {
    // The command line first, so that --help and --version work whatever .env holds.
    let cli = Cli::parse();
    // Only the working directory's .env, never a parent's. A missing one is normal
    // (production sets real variables); a broken one stops here, naming its line.
    match settings::read_dotenv(Path::new(".env")) {
        Ok(dotenv) => cli.run(dotenv),
        Err(error) => {
            let format = LogFormat::requested_in(&EnvReader::from_process());
            telemetry::report_error(format, &error.to_string());
            ExitCode::from(settings::SettingsError::EXIT_CODE)
        }
    }
}
