//! What the cache subcommands say besides their results: the messages on stderr for
//! invalid JSON, cache failures, misses on the memory alias and values it will not keep,
//! with the exit codes that go with them.

use std::process::ExitCode;

use super::{EXIT_INVALID_INPUT, EXIT_MISS, EXIT_UNAVAILABLE};
use crate::{Alias, Backend, Cache, CacheError};

/// What `set`, `add` and `incr` on the memory alias remind the user of.
pub(super) const MEMORY_NOTE: &str = "note: the memory alias lives in this process only, so the value is gone \
     when this command exits; use --alias persistent to keep it";

/// The hint after a miss on the memory alias, which starts empty in every command.
pub(super) fn memory_hint(cache: &Cache) -> &'static str {
    if cache.alias() == Alias::Memory && cache.backend() != Backend::Disabled {
        " (the memory alias starts empty in every command; try --alias persistent)"
    } else {
        ""
    }
}

/// Says on stderr that `key` is not in `cache`, and gives the miss exit code.
pub(super) fn missing(cache: &Cache, key: &str) -> ExitCode {
    eprintln!(
        "miss: {key:?} is not in the {} cache{}",
        cache.alias(),
        memory_hint(cache)
    );
    ExitCode::from(EXIT_MISS)
}

/// Exit 2 with the parser's message (and its position) when `json` is not JSON,
/// checked before any cache is touched so that bad input is always exit 2, never a
/// cache error.
pub(super) fn invalid_json(json: &str) -> Option<ExitCode> {
    let error = serde_json::from_str::<serde::de::IgnoredAny>(json).err()?;
    eprintln!(
        "error: the value is not valid JSON ({error}); nothing was stored. \
         Pass JSON, quoting strings: '\"hello\"'"
    );
    Some(ExitCode::from(EXIT_INVALID_INPUT))
}

/// Reports a cache failure on stderr and picks the exit code for it.
pub(super) fn failed(cache: &Cache, error: &CacheError) -> ExitCode {
    // The error names the cause and what to check (address, TLS, credentials, timeout).
    eprintln!(
        "error: the {} cache ({}) failed: {error}",
        cache.alias(),
        cache.backend()
    );
    ExitCode::from(EXIT_UNAVAILABLE)
}

/// "1 key", "2 keys".
pub(super) fn keys(count: u64) -> String {
    if count == 1 {
        "1 key".to_owned()
    } else {
        format!("{count} keys")
    }
}
