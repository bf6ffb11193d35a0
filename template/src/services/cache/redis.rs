//! The Redis backend of the `persistent` alias, on one server, a Redis Cluster or the
//! primary Sentinel names (see [`connection`](super::connection)).
//!
//! One multiplexed connection per process (per node on a cluster), created by the first
//! command, so the service starts while Redis is down, and reconnecting by itself.
//! Connecting and every command are bounded by `CACHE_REDIS_TIMEOUT_MS`, and after a
//! failure the [`Breaker`] makes commands fail at once rather than each waiting out that
//! timeout.
//!
//! Keys are `{CACHE_PREFIX}:{key}`; values are JSON strings written with a millisecond
//! TTL (`SET key json PX ms`), so `redis-cli` shows them as they are. Clearing walks
//! this prefix with `SCAN` (on every primary of a cluster) and removes each batch with
//! `UNLINK`: other services' keys are never touched, and no `KEYS` or `FLUSHDB` blocks
//! the server.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{Cmd, ErrorKind, FromRedisValue, RedisError};

use super::breaker::{Breaker, RETRY_AFTER};
use super::connection::{Connection, Link};
use super::redis_metrics::RedisMetrics;
use super::{Backend, CacheError};
use crate::settings::{RedisMode, RedisSettings, Secret};

/// Keys asked for per `SCAN` step: few round trips, yet each step and the `UNLINK` after
/// it stay far inside the timeout.
const SCAN_BATCH: usize = 500;

/// Removes a key only if it still holds the given value, so dropping an undecodable
/// value never deletes a good one written in the meantime.
const UNLINK_IF_UNCHANGED: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('UNLINK', KEYS[1]) end return 0";

/// The `persistent` alias on Redis.
pub(super) struct RedisStore {
    /// The client, or why it could not be built (then every command fails with it).
    link: Result<Link, String>,
    /// Bound of connecting and of each command.
    timeout: Duration,
    /// `CACHE_PREFIX` and a colon, put in front of every key.
    key_prefix: String,
    /// Whether to fail fast because Redis failed recently.
    breaker: Breaker,
    /// Texts that must never reach a message: URLs and the password.
    secrets: Vec<Secret>,
    /// Command durations and reconnects, for `/metrics`.
    metrics: RedisMetrics,
}

impl RedisStore {
    /// Prepares the client for `mode` without connecting.
    pub(super) fn new(settings: &RedisSettings, mode: &RedisMode, prefix: &str) -> Self {
        if settings.uses_tls() {
            // rustls needs a process-wide crypto provider before the first TLS handshake;
            // ring is the one compiled in. Err only means one is installed already.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let url_insecure = settings
            .url
            .as_ref()
            .is_some_and(|url| url.expose().contains("#insecure"));
        if settings.tls_insecure || url_insecure {
            tracing::warn!(
                "Redis TLS certificates are not checked (CACHE_REDIS_TLS_INSECURE or #insecure in the URL): \
                 anyone on the network path can read and change cached data; for development only"
            );
        }
        let mut secrets: Vec<Secret> = settings.password.iter().cloned().collect();
        match mode {
            RedisMode::Single(url) => secrets.push(url.clone()),
            RedisMode::Cluster(urls) => secrets.extend(urls.iter().cloned()),
            RedisMode::Sentinel { .. } => {}
        }
        if let RedisMode::Single(url) = mode
            && let Ok(client) = redis::Client::open(url.expose())
            && let Some(password) = client.get_connection_info().redis_settings().password()
        {
            secrets.push(Secret::new(password));
        }
        let link = Link::new(settings, mode).map_err(|error| {
            let reason = format!(
                "the Redis settings cannot be used ({})",
                scrub(&error.to_string(), &secrets)
            );
            tracing::error!("{reason}; every operation on the persistent alias will fail");
            reason
        });
        Self {
            link,
            timeout: settings.timeout,
            key_prefix: format!("{prefix}:"),
            breaker: Breaker::new(),
            secrets,
            metrics: RedisMetrics::new(),
        }
    }

    pub(super) fn backend(&self) -> Backend {
        Backend::Redis
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        // Bytes, not a String: another client may have written something that is not
        // even text under our key, and that must read as a miss, not as an error.
        let stored: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(self.key(key))).await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        match String::from_utf8(stored) {
            Ok(json) => Ok(Some(Arc::from(json))),
            Err(not_text) => {
                tracing::warn!(
                    key,
                    "a cached value is not UTF-8 text; treating it as a miss and removing it"
                );
                self.unlink_if_unchanged(key, not_text.as_bytes()).await?;
                Ok(None)
            }
        }
    }

    pub(super) async fn set(&self, key: &str, json: &str, ttl: Duration) -> Result<(), CacheError> {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.query(
            redis::cmd("SET")
                .arg(self.key(key))
                .arg(json)
                .arg("PX")
                .arg(millis),
        )
        .await
    }

    pub(super) async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let removed: u64 = self.query(redis::cmd("UNLINK").arg(self.key(key))).await?;
        Ok(removed > 0)
    }

    pub(super) async fn remove_if_unchanged(
        &self,
        key: &str,
        json: &Arc<str>,
    ) -> Result<(), CacheError> {
        self.unlink_if_unchanged(key, json.as_bytes()).await
    }

    pub(super) async fn delete_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        let pattern = scan_pattern(&self.key_prefix, pattern);
        let nodes = self
            .run_admitted(|mut connection| async move { connection.scan_nodes().await })
            .await?;
        let mut removed = 0;
        for node in &nodes {
            let mut cursor = 0_u64;
            loop {
                let mut scan = redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(SCAN_BATCH);
                // Raw bytes: another writer may have put a non-UTF-8 key under our prefix.
                let (next, keys): (u64, Vec<Vec<u8>>) = self
                    .run_admitted(|mut connection| {
                        let scan = &scan;
                        async move { connection.query_on(node, scan).await }
                    })
                    .await?;
                if !keys.is_empty() {
                    // On a cluster the crate splits this by slot and adds the counts up.
                    removed += self.query::<u64>(redis::cmd("UNLINK").arg(&keys)).await?;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(removed)
    }

    pub(super) async fn clear(&self) -> Result<u64, CacheError> {
        self.delete_matching("*").await
    }

    /// Asks Redis even while failing fast: readiness probes should see recovery at once.
    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        self.send::<String>(&redis::cmd("PING")).await.map(drop)
    }

    async fn unlink_if_unchanged(&self, key: &str, stored: &[u8]) -> Result<(), CacheError> {
        let mut command = redis::cmd("EVAL");
        command
            .arg(UNLINK_IF_UNCHANGED)
            .arg(1)
            .arg(self.key(key))
            .arg(stored);
        self.query::<u64>(&command).await.map(drop)
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.key_prefix.len() + key.len());
        full.push_str(&self.key_prefix);
        full.push_str(key);
        full
    }

    /// Sends `command` unless Redis failed recently.
    async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, CacheError> {
        self.run_admitted(|mut connection| async move {
            command.query_async::<T>(&mut connection).await
        })
        .await
    }

    /// Sends `command` even while failing fast, within the timeout.
    async fn send<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, CacheError> {
        self.run(|mut connection| async move { command.query_async::<T>(&mut connection).await })
            .await
    }

    /// [`RedisStore::run`], unless Redis failed recently.
    async fn run_admitted<T, F>(&self, operation: impl Fn(Connection) -> F) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        self.breaker.admit().map_err(CacheError::Backoff)?;
        self.run(operation).await
    }

    /// Runs `operation` on the connection (connecting first if needed) within the
    /// timeout, and tells the breaker and the link how it went.
    /// `operation` gets its own handle on the connection (a cheap clone), so it can be
    /// run a second time.
    async fn run<T, F>(&self, operation: impl Fn(Connection) -> F) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let link = self
            .link
            .as_ref()
            .map_err(|reason| CacheError::Unavailable(reason.clone()))?;
        let attempt = async {
            let connection = link.connection().await?;
            match operation(connection.clone()).await {
                // A connection that died while idle (Redis restarted, a proxy dropped it)
                // is only found out by using it, and the manager is already replacing it:
                // one more try tells whether Redis itself is down. Every operation this
                // store runs (commands, SCAN steps, CLUSTER NODES) is safe to repeat.
                Err(error) if error.is_unrecoverable_error() => {
                    self.metrics.reconnected();
                    operation(connection).await
                }
                outcome => outcome,
            }
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, attempt).await;
        self.metrics.command(started.elapsed());
        match outcome {
            Ok(Ok(value)) => {
                self.reachable();
                Ok(value)
            }
            Ok(Err(error)) => {
                link.failed(&error);
                match link.explain(&error, |text| scrub(text, &self.secrets)) {
                    Some(explained) => Err(self.unreachable(explained)),
                    None if answered(&error) => {
                        self.reachable();
                        Err(CacheError::Backend(self.scrub(&error)))
                    }
                    None => Err(self.unreachable(CacheError::Unavailable(self.scrub(&error)))),
                }
            }
            Err(_elapsed) => {
                link.timed_out();
                Err(self.unreachable(CacheError::Timeout(self.timeout)))
            }
        }
    }

    fn reachable(&self) {
        if self.breaker.record_success() {
            self.metrics.reconnected();
            tracing::info!("Redis answers again; the persistent cache is back");
        }
    }

    fn unreachable(&self, error: CacheError) -> CacheError {
        if self.breaker.record_failure() {
            tracing::warn!(
                %error,
                "Redis is unreachable; persistent cache operations will fail fast and retry every {} ms",
                RETRY_AFTER.as_millis()
            );
        }
        error
    }

    /// This store's series for `/metrics`.
    pub(super) fn metrics(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.metrics.families(self.breaker.is_open())
    }

    fn scrub(&self, error: &RedisError) -> String {
        scrub(&error.to_string(), &self.secrets)
    }
}

/// Whether Redis itself answered with `error` (so it is reachable), as opposed to the
/// connection failing.
fn answered(error: &RedisError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Server(_) | ErrorKind::UnexpectedReturnType
    )
}

/// `message` with every secret replaced by `[redacted]`.
fn scrub(message: &str, secrets: &[Secret]) -> String {
    secrets
        .iter()
        .map(Secret::expose)
        .filter(|secret| !secret.is_empty())
        .fold(message.to_owned(), |message, secret| {
            message.replace(secret, "[redacted]")
        })
}

/// The `SCAN MATCH` pattern for the glob `pattern` under `key_prefix`. Redis globs also
/// know `[...]` and `\`; escaping those (and any glob character in the prefix) keeps
/// `*` and `?` the only special characters, as on the in-process store.
fn scan_pattern(key_prefix: &str, pattern: &str) -> String {
    let mut escaped = String::with_capacity(key_prefix.len() + pattern.len() + 4);
    for c in key_prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    for c in pattern.chars() {
        if matches!(c, '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::{scan_pattern, scrub};
    use crate::settings::Secret;

    #[test]
    fn only_star_and_question_mark_stay_special() {
        assert_eq!(scan_pattern("svc:", "user:*"), "svc:user:*");
        assert_eq!(scan_pattern("a*b?[c]:", "*"), "a\\*b\\?\\[c\\]:*");
        assert_eq!(scan_pattern("svc:", "[x]\\?"), "svc:\\[x\\]\\\\?");
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let secrets = [
            Secret::new("redis://:hunter2@db:6379/0"),
            Secret::new("hunter2"),
            Secret::new(""),
        ];
        let message = scrub(
            "cannot reach redis://:hunter2@db:6379/0 with hunter2",
            &secrets,
        );
        assert_eq!(message, "cannot reach [redacted] with [redacted]");
    }
}
