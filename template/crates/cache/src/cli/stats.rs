//! `cache stats [--json]`: each alias's backend, whether it answers, and this process's
//! counters.

use std::io::Write;
use std::process::ExitCode;

use super::EXIT_UNAVAILABLE;
use crate::{Alias, Backend, Caches};

/// Show each alias's backend, whether it answers, and this process's counters.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Show each alias's backend, whether it answers, and this \
    process's hit, miss and error counters.\n\n\
    The counters count this process's operations only, so in a one-shot command \
    they start at zero; the numbers worth watching are a long-running web server's \
    or worker's. Exits 69 when a backend does not answer."
)]
pub struct StatsCommand {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

impl StatsCommand {
    /// Pings every alias, prints the table (or JSON) on `out` and returns the exit code.
    ///
    /// # Errors
    /// Only when `out` cannot be written.
    pub async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let mut all_answer = true;
        let mut rows = Vec::new();
        for alias in Alias::ALL {
            let cache = caches.get(alias);
            let status = match cache.backend() {
                Backend::Disabled => "disabled (CACHE_ENABLED=false)".to_owned(),
                _ => match cache.ping().await {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => {
                        all_answer = false;
                        format!("unreachable: {error}")
                    }
                },
            };
            rows.push((cache, status));
        }
        if self.json {
            let object: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(cache, status)| {
                    let stats = cache.stats();
                    let row = serde_json::json!({
                        "backend": cache.backend().to_string(),
                        "status": status,
                        "hits": stats.hits,
                        "misses": stats.misses,
                        "errors": stats.errors,
                        "l1_hits": stats.l1_hits,
                    });
                    (cache.alias().to_string(), row)
                })
                .collect();
            writeln!(out, "{}", serde_json::Value::Object(object))?;
        } else {
            writeln!(
                out,
                "{:<12}{:<10}{:>6}{:>8}{:>8}{:>9}  STATUS",
                "ALIAS", "BACKEND", "HITS", "MISSES", "ERRORS", "L1_HITS"
            )?;
            for (cache, status) in &rows {
                let stats = cache.stats();
                writeln!(
                    out,
                    "{:<12}{:<10}{:>6}{:>8}{:>8}{:>9}  {status}",
                    cache.alias().to_string(),
                    cache.backend().to_string(),
                    stats.hits,
                    stats.misses,
                    stats.errors,
                    stats.l1_hits,
                )?;
            }
            writeln!(out, "(counters cover this command's own operations only)")?;
        }
        Ok(if all_answer {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_UNAVAILABLE)
        })
    }
}
