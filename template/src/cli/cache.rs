//! `cache get|set|delete|clear|stats|exists|incr|add|take`: read and manage cache
//! entries from a shell.
//!
//! Every command is a fresh process with freshly configured caches, so the `memory`
//! alias (in-process) always starts empty; `--alias persistent` reaches the store that
//! outlives the process{% if redis %} (Redis, when configured){% endif %}. Values travel as JSON text, exactly as
//! the service stores them. Results go to stdout, messages to stderr, and the exit code
//! tells a script what happened (see [`EXIT_MISS`] and friends).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use clap::builder::PossibleValue;
use serde_json::value::RawValue;

use crate::context::AppContext;
use crate::services::cache::{Alias, Backend, Cache, CacheError, Caches, MAX_TTL, Policy};

/// `cache get`/`take` found nothing under the key, `cache exists` found no value, or
/// `cache add` did not store because the key holds a value already.
pub const EXIT_MISS: u8 = 1;
/// The input was unusable: invalid JSON for `cache set`/`add`, or a key that holds no
/// counter for `cache incr` (clap uses the same code for unknown options and values,
/// such as an unknown alias).
pub const EXIT_INVALID_INPUT: u8 = 2;
/// The cache backend failed or could not be reached (`EX_UNAVAILABLE`), kept apart
/// from a miss so that scripts can tell "absent" from "could not look".
pub const EXIT_UNAVAILABLE: u8 = 69;

/// Cache commands.
#[derive(Debug, clap::Subcommand)]
#[command(after_long_help = CACHE_HELP)]
pub enum CacheCommand {
    /// Print the JSON stored under KEY (exit 0); on a miss print nothing (exit 1).
    Get {
        /// The key, without the CACHE_PREFIX namespace.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        key: String,
        #[command(flatten)]
        alias: AliasArg,
    },
    /// Store a JSON value under KEY; invalid JSON stores nothing and exits 2.
    Set {
        /// The key, without the CACHE_PREFIX namespace.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        key: String,
        /// The value as JSON, e.g. '{"name":"Ada"}', '"a string"' (note the quotes) or -1.
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
    },
    /// Delete KEY, or with --pattern every key matching a glob; exits 0 either way.
    Delete {
        /// The key, or a glob such as 'items:*' with --pattern.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        key: String,
        #[command(flatten)]
        alias: AliasArg,
        /// Treat KEY as a glob: `*` matches any run of characters, `?` one character.
        #[arg(long)]
        pattern: bool,
    },
    /// Delete every key of this service and CACHE_VERSION in the alias (only keys under
    /// CACHE_PREFIX).
    Clear {
        #[command(flatten)]
        alias: AliasArg,
        /// Delete the keys of every CACHE_VERSION under CACHE_PREFIX, not only the
        /// current one's (after a deploy changed the version).
        #[arg(long)]
        all_versions: bool,
    },
    /// Delete every entry tagged TAG (by the endpoint cache or `cache set --tag`);
    /// exits 0 either way.
    InvalidateTag {
        /// The tag, e.g. owner:7.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        tag: String,
        #[command(flatten)]
        alias: AliasArg,
    },
    /// Exit 0 when KEY holds a value, 1 when it does not; prints nothing on stdout.
    Exists {
        /// The key, without the CACHE_PREFIX namespace.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        key: String,
        #[command(flatten)]
        alias: AliasArg,
    },
    /// Add to the counter under KEY (created at 0) and print the new count.
    #[command(
        long_about = "Add to the counter under KEY and print the new count.\n\n\
        A counter that does not exist starts at 0 and lives for --ttl from this first \
        increment; later increments keep that deadline. Exits 2 when KEY holds \
        something other than a whole number."
    )]
    Incr {
        /// The key, without the CACHE_PREFIX namespace.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        key: String,
        #[command(flatten)]
        alias: AliasArg,
        /// What to add; negative numbers count down.
        #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
        by: i64,
        /// Lifetime of a new counter in seconds; fractions work (0.5). Default: the
        /// alias's default TTL. An existing counter keeps its own.
        #[arg(long, value_name = "SECONDS", value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Store a JSON value under KEY only if KEY holds none: exit 0 stored, 1 not.
    Add {
        /// The key, without the CACHE_PREFIX namespace.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        key: String,
        /// The value as JSON, e.g. '{"owner":"job-7"}' or '"a string"' (note the quotes).
        #[arg(allow_negative_numbers = true)]
        json: String,
        #[command(flatten)]
        alias: AliasArg,
        /// Time to live in seconds; fractions work (0.5). Default: the alias's default TTL.
        #[arg(long, value_name = "SECONDS", value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Print the JSON under KEY and delete it (exit 0); on a miss print nothing (exit 1).
    Take {
        /// The key, without the CACHE_PREFIX namespace.
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        key: String,
        #[command(flatten)]
        alias: AliasArg,
    },
    /// Show each alias's backend, whether it answers, and this process's counters.
    #[command(
        long_about = "Show each alias's backend, whether it answers, and this \
        process's hit, miss and error counters.\n\n\
        The counters count this process's operations only, so in a one-shot command \
        they start at zero; the numbers worth watching are a long-running web server's \
        or worker's. Exits 69 when a backend does not answer."
    )]
    Stats {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// The `--alias` option shared by the commands that touch entries.
#[derive(Debug, clap::Args)]
pub struct AliasArg {
    /// Which cache to use. memory lives inside this process, so it starts empty.
    #[arg(long, short, value_enum, default_value_t = Alias::Memory)]
    pub alias: Alias,
}
{%- if redis %}

const CACHE_HELP: &str = "\
Each command runs in a new process with its own caches. The memory alias lives inside \
that process, so it is always empty when a command starts: use --alias persistent to \
reach the shared store (Redis, when CACHE_REDIS_HOST or CACHE_REDIS_URL is set; \
otherwise persistent is in-process too).

Exit codes: 0 done (get, take: hit; exists: present; add: stored), 1 get, take: miss, \
exists: absent, add: not stored (the key holds a value), 2 invalid input (bad JSON, unknown \
alias, incr on a key that holds no counter), 69 the cache backend failed or could not be \
reached.";
{%- else %}

const CACHE_HELP: &str = "\
Each command runs in a new process with its own caches. This service was built without \
Redis, so both aliases live inside that process and are empty when a command starts: \
these commands show how the cache behaves rather than reach a running service's data.

Exit codes: 0 done (get, take: hit; exists: present; add: stored), 1 get, take: miss, \
exists: absent, add: not stored (the key holds a value), 2 invalid input (bad JSON, unknown \
alias, incr on a key that holds no counter), 69 the cache backend failed.";
{%- endif %}

impl ValueEnum for Alias {
    fn value_variants<'a>() -> &'a [Self] {
        &Alias::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self {
            Alias::Memory => "in this process only",
            Alias::Persistent => PERSISTENT_HELP,
        };
        Some(PossibleValue::new(self.as_str()).help(help))
    }
}
{%- if redis %}

/// What `--alias persistent` reaches.
const PERSISTENT_HELP: &str = "Redis when configured, else in-process";
{%- else %}

/// What `--alias persistent` reaches.
const PERSISTENT_HELP: &str = "in-process, apart from memory";
{%- endif %}

impl CacheCommand {
    /// Runs the command against the context's caches and returns the exit code.
    ///
    /// # Errors
    /// Only when the result cannot be written to stdout; cache failures become
    /// [`EXIT_UNAVAILABLE`] with a message on stderr.
    pub async fn run(self, context: AppContext) -> anyhow::Result<ExitCode> {
        let caches = &context.caches;
        let mut out = std::io::stdout().lock();
        let code = match self {
            Self::Get { key, alias } => get(caches.get(alias.alias), &key, &mut out).await?,
            Self::Set {
                key,
                json,
                alias,
                ttl,
                tags,
            } => set(caches.get(alias.alias), &key, &json, (ttl, &tags), &mut out).await?,
            Self::Delete {
                key,
                alias,
                pattern,
            } => delete(caches.get(alias.alias), &key, pattern, &mut out).await?,
            Self::Clear {
                alias,
                all_versions,
            } => clear(caches.get(alias.alias), all_versions, &mut out).await?,
            Self::InvalidateTag { tag, alias } => {
                invalidate_tag(caches.get(alias.alias), &tag, &mut out).await?
            }
            Self::Exists { key, alias } => exists(caches.get(alias.alias), &key).await,
            Self::Incr {
                key,
                alias,
                by,
                ttl,
            } => incr(caches.get(alias.alias), &key, by, ttl, &mut out).await?,
            Self::Add {
                key,
                json,
                alias,
                ttl,
            } => add(caches.get(alias.alias), &key, &json, ttl, &mut out).await?,
            Self::Take { key, alias } => take(caches.get(alias.alias), &key, &mut out).await?,
            Self::Stats { json } => stats(caches, json, &mut out).await?,
        };
        out.flush()?;
        Ok(code)
    }
}

async fn get(cache: &Cache, key: &str, out: &mut impl std::io::Write) -> anyhow::Result<ExitCode> {
    if cache.backend() == Backend::Disabled {
        eprintln!("miss: CACHE_ENABLED=false, so every read is a miss");
        return Ok(ExitCode::from(EXIT_MISS));
    }
    match cache.get_raw(key).await {
        Ok(Some(json)) if serde_json::from_str::<serde::de::IgnoredAny>(&json).is_ok() => {
            writeln!(out, "{json}")?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some(_)) => {
            // Written by hand (redis-cli) and not JSON: a miss, removed, as the service
            // treats it (`get_json` removes it unless it changed meanwhile).
            if let Err(error) = cache.get_json(key).await {
                return Ok(failed(cache, &error));
            }
            eprintln!(
                "warning: the value under {key:?} is not JSON; it was removed and counts as a miss"
            );
            Ok(ExitCode::from(EXIT_MISS))
        }
        Ok(None) => {
            eprintln!(
                "miss: {key:?} is not in the {} cache{}",
                cache.alias(),
                memory_hint(cache)
            );
            Ok(ExitCode::from(EXIT_MISS))
        }
        Err(error) => Ok(failed(cache, &error)),
    }
}

async fn set(
    cache: &Cache,
    key: &str,
    json: &str,
    (ttl, tags): (Option<Duration>, &[String]),
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
    if let Some(code) = invalid_json(json) {
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
    let stored = cache.set_with(key, &value, &policy).await;
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

async fn delete(
    cache: &Cache,
    key: &str,
    pattern: bool,
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
    let alias = cache.alias();
    if pattern {
        match cache.delete_matching(key).await {
            Ok(count) => writeln!(
                out,
                "deleted {} matching {key:?} from the {alias} cache",
                keys(count)
            )?,
            Err(error) => return Ok(failed(cache, &error)),
        }
    } else {
        match cache.delete(key).await {
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

async fn clear(
    cache: &Cache,
    all_versions: bool,
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
    let (cleared, which) = if all_versions {
        (cache.clear_all_versions().await, " (every CACHE_VERSION)")
    } else {
        (cache.clear().await, "")
    };
    match cleared {
        Ok(count) => {
            let alias = cache.alias();
            writeln!(out, "cleared {} from the {alias} cache{which}", keys(count))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(failed(cache, &error)),
    }
}

async fn invalidate_tag(
    cache: &Cache,
    tag: &str,
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
    match cache.invalidate_tag(tag).await {
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

async fn exists(cache: &Cache, key: &str) -> ExitCode {
    if cache.backend() == Backend::Disabled {
        eprintln!("absent: CACHE_ENABLED=false, so nothing is ever stored");
        return ExitCode::from(EXIT_MISS);
    }
    match cache.exists(key).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "absent: {key:?} is not in the {} cache{}",
                cache.alias(),
                memory_hint(cache)
            );
            ExitCode::from(EXIT_MISS)
        }
        Err(error) => failed(cache, &error),
    }
}

async fn incr(
    cache: &Cache,
    key: &str,
    by: i64,
    ttl: Option<Duration>,
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
    match cache.incr(key, by, ttl).await {
        Ok(count) => {
            writeln!(out, "{count}")?;
            if cache.backend() == Backend::Disabled {
                eprintln!("not kept: CACHE_ENABLED=false, so every counter starts afresh");
            } else if cache.alias() == Alias::Memory {
                eprintln!("{MEMORY_NOTE}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error @ CacheError::NotACounter) => {
            eprintln!("error: {key:?} in the {} cache: {error}", cache.alias());
            Ok(ExitCode::from(EXIT_INVALID_INPUT))
        }
        Err(error) => Ok(failed(cache, &error)),
    }
}

async fn add(
    cache: &Cache,
    key: &str,
    json: &str,
    ttl: Option<Duration>,
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
    if let Some(code) = invalid_json(json) {
        return Ok(code);
    }
    if cache.backend() == Backend::Disabled {
        eprintln!("not stored: CACHE_ENABLED=false, so every cache operation is a no-op");
        return Ok(ExitCode::from(EXIT_MISS));
    }
    match cache.add_raw(key, json.trim(), ttl).await {
        Ok(true) => {
            let applied = applied_ttl(ttl.unwrap_or_else(|| cache.default_ttl()));
            writeln!(
                out,
                "stored {key:?} in the {} cache for {}s",
                cache.alias(),
                applied.as_secs_f64()
            )?;
            if cache.alias() == Alias::Memory {
                eprintln!("{MEMORY_NOTE}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(false) => {
            eprintln!(
                "not stored: {key:?} already holds a value in the {} cache",
                cache.alias()
            );
            Ok(ExitCode::from(EXIT_MISS))
        }
        Err(error) => Ok(failed(cache, &error)),
    }
}

async fn take(cache: &Cache, key: &str, out: &mut impl std::io::Write) -> anyhow::Result<ExitCode> {
    if cache.backend() == Backend::Disabled {
        eprintln!("miss: CACHE_ENABLED=false, so every read is a miss");
        return Ok(ExitCode::from(EXIT_MISS));
    }
    match cache.take_json(key).await {
        Ok(Some(json)) => {
            writeln!(out, "{json}")?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => {
            eprintln!(
                "miss: {key:?} is not in the {} cache (or held something that is not JSON, now removed){}",
                cache.alias(),
                memory_hint(cache)
            );
            Ok(ExitCode::from(EXIT_MISS))
        }
        Err(error) => Ok(failed(cache, &error)),
    }
}

/// What `set`, `add` and `incr` on the memory alias remind the user of.
const MEMORY_NOTE: &str = "note: the memory alias lives in this process only, so the value is gone \
     when this command exits; use --alias persistent to keep it";

/// The hint after a miss on the memory alias, which starts empty in every command.
fn memory_hint(cache: &Cache) -> &'static str {
    if cache.alias() == Alias::Memory && cache.backend() != Backend::Disabled {
        " (the memory alias starts empty in every command; try --alias persistent)"
    } else {
        ""
    }
}

/// Exit 2 with the parser's message (and its position) when `json` is not JSON,
/// checked before any cache is touched so that bad input is always exit 2, never a
/// cache error.
fn invalid_json(json: &str) -> Option<ExitCode> {
    let error = serde_json::from_str::<serde::de::IgnoredAny>(json).err()?;
    eprintln!(
        "error: the value is not valid JSON ({error}); nothing was stored. \
         Pass JSON, quoting strings: '\"hello\"'"
    );
    Some(ExitCode::from(EXIT_INVALID_INPUT))
}

async fn stats(
    caches: &Caches,
    json: bool,
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
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
    if json {
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

/// Reports a cache failure on stderr and picks the exit code for it.
fn failed(cache: &Cache, error: &CacheError) -> ExitCode {
    // The error names the cause and what to check (address, TLS, credentials, timeout).
    eprintln!(
        "error: the {} cache ({}) failed: {error}",
        cache.alias(),
        cache.backend()
    );
    ExitCode::from(EXIT_UNAVAILABLE)
}

/// The TTL the cache gives an entry asked to live `ttl`: whole milliseconds, rounded
/// up, at most [`MAX_TTL`].
fn applied_ttl(ttl: Duration) -> Duration {
    let millis = u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
    Duration::from_millis(millis).min(MAX_TTL)
}

/// "1 key", "2 keys".
fn keys(count: u64) -> String {
    if count == 1 {
        "1 key".to_owned()
    } else {
        format!("{count} keys")
    }
}

/// `--ttl`: seconds, fractions allowed, at least one millisecond.
fn parse_ttl(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite())
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|ttl| *ttl >= Duration::from_millis(1))
        .ok_or_else(|| {
            "expected a number of seconds of at least 0.001, such as 60 or 0.5".to_owned()
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{MAX_TTL, applied_ttl, parse_ttl};

    #[test]
    fn ttls_take_whole_and_fractional_seconds() {
        assert_eq!(parse_ttl("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_ttl("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "abc", "", "inf", "NaN", "0.0001", "1e400"] {
            assert!(parse_ttl(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_applied_ttl_is_capped_and_kept_to_the_millisecond() {
        assert_eq!(applied_ttl(Duration::from_secs(1_000_000_000_000)), MAX_TTL);
        assert_eq!(
            applied_ttl(Duration::from_micros(1_500)),
            Duration::from_millis(2)
        );
        assert_eq!(
            applied_ttl(Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }
}
