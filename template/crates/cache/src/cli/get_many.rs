//! `cache get-many KEY...`: prints the JSON stored under several keys, in one round trip.

use std::io::Write;
use std::process::ExitCode;

use serde_json::value::RawValue;

use super::output::failed;
use super::{AliasArg, EXIT_MISS};
use crate::Caches;

/// Print one JSON object mapping each KEY to its value, `null` when absent (exit 0 when
/// every key was found, 1 when one was not).
#[derive(Debug, clap::Args)]
pub struct GetManyCommand {
    /// The keys, without the CACHE_PREFIX namespace.
    #[arg(required = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    keys: Vec<String>,
    #[command(flatten)]
    alias: AliasArg,
}

impl GetManyCommand {
    /// Prints the values on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let Self { keys, alias } = self;
        let cache = alias.cache(caches);
        let asked: Vec<&str> = keys.iter().map(String::as_str).collect();
        let values = match cache.get_many::<Box<RawValue>>(&asked).await {
            Ok(values) => values,
            Err(error) => return Ok(failed(cache, &error)),
        };
        let found = values.iter().filter(|value| value.is_some()).count();
        // Written by hand to keep the keys in the order asked (a JSON map would sort them).
        let members: Vec<String> = keys
            .iter()
            .zip(&values)
            .map(|(key, value)| {
                let value = value.as_deref().map_or("null", RawValue::get);
                format!("{}:{value}", serde_json::Value::from(key.as_str()))
            })
            .collect();
        let (open, close) = ('{', '}');
        writeln!(out, "{open}{}{close}", members.join(","))?;
        if found == asked.len() {
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("{} of {} keys absent", asked.len() - found, asked.len());
            Ok(ExitCode::from(EXIT_MISS))
        }
    }
}
