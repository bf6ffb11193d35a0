//! Keeps the [`L1`] coherent with Redis, through Redis' server-assisted client-side
//! caching: a connection of its own to every primary (one server, the primary Sentinel
//! names, or each cluster primary), in RESP3, with
//! `CLIENT TRACKING ON BCAST PREFIX {CACHE_PREFIX}:v{CACHE_VERSION}:`.
//!
//! Broadcast mode, rather than Redis remembering which keys each connection read: Redis
//! then reports every change under this service's prefix (a write, a delete, an expiry,
//! an eviction, a flush) by anyone, and the reports do not depend on which connection
//! the reads took, so the data connections stay as they are (the crate's own
//! reconnecting clients) and a reconnect there loses nothing.
//!
//! The L1 answers only while every tracking connection is known to be up and talking to
//! a primary. A connection that drops, a primary that becomes a replica, a primary that
//! does not answer within the timeout, or a cluster whose primaries changed, empties the
//! L1 and turns it off; a new session (new connections, tracking on again) turns it back
//! on. A background thread does this, checking every [`HEARTBEAT`]; it ends when the
//! store is dropped.
//!
//! The `redis` crate carries the messages; what it does not do (a reconnecting tracking
//! session over several nodes, with a liveness check) is written here.

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, FromRedisValue, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::Notify;

use super::breaker::RETRY_AFTER;
use super::connection::Connector;
use super::l1::L1;

/// How often the tracking connections are checked for life and role.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Starts the thread that keeps `l1` coherent with the Redis behind `connector`, for keys
/// that start with `key_prefix` (`{CACHE_PREFIX}:v{CACHE_VERSION}:`). If it cannot start, the L1
/// stays off.
///
/// A thread with its own runtime rather than a task: invalidations are then applied the
/// moment they arrive, however busy the request workers are, and the tracker does not
/// depend on the runtime of whichever caller read first (which may end before the
/// process does: a test's, or a command's).
pub(super) fn start(
    connector: Arc<Connector>,
    l1: &Arc<L1>,
    key_prefix: String,
    timeout: Duration,
) {
    let tracker = Tracker {
        connector,
        l1: Arc::downgrade(l1),
        key_prefix: Arc::from(key_prefix),
        timeout,
    };
    let started = std::thread::Builder::new()
        .name("redis-tracking".to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(tracker.run()),
                Err(error) => tracing::warn!(%error, "{NOT_STARTED}"),
            }
        });
    if let Err(error) = started {
        tracing::warn!(%error, "{NOT_STARTED}");
    }
}

/// Why the L1 may stay off for the life of the process.
const NOT_STARTED: &str = "cannot start keeping the persistent L1 coherent; it stays off";

/// What the background thread needs.
struct Tracker {
    /// How to reach Redis, and which nodes are its primaries.
    connector: Arc<Connector>,
    /// The L1 to keep; the thread ends once it is gone.
    l1: Weak<L1>,
    /// Only keys under this are tracked, and it is stripped before the L1 sees them.
    key_prefix: Arc<str>,
    /// Bound of connecting and of each check.
    timeout: Duration,
}

/// One tracking session: a connection per primary, all with tracking on.
struct Session {
    /// The connections, by primary address.
    connections: Vec<(String, MultiplexedConnection)>,
    /// Fired by any connection that drops.
    lost: Arc<Notify>,
}

impl Tracker {
    async fn run(self) {
        loop {
            match tokio::time::timeout(self.timeout, self.open()).await {
                Ok(Ok(session)) => {
                    let Some(l1) = self.l1.upgrade() else { return };
                    l1.tracking_started();
                    drop(l1);
                    tracing::debug!("Redis invalidations flow; the persistent L1 is on");
                    self.watch(&session).await;
                    let Some(l1) = self.l1.upgrade() else { return };
                    l1.tracking_lost();
                    tracing::info!(
                        "Redis invalidations may have been missed; the persistent L1 is emptied and off until they flow again"
                    );
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, "cannot turn Redis tracking on yet; the persistent L1 stays off");
                }
                Err(_elapsed) => {
                    tracing::debug!(
                        "Redis tracking did not start within the timeout; the persistent L1 stays off"
                    );
                }
            }
            if self.l1.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }

    /// Connects to every primary and turns tracking on there.
    async fn open(&self) -> RedisResult<Session> {
        let lost = Arc::new(Notify::new());
        let mut connections = Vec::new();
        for (address, client) in self.connector.primaries().await? {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_push_sender(self.on_push(Arc::clone(&lost)));
            let mut connection = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            redis::cmd("CLIENT")
                .arg("TRACKING")
                .arg("ON")
                .arg("BCAST")
                .arg("PREFIX")
                .arg(&*self.key_prefix)
                .query_async::<()>(&mut connection)
                .await?;
            connections.push((address, connection));
        }
        Ok(Session { connections, lost })
    }

    /// What a tracking connection does with each message Redis (or the crate) pushes.
    /// Runs on the connection's own task, so it must not wait.
    fn on_push(
        &self,
        lost: Arc<Notify>,
    ) -> impl Fn(PushInfo) -> Result<(), ()> + Send + Sync + use<> {
        let l1 = self.l1.clone();
        let key_prefix = Arc::clone(&self.key_prefix);
        move |push: PushInfo| {
            let Some(l1) = l1.upgrade() else {
                return Err(());
            };
            match push.kind {
                PushKind::Invalidate => match push.data.first() {
                    Some(Value::Array(keys)) => {
                        for key in keys {
                            if let Value::BulkString(key) = key
                                && let Some(key) = key.strip_prefix(key_prefix.as_bytes())
                            {
                                l1.invalidate(key);
                            }
                        }
                    }
                    // No keys: the database was flushed.
                    _ => l1.flush(),
                },
                PushKind::Disconnection => {
                    l1.tracking_lost();
                    lost.notify_one();
                }
                _ => {}
            }
            Ok(())
        }
    }

    /// Returns when the session can no longer be trusted, or the L1 is gone.
    async fn watch(&self, session: &Session) {
        loop {
            tokio::select! {
                () = session.lost.notified() => return,
                () = tokio::time::sleep(HEARTBEAT) => {}
            }
            if self.l1.strong_count() == 0 {
                return;
            }
            match tokio::time::timeout(self.timeout, self.still_valid(session)).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => {
                    tracing::info!("the Redis primaries changed; tracking them anew");
                    return;
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, "a Redis tracking connection failed its check");
                    return;
                }
                Err(_elapsed) => {
                    tracing::debug!(
                        "a Redis tracking connection did not answer within the timeout"
                    );
                    return;
                }
            }
        }
    }

    /// Whether every tracked node still answers as a primary, and they are still all
    /// the primaries there are.
    async fn still_valid(&self, session: &Session) -> RedisResult<bool> {
        for (_, connection) in &session.connections {
            let mut connection = connection.clone();
            let role: Vec<Value> = redis::cmd("ROLE").query_async(&mut connection).await?;
            let role = role.into_iter().next().map(String::from_redis_value);
            if !matches!(role, Some(Ok(role)) if role == "master") {
                return Ok(false);
            }
        }
        let Some(mut now) = self.connector.primary_addresses().await? else {
            return Ok(true);
        };
        let mut tracked: Vec<&str> = session
            .connections
            .iter()
            .map(|(address, _)| address.as_str())
            .collect();
        now.sort_unstable();
        tracked.sort_unstable();
        Ok(now == tracked)
    }
}
