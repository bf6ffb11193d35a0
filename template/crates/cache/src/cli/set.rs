//! `cache set KEY JSON`: stores a JSON value, with an optional TTL and tags; `-` reads
//! the JSON from standard input (for values beyond the kernel's per-argument limit).

use std::io::{Read as _, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::value::RawValue;

use super::output::{MEMORY_NOTE, failed, invalid_json};
use super::ttl_option::{applied_ttl, parse_ttl};
use super::{AliasArg, EXIT_INVALID_INPUT};
use crate::{Alias, Backend, Caches, Policy};

/// Store a JSON value under KEY; invalid JSON stores nothing and exits 2.
#[derive(Debug, clap::Args)]
pub struct SetCommand {
    /// The key, without the CACHE_PREFIX namespace.
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
    key: String,
    /// The value as JSON, e.g. '{"name":"Ada"}', '"a string"' (note the quotes) or -1;
    /// `-` reads it from standard input.
    #[arg(allow_negative_numbers = true)]
    json: String,
    #[command(flatten)]
    alias: AliasArg,
    /// Time to live in seconds; fractions work (0.5). Default: the alias's
    /// default TTL (CACHE_DEFAULT_TTL for memory, CACHE_PERSISTENT_TTL for persistent).
    #[arg(long, value_name = "SECONDS", value_parser = parse_ttl)]
    ttl: Option<Duration>,
    /// Tag the entry, so `cache invalidate-tag TAG` removes it; repeat for more tags.
    #[arg(long = "tag", value_name = "TAG", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    tags: Vec<String>,
}

impl SetCommand {
    /// Stores the value, says so on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self {
            key,
            json,
            alias,
            ttl,
            tags,
        } = self;
        let cache = alias.cache(caches);
        let json = if json == "-" {
            let mut read = String::new();
            if let Err(error) = std::io::stdin().read_to_string(&mut read) {
                eprintln!(
                    "error: cannot read the value from standard input ({error}); nothing was stored"
                );
                return Ok(ExitCode::from(EXIT_INVALID_INPUT));
            }
            read
        } else {
            json
        };
        if let Some(code) = invalid_json(&json) {
            return Ok(code);
        }
        if cache.backend() == Backend::Disabled {
            eprintln!("not stored: CACHE_ENABLED=false, so every cache operation is a no-op");
            return Ok(ExitCode::SUCCESS);
        }
        let json = json.trim();
        // Checked above: it is JSON, so it is stored as it is.
        let value = RawValue::from_string(json.to_owned())?;
        let policy = tags
            .iter()
            .fold(Policy::from(ttl), |policy, tag| policy.tag(tag));
        let stored = cache.set_with(&key, &value, &policy).await;
        match stored {
            Ok(()) => {
                let asked = ttl.unwrap_or_else(|| cache.default_ttl());
                let applied = applied_ttl(asked);
                let capped = if applied < asked {
                    " (the longest TTL the cache keeps)"
                } else {
                    ""
                };
                let tagged = if tags.is_empty() {
                    String::new()
                } else {
                    format!(", tagged {}", tags.join(", "))
                };
                writeln!(
                    out,
                    "stored {key:?} in the {} cache for {}s{capped}{tagged}",
                    cache.alias(),
                    applied.as_secs_f64()
                )?;
                if cache.alias() == Alias::Memory {
                    eprintln!("{MEMORY_NOTE}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Ok(failed(cache, &error)),
        }
    }
}
