//! `cache delete KEY [--pattern]`: deletes a key, or every key matching a glob.

use std::io::Write;
use std::process::ExitCode;

use super::AliasArg;
use super::output::{failed, keys};
use crate::Caches;

/// Delete KEY, or with --pattern every key matching a glob; exits 0 either way.
#[derive(Debug, clap::Args)]
pub struct DeleteCommand {
    /// The key, or a glob such as 'items:*' with --pattern.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    #[command(flatten)]
    alias: AliasArg,
    /// Treat KEY as a glob: `*` matches any run of characters, `?` one character.
    #[arg(long)]
    pattern: bool,
}

impl DeleteCommand {
    /// Deletes, says what on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self {
            key,
            alias,
            pattern,
        } = self;
        let cache = alias.cache(caches);
        let alias = cache.alias();
        if pattern {
            match cache.delete_matching(&key).await {
                Ok(count) => writeln!(
                    out,
                    "deleted {} matching {key:?} from the {alias} cache",
                    keys(count)
                )?,
                Err(error) => return Ok(failed(cache, &error)),
            }
        } else {
            match cache.delete(&key).await {
                Ok(true) => writeln!(out, "deleted {key:?} from the {alias} cache")?,
                Ok(false) => writeln!(
                    out,
                    "{key:?} was not in the {alias} cache; nothing to delete"
                )?,
                Err(error) => return Ok(failed(cache, &error)),
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
