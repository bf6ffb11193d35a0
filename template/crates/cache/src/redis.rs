//! The Redis backend of the `persistent` alias, on one server, a Redis Cluster or the
//! primary Sentinel names (see [`connection`](super::connection)).
//!
//! One multiplexed connection per process (per node on a cluster), created by the first
//! command, so the service starts while Redis is down, and reconnecting by itself.
//! Connecting and every command are bounded by `CACHE_REDIS_TIMEOUT_MS`, and after a
//! failure the [`Breaker`] makes commands fail at once rather than each waiting out that
//! timeout.
//!
//! With `CACHE_PERSISTENT_L1_CAPACITY` above 0, reads are answered from an in-process
//! [`L1`] when it holds the key, and fill it otherwise; Redis keeps it coherent (see
//! [`tracking`](super::tracking)). This service's own writes drop their key's copy
//! before they are sent and again once Redis answered, so a read that follows a write
//! here never sees the old value.
//!
//! Keys are `{CACHE_PREFIX}:v{CACHE_VERSION}:{key}`; values are JSON strings written
//! with a millisecond TTL (`SET key json PX ms`), so `redis-cli` shows them as they are,
//! except values above `CACHE_COMPRESS_MIN_BYTES`, which are stored compressed (see
//! [`compression`](super::compression)). A tag's members are a sorted set under
//! `{CACHE_PREFIX}:t{CACHE_VERSION}:{tag}`, scored by each member's deadline: adding a
//! member drops the expired ones and makes the set live as long as its longest-lived
//! member, so the bookkeeping expires with the entries. Clearing walks the version's
//! keys (or, for every version, the whole prefix) with `SCAN` (on every primary of a
//! cluster) and removes each batch with `UNLINK`: other services' keys are never
//! touched, and no `KEYS` or `FLUSHDB` blocks the server.

mod batch;
mod delivery;
mod expiry;
mod lease;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use redis::{Cmd, ErrorKind, FromRedisValue, RedisError};
use serde::de::IgnoredAny;

use super::breaker::{Breaker, RETRY_AFTER};
use super::compression::{self, Compression, Corrupt};
use super::connection::{Connector, LiveConnection};
use super::l1::L1;
use super::redis_metrics::RedisMetrics;
use super::{Backend, CacheError, tracking};
use crate::settings::{RedisMode, RedisSettings, Secret};
use delivery::Pending;

pub use delivery::MAX_PENDING_INVALIDATIONS;
pub(crate) use lease::RedisLease;

/// Keys asked for per `SCAN` step: few round trips, yet each step and the `UNLINK` after
/// it stay far inside the timeout.
const SCAN_BATCH: usize = 500;

/// Removes a key only if it still holds the given value, so dropping an undecodable
/// value never deletes a good one written in the meantime.
const UNLINK_IF_UNCHANGED: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('UNLINK', KEYS[1]) end return 0";

/// Adds ARGV[1] to the counter KEYS[1] and gives a counter without an expiry (one that
/// INCRBY just created) the TTL ARGV[2] in ms, atomically: later increments keep the
/// first deadline. One key, so it runs on a cluster as it does on one server.
const INCR_WITH_TTL: &str = "local count = redis.call('INCRBY', KEYS[1], ARGV[1]) if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return count";

/// Adds ARGV[1] (a full key) to the tag set KEYS[1] with its deadline, ARGV[2] ms from
/// now by the server's clock, drops the members whose deadline has passed, and makes
/// the set live at least as long as the new member. One key: it runs on a cluster too.
const TAG_ADD: &str = "local now = redis.call('TIME') now = now[1] * 1000 + math.floor(now[2] / 1000) \
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) \
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) \
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
return 1";

/// Removes the tag set KEYS[1] and returns its members, atomically, so two
/// invalidations of one tag never both get (or both miss) a member.
const TAG_TAKE: &str = "local members = redis.call('ZRANGE', KEYS[1], 0, -1) redis.call('UNLINK', KEYS[1]) return members";

/// The `persistent` alias on Redis.
pub(super) struct RedisStore {
    /// The client, or why it could not be built (then every command fails with it).
    connector: Result<Arc<Connector>, String>,
    /// Recently read entries; `None` when `CACHE_PERSISTENT_L1_CAPACITY` is 0.
    l1: Option<Arc<L1>>,
    /// Starts the L1's tracking at the first read, so commands that never read (and
    /// stores that are never used) open no tracking connection.
    tracking: Once,
    /// Reads the L1 answered.
    l1_hits: AtomicU64,
    /// Bound of connecting and of each command.
    timeout: Duration,
    /// `{CACHE_PREFIX}:v{CACHE_VERSION}:`, put in front of every key.
    key_prefix: String,
    /// `{CACHE_PREFIX}:t{CACHE_VERSION}:`, put in front of every tag's set.
    tag_prefix: String,
    /// `{CACHE_PREFIX}:l{CACHE_VERSION}:`, put in front of every fill lease (see
    /// [`lease`]).
    lease_prefix: String,
    /// `{CACHE_PREFIX}:`, in front of every version's keys.
    service_prefix: String,
    /// Whether to fail fast because Redis failed recently.
    breaker: Breaker,
    /// Invalidations Redis has not taken yet (see [`delivery`]).
    pending: Pending,
    /// Texts that must never reach a message: URLs and the password.
    secrets: Vec<Secret>,
    /// Which values are stored compressed (`CACHE_COMPRESS_MIN_BYTES`).
    compression: Compression,

    /// Command durations and reconnects, for `/metrics`.
    metrics: RedisMetrics,
}

impl RedisStore {
    /// Prepares the client for `mode`, keys under `prefix` and `version`, an L1 of
    /// `l1_capacity` entries kept at most `l1_ttl`, and compression of values above
    /// `compress_min_bytes`, without connecting.
    pub(super) fn new(
        settings: &RedisSettings,
        mode: &RedisMode,
        (prefix, version): (&str, &str),
        (l1_capacity, l1_ttl): (u64, Duration),
        compress_min_bytes: usize,
    ) -> Self {
        // No crypto provider is installed here: ring is the only one compiled in (see
        // Cargo.toml), so rustls installs it itself at the first handshake. Installing it by
        // hand is deprecated since rustls 0.23.48 (ring has no post-quantum key exchange);
        // aws-lc-rs has one, but would add a C library build to every cold build. A service
        // that compiles aws-lc-rs in as well must install one provider first in `main`.
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
        let connector = Connector::new(settings, mode)
            .map(Arc::new)
            .map_err(|error| {
                let reason = format!(
                    "the Redis settings cannot be used ({})",
                    scrub(&error.to_string(), &secrets)
                );
                tracing::error!("{reason}; every operation on the persistent alias will fail");
                reason
            });
        Self {
            connector,
            l1: L1::new(l1_capacity, l1_ttl).map(Arc::new),
            tracking: Once::new(),
            l1_hits: AtomicU64::new(0),
            timeout: settings.timeout,
            key_prefix: format!("{prefix}:v{version}:"),
            tag_prefix: format!("{prefix}:t{version}:"),
            lease_prefix: format!("{prefix}:l{version}:"),
            service_prefix: format!("{prefix}:"),
            breaker: Breaker::new(),
            pending: Pending::default(),
            secrets,
            compression: Compression::new(compress_min_bytes),

            metrics: RedisMetrics::new(),
        }
    }

    pub(super) fn backend(&self) -> Backend {
        Backend::Redis
    }

    /// The JSON text under `key`: from the L1 when it holds it, else from Redis (and then
    /// kept in the L1). Anyone can write to Redis (`redis-cli SET`): text that is not
    /// JSON is a miss, logged and removed, so the L1 only ever holds JSON and its hits
    /// are served unchecked.
    pub(super) async fn get(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        Ok(self.read(key, false).await?.map(|(json, _)| json))
    }

    /// As [`RedisStore::get`], with the time the entry has left in Redis (`None`: no
    /// expiry), which the L1 remembers with its copy.
    pub(super) async fn get_with_ttl(
        &self,
        key: &str,
    ) -> Result<Option<(Arc<str>, Option<Duration>)>, CacheError> {
        self.read(key, true).await
    }

    /// The JSON under `key` and, when the L1 is on or `with_ttl` asks, its time left
    /// (else `None`).
    async fn read(
        &self,
        key: &str,
        with_ttl: bool,
    ) -> Result<Option<(Arc<str>, Option<Duration>)>, CacheError> {
        let snapshot = match &self.l1 {
            Some(l1) => {
                if let Some(copy) = self.l1_copy(key) {
                    return Ok(Some(copy));
                }
                self.start_tracking(l1);
                l1.before_read(key)
            }
            None => None,
        };
        let (stored, redis_ttl) = if snapshot.is_some() || with_ttl {
            self.fetch_with_ttl(key).await?
        } else {
            (self.get_bytes(key).await?, None)
        };
        let Some(text) = self.text(key, stored).await? else {
            return Ok(None);
        };
        if serde_json::from_str::<IgnoredAny>(&text).is_err() {
            tracing::warn!(
                key,
                "a cached value is not JSON; treating it as a miss and removing it"
            );
            self.unlink_json_if_unchanged(key, &text).await?;
            return Ok(None);
        }
        let json: Arc<str> = Arc::from(text);
        if let (Some(l1), Some(snapshot)) = (&self.l1, snapshot) {
            l1.store(key, Arc::clone(&json), redis_ttl, snapshot);
        }
        Ok(Some((json, redis_ttl)))
    }

    /// The text under `key` as Redis holds it, JSON or not, never from the L1: what
    /// `redis-cli GET` shows.
    pub(super) async fn get_text(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let stored = self.get_bytes(key).await?;
        Ok(self.text(key, stored).await?.map(Arc::from))
    }

    /// Reads made through the L1 and answered by it.
    pub(super) fn l1_hits(&self) -> u64 {
        self.l1_hits.load(Ordering::Relaxed)
    }

    pub(super) async fn set(&self, key: &str, json: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.key(key))
            .arg(&*self.compression.encode(json))
            .arg("PX")
            .arg(millis(ttl));
        let outcome = self.write_voiding(key, command).await;
        // The old value must not outlive a set that may not have happened.
        self.keep_key(key, outcome)
    }

    pub(super) async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let mut command = redis::cmd("UNLINK");
        command.arg(self.key(key));
        let outcome = self.write_voiding(key, command).await;
        let removed: u64 = self.keep_key(key, outcome)?;
        Ok(removed > 0)
    }

    /// Sends `command`, a write of `key`, right after removing the key's fill lease, in
    /// one round trip (in this order on one connection: a load that stores in between
    /// finds its lease gone).
    async fn write_voiding<T: FromRedisValue>(
        &self,
        key: &str,
        command: Cmd,
    ) -> Result<T, CacheError> {
        let Some(lease_key) = self.lease_key(key) else {
            return self.write(key, self.query(&command)).await;
        };
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("UNLINK")
            .arg(lease_key)
            .ignore()
            .add_command(command);
        let written = self.run_admitted(|mut connection| {
            let pipeline = &pipeline;
            async move { pipeline.query_async::<(T,)>(&mut connection).await }
        });
        self.write(key, written).await.map(|(value,)| value)
    }

    /// Asks Redis, not the L1: `EXISTS` costs what a `GET` of the L1's copy would save.
    pub(super) async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let found: u64 = self.query(redis::cmd("EXISTS").arg(self.key(key))).await?;
        Ok(found > 0)
    }

    /// `INCRBY`, and the TTL for a counter it creates, in one script.
    pub(super) async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        let mut command = redis::cmd("EVAL");
        command
            .arg(INCR_WITH_TTL)
            .arg(1)
            .arg(self.key(key))
            .arg(by)
            .arg(millis(ttl));
        match self.write(key, self.query(&command)).await {
            // "ERR value is not an integer or out of range", "... would overflow"
            Err(CacheError::Backend(message))
                if message.contains("not an integer") || message.contains("overflow") =>
            {
                Err(CacheError::NotACounter)
            }
            outcome => outcome,
        }
    }

    /// `SET key value NX PX ms`: `true` if it stored.
    pub(super) async fn add(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.key(key))
            .arg(&*self.compression.encode(json))
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl));
        let answer: redis::Value = self.write_voiding(key, command).await?;
        Ok(!matches!(answer, redis::Value::Nil))
    }

    /// `GETDEL`: a value that does not decode is gone already, and reads as absent.
    pub(super) async fn take(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let mut command = redis::cmd("GETDEL");
        command.arg(self.key(key));
        let stored: Option<Vec<u8>> = self.write_voiding(key, command).await?;
        match stored.map(compression::decode) {
            None => Ok(None),
            Some(Ok(json)) => Ok(Some(Arc::from(json))),
            Some(Err(Corrupt(_))) => {
                tracing::warn!(
                    key,
                    "a taken value is neither UTF-8 text nor intact compressed text; it is removed and counts as a miss"
                );
                Ok(None)
            }
        }
    }

    pub(super) async fn remove_if_unchanged(
        &self,
        key: &str,
        json: &Arc<str>,
    ) -> Result<(), CacheError> {
        self.unlink_json_if_unchanged(key, json).await
    }

    /// Removes `key` if it still holds `json`, stored plain or compressed (the form
    /// Redis holds when `json` was read from a compressed value; compressing is
    /// deterministic, so it is the same bytes).
    async fn unlink_json_if_unchanged(&self, key: &str, json: &str) -> Result<(), CacheError> {
        self.unlink_if_unchanged(key, json.as_bytes()).await?;
        let compressed = self.compression.encode(json);
        if *compressed != *json.as_bytes() {
            self.unlink_if_unchanged(key, &compressed).await?;
        }
        Ok(())
    }

    pub(super) async fn delete_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        self.flush_l1();
        let outcome = self.unlink_matching_with_leases(pattern).await;
        self.flush_l1();
        self.keep_pattern(pattern, outcome)
    }

    /// Unlinks the fill leases of the keys matching `pattern`, then the keys.
    async fn unlink_matching_with_leases(&self, pattern: &str) -> Result<u64, CacheError> {
        for leases in self.lease_patterns(pattern) {
            self.unlink_matching(&leases).await?;
        }
        self.unlink_matching(&scan_pattern(&self.key_prefix, pattern))
            .await
    }

    /// Removes this version's values, fill leases and tag sets; returns how many values
    /// went.
    pub(super) async fn clear(&self) -> Result<u64, CacheError> {
        self.flush_l1();
        let outcome = async {
            let removed = self.unlink_matching_with_leases("*").await?;
            self.unlink_matching(&scan_pattern(&self.tag_prefix, "*"))
                .await?;
            Ok(removed)
        }
        .await;
        self.flush_l1();
        self.keep_clear(outcome)
    }

    /// Removes every key under `CACHE_PREFIX`, whatever version (or layout) wrote it;
    /// returns how many keys went, tag sets included.
    pub(super) async fn clear_all_versions(&self) -> Result<u64, CacheError> {
        self.flush_l1();
        let removed = self
            .unlink_matching(&scan_pattern(&self.service_prefix, "*"))
            .await;
        self.flush_l1();
        removed
    }

    /// Records that `key`, just written for `ttl`, carries `tags`: one script per tag,
    /// each on the tag's own key (tags and entries may live on different cluster nodes).
    /// Written after the value, so an invalidation that runs in between finds the entry
    /// on its next run rather than never.
    pub(super) async fn tag(
        &self,
        key: &str,
        tags: &[String],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let member = self.key(key);
        for tag in tags {
            let mut command = redis::cmd("EVAL");
            command
                .arg(TAG_ADD)
                .arg(1)
                .arg(self.tag_key(tag))
                .arg(&member)
                .arg(millis(ttl));
            self.query::<u64>(&command).await?;
        }
        Ok(())
    }

    /// Takes the tag's set and unlinks its members in batches; returns how many values
    /// went. The L1 copies of the members are dropped before and after, as for a delete.
    pub(super) async fn invalidate_tag(&self, tag: &str) -> Result<u64, CacheError> {
        let outcome = self.take_tag(tag).await;
        self.keep_tag(tag, outcome)
    }

    async fn take_tag(&self, tag: &str) -> Result<u64, CacheError> {
        let mut take = redis::cmd("EVAL");
        take.arg(TAG_TAKE).arg(1).arg(self.tag_key(tag));
        let members: Vec<Vec<u8>> = self.query(&take).await?;
        let mut removed = 0;
        for batch in members.chunks(SCAN_BATCH) {
            // The members' leases first: a load storing in between finds its lease gone.
            let leases: Vec<String> = batch
                .iter()
                .filter_map(|member| member.strip_prefix(self.key_prefix.as_bytes()))
                .filter_map(|key| std::str::from_utf8(key).ok())
                .filter_map(|key| self.lease_key(key))
                .collect();
            if !leases.is_empty() {
                self.query::<u64>(redis::cmd("UNLINK").arg(&leases)).await?;
            }
            self.invalidate_l1_copies(batch);
            let unlinked = self.query::<u64>(redis::cmd("UNLINK").arg(batch)).await;
            self.invalidate_l1_copies(batch);
            removed += unlinked?;
        }
        Ok(removed)
    }

    /// Drops the L1 copies of these full keys.
    fn invalidate_l1_copies(&self, keys: &[Vec<u8>]) {
        if let Some(l1) = &self.l1 {
            for key in keys {
                if let Some(key) = key.strip_prefix(self.key_prefix.as_bytes()) {
                    l1.invalidate(key);
                }
            }
        }
    }

    /// Unlinks every key matching the `SCAN MATCH` pattern `pattern`, on every primary.
    async fn unlink_matching(&self, pattern: &str) -> Result<u64, CacheError> {
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
                    .arg(pattern)
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

    /// Asks Redis even while failing fast: readiness probes should see recovery at once.
    /// Delivers pending invalidations too, once Redis answers.
    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        self.send::<String>(&redis::cmd("PING")).await?;
        self.deliver_pending().await
    }

    async fn unlink_if_unchanged(&self, key: &str, stored: &[u8]) -> Result<(), CacheError> {
        let mut command = redis::cmd("EVAL");
        command
            .arg(UNLINK_IF_UNCHANGED)
            .arg(1)
            .arg(self.key(key))
            .arg(stored);
        self.write(key, self.query::<u64>(&command)).await.map(drop)
    }

    /// `GET` of `key`, as bytes: another client may have written something that is not
    /// even text under our key, and that must read as a miss, not as an error.
    async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.query(redis::cmd("GET").arg(self.key(key))).await
    }

    /// `stored` as text, decompressed if it is marked compressed; bytes that are not
    /// UTF-8 text in the end are a miss, logged and removed.
    async fn text(&self, key: &str, stored: Option<Vec<u8>>) -> Result<Option<String>, CacheError> {
        let Some(stored) = stored else {
            return Ok(None);
        };
        match compression::decode(stored) {
            Ok(text) => Ok(Some(text)),
            Err(Corrupt(stored)) => {
                tracing::warn!(
                    key,
                    "a cached value is neither UTF-8 text nor intact compressed text; treating it as a miss and removing it"
                );
                self.unlink_if_unchanged(key, &stored).await?;
                Ok(None)
            }
        }
    }

    /// `GET` and `PTTL` of `key` in one round trip: the value, and how long an L1 copy
    /// of it may live (`None`: no expiry in Redis).
    async fn fetch_with_ttl(
        &self,
        key: &str,
    ) -> Result<(Option<Vec<u8>>, Option<Duration>), CacheError> {
        let key = self.key(key);
        let mut pipeline = redis::pipe();
        pipeline.cmd("GET").arg(&key).cmd("PTTL").arg(&key);
        let (stored, pttl): (Option<Vec<u8>>, i64) = self
            .run_admitted(|mut connection| {
                let pipeline = &pipeline;
                async move { pipeline.query_async(&mut connection).await }
            })
            .await?;
        // -1: no expiry; -2: gone since the GET (a zero TTL: no copy is kept).
        let redis_ttl = match pttl {
            -1 => None,
            millis => Some(Duration::from_millis(u64::try_from(millis).unwrap_or(0))),
        };
        Ok((stored, redis_ttl))
    }

    /// Runs `write` of `key`, dropping the key's L1 copy before it is sent (so no read
    /// that starts later stores the old value) and after Redis answered (so none that was
    /// already in flight does).
    async fn write<T>(
        &self,
        key: &str,
        write: impl Future<Output = Result<T, CacheError>>,
    ) -> Result<T, CacheError> {
        if let Some(l1) = &self.l1 {
            l1.invalidate(key.as_bytes());
        }
        let outcome = write.await;
        if let Some(l1) = &self.l1 {
            l1.invalidate(key.as_bytes());
        }
        outcome
    }

    /// The L1's copy of `key` and the time it had left in Redis, counted as an L1 hit.
    fn l1_copy(&self, key: &str) -> Option<(Arc<str>, Option<Duration>)> {
        let copy = self.l1.as_ref()?.get(key)?;
        self.l1_hits.fetch_add(1, Ordering::Relaxed);
        Some(copy)
    }

    /// Drops the L1 copies of `keys`.
    fn drop_l1_copies<'a>(&self, keys: impl Iterator<Item = &'a str>) {
        if let Some(l1) = &self.l1 {
            for key in keys {
                l1.invalidate(key.as_bytes());
            }
        }
    }

    /// Drops every L1 copy: this service is removing many of its keys.
    fn flush_l1(&self) {
        if let Some(l1) = &self.l1 {
            l1.flush();
        }
    }

    /// Starts keeping the L1 coherent, once.
    fn start_tracking(&self, l1: &Arc<L1>) {
        let Ok(connector) = &self.connector else {
            return;
        };
        self.tracking.call_once(|| {
            tracking::start(
                Arc::clone(connector),
                l1,
                self.key_prefix.clone(),
                self.timeout,
            );
        });
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.key_prefix.len() + key.len());
        full.push_str(&self.key_prefix);
        full.push_str(key);
        full
    }

    fn tag_key(&self, tag: &str) -> String {
        format!("{}{tag}", self.tag_prefix)
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
    async fn run_admitted<T, F>(
        &self,
        operation: impl Fn(LiveConnection) -> F,
    ) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        if !Self::delivering() {
            self.breaker.admit().map_err(CacheError::Backoff)?;
            if self.pending.len() > 0 {
                self.deliver_pending().await?;
            }
        }
        self.run(operation).await
    }

    /// Runs `operation` on the connection (connecting first if needed) within the
    /// timeout, and tells the breaker and the connector how it went.
    /// `operation` gets its own handle on the connection (a cheap clone), so it can be
    /// run a second time.
    async fn run<T, F>(&self, operation: impl Fn(LiveConnection) -> F) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let connector = self
            .connector
            .as_ref()
            .map_err(|reason| CacheError::Unavailable(reason.clone()))?;
        let attempt = async {
            let connection = connector.connection().await?;
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
                connector.failed(&error);
                match connector.explain(&error, |text| scrub(text, &self.secrets)) {
                    Some(explained) => Err(self.unreachable(explained)),
                    None if answered(&error) => {
                        self.reachable();
                        Err(CacheError::Backend(self.scrub(&error)))
                    }
                    None => Err(self.unreachable(CacheError::Unavailable(self.scrub(&error)))),
                }
            }
            Err(_elapsed) => {
                connector.timed_out();
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

/// `ttl` in whole milliseconds, as `PX` and `PEXPIRE` take it.
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)
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
