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
//! does not answer within the timeout, a cluster whose primaries changed, or (Sentinel)
//! sentinels that name another primary than the one tracked or the one the data
//! connection reads from (or that no sentinel answers: this instance may be the side of
//! a split that lost them), empties the L1 and turns it off; a new session (new
//! connections, on the primary named now, tracking on again) turns it back on. A
//! background thread does this, checking every [`HEARTBEAT`]; it ends when the store is
//! dropped. A change is therefore noticed within a heartbeat: until then the L1 may
//! still serve what it held.
//!
//! The checks need no command an ordinary ACL user lacks: the role comes from `HELLO`,
//! which every RESP3 connection runs to open, not from `ROLE` or `INFO`, which
//! `-@dangerous` removes. A user who may not run what tracking needs (`CLIENT TRACKING`)
//! gets one warning naming the permission to add; the L1 then stays off, and the
//! tracker tries again once a [`DENIED_RETRY`], not in a loop.
//!
//! The `redis` crate carries the messages; what it does not do (a reconnecting tracking
//! session over several nodes, with a liveness check) is written here.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, ErrorKind, FromRedisValue, PushInfo, PushKind, RedisError, RedisResult,
    Value,
};
use tokio::sync::Notify;

use super::breaker::RETRY_AFTER;
use super::connection::Connector;
use super::l1::L1;

/// How often the tracking connections are checked for life and role, and (Sentinel)
/// the sentinels asked which primary they name.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long the tracker waits before trying again after Redis refused the user a command
/// tracking needs: the permission may be granted while the service runs, but until then
/// each try costs a connection.
const DENIED_RETRY: Duration = Duration::from_secs(60);

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
    // The thread logs where its starter logs: the global subscriber in a service, the
    // scoped one of a test or a command.
    let logs = tracing::dispatcher::get_default(Clone::clone);
    let started = std::thread::Builder::new()
        .name("redis-tracking".to_owned())
        .spawn(move || {
            let _logs = tracing::dispatcher::set_default(&logs);
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

/// Redis' code for a command the ACL user may not run.
const NOPERM: &str = "NOPERM";

/// One tracking session: a connection per primary, all with tracking on.
struct Session {
    /// The connections, by primary address.
    connections: Vec<(String, MultiplexedConnection)>,
    /// Fired by any connection that drops.
    lost: Arc<Notify>,
}

impl Tracker {
    async fn run(self) {
        // Whether the user was told of a refused permission: once is enough.
        let mut warned = false;
        loop {
            let outcome = match tokio::time::timeout(self.timeout, self.open()).await {
                Ok(Ok(session)) => {
                    let Some(l1) = self.l1.upgrade() else { return };
                    l1.tracking_started();
                    drop(l1);
                    tracing::debug!("Redis invalidations flow; the persistent L1 is on");
                    let ended = self.watch(&session).await;
                    let Some(l1) = self.l1.upgrade() else { return };
                    l1.tracking_lost();
                    tracing::info!(
                        "Redis invalidations may have been missed; the persistent L1 is emptied and off until they flow again"
                    );
                    ended
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, "cannot turn Redis tracking on yet; the persistent L1 stays off");
                    Err(error)
                }
                Err(_elapsed) => {
                    tracing::debug!(
                        "Redis tracking did not start within the timeout; the persistent L1 stays off"
                    );
                    Ok(())
                }
            };
            let pause = match outcome {
                Err(error) if error.code() == Some(NOPERM) => {
                    if !warned {
                        self.warn_denied(&error);
                        warned = true;
                    }
                    DENIED_RETRY
                }
                _ => RETRY_AFTER,
            };
            if !self.pause(pause).await {
                return;
            }
        }
    }

    /// Says, once, which permission the ACL user lacks and how to grant it.
    fn warn_denied(&self, error: &RedisError) {
        let user = self.connector.user();
        // "this user has no permissions to run the 'client|tracking' command"
        let command = error
            .detail()
            .and_then(|detail| detail.split('\'').nth(1))
            .unwrap_or("client|tracking");
        tracing::warn!(
            %error,
            "the Redis user {user:?} may not run `{command}`, which keeps the persistent L1 coherent; the L1 stays off (retried every {} s). Allow it with `ACL SETUSER {user} +{command}`, or add `+{command}` to the user's line in the ACL file",
            DENIED_RETRY.as_secs()
        );
    }

    /// Waits `pause`, in heartbeats; `false` once the L1 is gone.
    async fn pause(&self, pause: Duration) -> bool {
        let mut waited = Duration::ZERO;
        while waited < pause {
            if self.l1.strong_count() == 0 {
                return false;
            }
            let step = HEARTBEAT.min(pause - waited);
            tokio::time::sleep(step).await;
            waited += step;
        }
        self.l1.strong_count() > 0
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
        // With Sentinel, reads must come from the primary tracked here: a data connection
        // still on another node is dropped, and the next command asks the sentinels.
        let tracked: Vec<String> = connections
            .iter()
            .map(|(address, _)| address.clone())
            .collect();
        self.connector.data_follows(&tracked);
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

    /// Returns when the session can no longer be trusted (with the error of the check
    /// that failed, if one did), or the L1 is gone.
    async fn watch(&self, session: &Session) -> RedisResult<()> {
        loop {
            tokio::select! {
                () = session.lost.notified() => return Ok(()),
                () = tokio::time::sleep(HEARTBEAT) => {}
            }
            if self.l1.strong_count() == 0 {
                return Ok(());
            }
            match tokio::time::timeout(self.timeout, self.still_valid(session)).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => {
                    tracing::info!("the Redis primaries changed; tracking them anew");
                    return Ok(());
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, "a Redis tracking connection failed its check");
                    return Err(error);
                }
                Err(_elapsed) => {
                    tracing::debug!(
                        "a Redis tracking connection did not answer within the timeout"
                    );
                    return Ok(());
                }
            }
        }
    }

    /// Whether every tracked node still answers as a primary, they are still all the
    /// primaries there are (with Sentinel: the one the sentinels name now), and the data
    /// connection reads from them.
    async fn still_valid(&self, session: &Session) -> RedisResult<bool> {
        for (_, connection) in &session.connections {
            if role(&mut connection.clone()).await? != "master" {
                return Ok(false);
            }
        }
        let Some(mut now) = self.connector.primary_addresses().await? else {
            return Ok(true);
        };
        if !self.connector.data_follows(&now) {
            return Ok(false);
        }
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

/// The role the server behind `connection` reports: `master` or `replica` (`slave`
/// from `ROLE`).
///
/// From `HELLO 3` (the protocol the connection already speaks, so nothing changes)
/// rather than `ROLE`: `HELLO` opened this connection, so any user who got this far may
/// run it, while `ROLE` and `INFO` belong to `@dangerous`, which ACLs commonly remove
/// (`+@all -@dangerous`). `ROLE` only for a server whose `HELLO` leaves the role out.
async fn role(connection: &mut MultiplexedConnection) -> RedisResult<String> {
    let mut hello: HashMap<String, Value> =
        redis::cmd("HELLO").arg(3).query_async(connection).await?;
    if let Some(role) = hello.remove("role") {
        return Ok(String::from_redis_value(role)?);
    }
    let role: Vec<Value> = redis::cmd("ROLE").query_async(connection).await?;
    match role.into_iter().next() {
        Some(role) => Ok(String::from_redis_value(role)?),
        None => Err(RedisError::from((
            ErrorKind::UnexpectedReturnType,
            "neither HELLO nor ROLE reported the server's role",
        ))),
    }
}
