//! `cache invalidate-tag TAG`: deletes every entry carrying a tag.

use std::io::Write;
use std::process::ExitCode;

use super::AliasArg;
use super::output::{failed, keys};
use crate::Caches;

/// Delete every entry tagged TAG (by the endpoint cache or `cache set --tag`);
/// exits 0 either way.
#[derive(Debug, clap::Args)]
pub struct InvalidateTagCommand {
    /// The tag, e.g. owner:7.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    tag: String,
    #[command(flatten)]
    alias: AliasArg,
}

impl InvalidateTagCommand {
    /// Invalidates, says how many keys on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self { tag, alias } = self;
        let cache = alias.cache(caches);
        match cache.invalidate_tag(&tag).await {
            Ok(count) => {
                let alias = cache.alias();
                writeln!(
                    out,
                    "deleted {} tagged {tag:?} from the {alias} cache",
                    keys(count)
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
