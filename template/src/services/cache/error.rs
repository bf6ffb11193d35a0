//! What can go wrong in a cache operation. The `Cache` methods return these; the free
//! functions (`get_cached` and friends) log them and carry on as a miss or a no-op.

use std::time::Duration;

/// Why a cache operation failed.
///
/// Messages never contain a password: Redis errors are scrubbed of it before they get
/// here.
///
/// ```
/// use std::time::Duration;
///
/// use {{crate_name}}::services::cache::CacheError;
///
/// let error = CacheError::Timeout(Duration::from_millis(500));
/// assert!(error.is_unavailable());
/// assert_eq!(error.to_string(), "Redis did not answer within 500 ms");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Redis could not be reached (refused, reset, DNS, TLS, authentication) or the
    /// client could not be set up; the message says which.
    #[error("Redis is unreachable: {0}")]
    Unavailable(String),
    /// Redis did not answer within `CACHE_REDIS_TIMEOUT_MS`.
    #[error("Redis did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// Redis failed recently, so the operation was not even tried; the next attempt
    /// goes out after the given wait.
    #[error("Redis is unreachable (failed recently; next attempt in {} ms)", .0.as_millis())]
    Backoff(Duration),
    /// Redis answered, with an error (e.g. `OOM`, `READONLY`, `NOPERM`).
    #[error("Redis refused the command: {0}")]
    Backend(String),
    /// The value could not be turned into JSON (e.g. a map with non-string keys).
    #[error("the value cannot be stored as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// Raw text given to `set_raw` is not valid JSON.
    #[error("the raw value is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// A TTL of zero: an entry that expires as it is written is always a mistake.
    #[error("a cache TTL must be at least 1 ms")]
    ZeroTtl,
}

impl CacheError {
    /// `true` when the backend could not be reached or did not answer in time (as
    /// opposed to a bad value or a refused command): what readiness checks care about.
    ///
    /// ```
    /// use {{crate_name}}::services::cache::CacheError;
    ///
    /// assert!(!CacheError::ZeroTtl.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            CacheError::Unavailable(_) | CacheError::Timeout(_) | CacheError::Backoff(_)
        )
    }
}
