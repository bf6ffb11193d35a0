//! `db`: the database's schema, from the command line.
//!
//! `db migrate` applies the migrations this binary carries and the database lacks, for
//! deployments that migrate in a release step (`DATABASE_MIGRATE=false` on the
//! servers) rather than at each start of `web`.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::context::AppContext;

/// Database commands.
#[derive(Debug, clap::Subcommand)]
pub enum DbCommand {
    /// Apply the pending migrations and print how many ran.
    #[command(
        long_about = "Apply the pending migrations and print how many ran.\n\n\
        Applies the migrations compiled into this binary (the files of migrations/) that \
        the database at DATABASE_URL lacks, in order, each in its own transaction. Safe to \
        run from several places at once: each migration is applied once. Exits 0 when the \
        schema is current, 1 when the database cannot be reached or a migration fails."
    )]
    Migrate,
}

impl DbCommand {
    /// Runs the command and returns the exit code.
    ///
    /// # Errors
    /// When the database cannot be reached or a migration fails.
    pub async fn run(self, context: AppContext) -> anyhow::Result<ExitCode> {
        match self {
            Self::Migrate => {
                let applied = context
                    .database
                    .migrate()
                    .await
                    .context("could not apply the database migrations: start the database or correct DATABASE_URL")?;
                println!("applied {applied} migration(s); the schema is current");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
