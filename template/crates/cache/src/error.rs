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
/// use service_cache::CacheError;
///
/// let error = CacheError::Timeout(Duration::from_millis(500));
/// assert!(error.is_unavailable());
/// assert!(error.to_string().starts_with("Redis did not answer within 500 ms"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Redis could not be reached for a reason none of the variants below names
    /// (reset, DNS, ...) or the client could not be set up; the message says which.
    #[error("Redis is unreachable: {0}")]
    Unavailable(String),
    /// Nothing accepted a connection at the address.
    #[error(
        "Redis at {0} refused the connection: check that Redis runs there and that CACHE_REDIS_HOST and CACHE_REDIS_PORT (or the URL or node list) point to it"
    )]
    Refused(String),
    /// Redis did not answer within `CACHE_REDIS_TIMEOUT_MS`.
    #[error(
        "Redis did not answer within {} ms: check that the address is right and reachable, or raise CACHE_REDIS_TIMEOUT_MS",
        .0.as_millis()
    )]
    Timeout(Duration),
    /// The TLS handshake failed: the server's certificate is not trusted or not for this
    /// name, the server wants a client certificate, or it does not speak TLS.
    #[error(
        "the TLS handshake with Redis failed ({0}): check CACHE_REDIS_TLS_CA_FILE (the CA that signed the server's certificate), that the host name matches the certificate, CACHE_REDIS_TLS_CERT_FILE and CACHE_REDIS_TLS_KEY_FILE if the server asks for a client certificate, and that the server listens for TLS on that port"
    )]
    Tls(String),
    /// Redis refused the user name or password.
    #[error("Redis refused the credentials: check CACHE_REDIS_USERNAME and CACHE_REDIS_PASSWORD")]
    AuthenticationFailed,
    /// Redis requires a password and none was given.
    #[error(
        "Redis requires authentication: set CACHE_REDIS_PASSWORD (and CACHE_REDIS_USERNAME for an ACL user)"
    )]
    AuthenticationRequired,
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
    /// `incr` found a value that is not a whole number, or the result would leave the
    /// range of `i64`.
    #[error(
        "the value under this key is not a counter (a whole number from -2^63 to 2^63-1), or the increment would leave that range: delete the key or use another one"
    )]
    NotACounter,
    /// An invalidation (or a write, whose old value must go) that Redis did not take: it
    /// is kept, and sent as soon as Redis answers, before any read from Redis.
    #[error("{0} (the invalidation is kept and sent as soon as Redis answers)")]
    Queued(Box<CacheError>),
}

impl CacheError {
    /// `true` when the backend could not be reached or did not answer in time (as
    /// opposed to a bad value or a refused command): what readiness checks care about.
    ///
    /// ```
    /// use service_cache::CacheError;
    ///
    /// assert!(!CacheError::ZeroTtl.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        if let CacheError::Queued(error) = self {
            return error.is_unavailable();
        }
        matches!(
            self,
            CacheError::Unavailable(_)
                | CacheError::Refused(_)
                | CacheError::Timeout(_)
                | CacheError::Tls(_)
                | CacheError::AuthenticationFailed
                | CacheError::AuthenticationRequired
                | CacheError::Backoff(_)
        )
    }
}
