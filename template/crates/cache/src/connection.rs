//! How the Redis store reaches Redis: one server, a Redis Cluster, or the primary that
//! Sentinel names (`CACHE_REDIS_*` chooses). Each is the `redis` crate's own client, so
//! reconnecting, slot maps, redirections and primary discovery are the crate's work;
//! this file only builds the client ([`ConfiguredTarget`]), connects on first use
//! ([`Connector`], which holds the [`LiveConnection`]), and tells the store where
//! `SCAN` must run (on a cluster: on every primary), and the L1's tracker which primaries
//! to follow.
//!
//! - One server: a `ConnectionManager`, created lazily; it reconnects by itself.
//! - Cluster: the crate's async `ClusterConnection`, which follows `MOVED` and
//!   refreshes its slot map when a primary fails over.
//! - Sentinel: the sentinels are asked for the primary, which is then used like one
//!   server. A connection failure or a `READONLY` answer (the old primary came back as a
//!   replica) forgets it, so the next command asks the sentinels again. The crate has no
//!   connection that follows a failover on its own, which is why this part is written
//!   here. The L1's tracker also asks the sentinels, every heartbeat, which primary they
//!   name ([`Connector::primary_addresses`]); a connection on any other node is then
//!   forgotten too ([`Connector::data_follows`]), so reads and invalidations come from
//!   the same primary.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, ClientTlsConfig, Cmd, ConnectionAddr, ConnectionInfo, ErrorKind,
    FromRedisValue, ProtocolVersion, RedisError, RedisFuture, RedisResult, TlsCertificates,
    TlsMode, Value,
};

use super::CacheError;
use super::breaker::RETRY_AFTER;
use crate::settings::{RedisMode, RedisSettings};

/// Reaches the [`ConfiguredTarget`]: connects on first use, shares the
/// [`LiveConnection`] with every command, and (Sentinel) drops it when the primary moved.
pub(super) struct Connector {
    /// What to connect to.
    target: ConfiguredTarget,
    /// The connection in use, and (Sentinel) the `host:port` of the primary it was made
    /// to, which it keeps for its life: the manager reconnects to that address only.
    /// `None` until the first command, and again after a Sentinel primary was found gone.
    current: RwLock<Option<(LiveConnection, Option<String>)>>,
    /// Lets one command connect while the others wait for its connection.
    connecting: tokio::sync::Mutex<()>,
    /// Bound of connecting and of each command.
    timeout: Duration,
    /// Where Redis was looked for, for messages: `host:port`, or the node list.
    address: String,
    /// The ACL user commands run as, for messages; `None` is Redis' `default` user.
    user: Option<String>,
}

/// What the settings point at, as the `redis` crate's client for it; nothing is
/// connected yet.
enum ConfiguredTarget {
    /// One server.
    Single(redis::Client),
    /// A Redis Cluster, and how to reach one of its nodes on its own (the first node's
    /// settings, for the L1's tracking connections).
    Cluster(ClusterClient, Box<ConnectionInfo>),
    /// The sentinels: the crate's client, which finds the primary for the data
    /// connection (`&mut` access is its API, hence the lock), and direct links that the
    /// L1's tracker asks which primary they name.
    Sentinel(tokio::sync::Mutex<SentinelClient>, Box<Sentinels>),
}

/// The sentinels, asked directly which primary they name: the crate's client only hands
/// out a connection to it, and opens a new connection to the primary each time to check
/// its role, too much once a second.
struct Sentinels {
    /// One client per sentinel, in the configured order.
    clients: Vec<redis::Client>,
    /// The name the sentinels know the primary by.
    master: String,
    /// The sentinel that answered last and the connection to it, asked first next time.
    answered: tokio::sync::Mutex<Option<(usize, MultiplexedConnection)>>,
    /// Bound of connecting to a sentinel and of its answer.
    timeout: Duration,
}

/// A connection made from the [`ConfiguredTarget`]. Cloning is cheap: each variant is a handle on one multiplexed
/// connection (per node, on a cluster) that every task shares.
#[derive(Clone)]
pub(super) enum LiveConnection {
    /// One server, or the primary Sentinel named.
    Single(ConnectionManager),
    /// Every node of a cluster.
    Cluster(ClusterConnection),
}

/// Where one `SCAN` runs: the only server, or one cluster primary.
pub(super) enum ScanNode {
    /// The server the connection talks to.
    Any,
    /// The cluster primary at this address.
    Primary(String, u16),
}

impl Connector {
    /// Builds the client for `settings`' mode without connecting.
    ///
    /// # Errors
    /// A message (without secrets, which the caller scrubs) when the settings cannot make
    /// a client; start-up checks make that rare.
    pub(super) fn new(settings: &RedisSettings, mode: &RedisMode) -> RedisResult<Self> {
        let timeout = settings.timeout;
        let certificates = certificates(settings);
        let (target, address, user) = match mode {
            RedisMode::Single(url) => {
                let client = match certificates {
                    Some(certificates) => {
                        redis::Client::build_with_tls(url.expose(), certificates)?
                    }
                    None => redis::Client::open(url.expose())?,
                };
                let info = client.get_connection_info();
                let address = info.addr().to_string();
                let user = info.redis_settings().username().map(str::to_owned);
                (ConfiguredTarget::Single(client), address, user)
            }
            RedisMode::Cluster(urls) => {
                let first = urls.first().map(|url| url.expose()).unwrap_or_default();
                let node = match certificates.clone() {
                    Some(certificates) => redis::Client::build_with_tls(first, certificates)?,
                    None => redis::Client::open(first)?,
                };
                let mut builder = ClusterClientBuilder::new(urls.iter().map(|url| url.expose()))
                    .connection_timeout(timeout)
                    .response_timeout(timeout);
                if settings.tls {
                    builder = builder.tls(tls_mode(settings));
                }
                if let Some(certificates) = certificates {
                    builder = builder.certs(certificates);
                }
                let nodes: Vec<String> = settings
                    .cluster_nodes
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let info = node.get_connection_info().clone();
                let user = info.redis_settings().username().map(str::to_owned);
                (
                    ConfiguredTarget::Cluster(builder.build()?, Box::new(info)),
                    format!("the cluster nodes {}", nodes.join(",")),
                    user,
                )
            }
            RedisMode::Sentinel { nodes, master } => {
                let sentinels = nodes
                    .iter()
                    .map(|node| ConnectionAddr::Tcp(node.host.clone(), node.port));
                let mut builder =
                    SentinelClientBuilder::new(sentinels, master, SentinelServerType::Master)?
                        .set_client_to_redis_db(i64::try_from(settings.db).unwrap_or(0));
                if let Some(username) = &settings.username {
                    builder = builder.set_client_to_redis_username(username);
                }
                if let Some(password) = &settings.password {
                    builder = builder.set_client_to_redis_password(password.expose());
                }
                if settings.tls {
                    // Sentinels of a TLS deployment speak TLS too.
                    builder = builder
                        .set_client_to_redis_tls_mode(tls_mode(settings))
                        .set_client_to_sentinel_tls_mode(tls_mode(settings));
                }
                if let Some(certificates) = certificates.clone() {
                    builder = builder
                        .set_client_to_redis_certificates(certificates.clone())
                        .set_client_to_sentinel_certificates(certificates);
                }
                // Reached as the crate's client reaches them: TLS and certificates as
                // configured, no credentials.
                let clients = nodes
                    .iter()
                    .map(|node| {
                        let addr = if settings.tls {
                            ConnectionAddr::TcpTls {
                                host: node.host.clone(),
                                port: node.port,
                                insecure: settings.tls_insecure,
                                tls_params: None,
                            }
                        } else {
                            ConnectionAddr::Tcp(node.host.clone(), node.port)
                        };
                        match certificates.clone() {
                            Some(certificates) => redis::Client::build_with_tls(addr, certificates),
                            None => redis::Client::open(addr),
                        }
                    })
                    .collect::<RedisResult<Vec<_>>>()?;
                let sentinels = Sentinels {
                    clients,
                    master: master.clone(),
                    answered: tokio::sync::Mutex::new(None),
                    timeout,
                };
                let list: Vec<String> = nodes.iter().map(ToString::to_string).collect();
                (
                    ConfiguredTarget::Sentinel(
                        tokio::sync::Mutex::new(builder.build()?),
                        Box::new(sentinels),
                    ),
                    format!(
                        "the primary named {master:?} by the sentinels {}",
                        list.join(",")
                    ),
                    settings.username.clone(),
                )
            }
        };
        Ok(Self {
            target,
            current: RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
            timeout,
            address,
            user,
        })
    }

    /// The ACL user commands run as, for messages.
    pub(super) fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("default")
    }

    /// What `error` means for someone running the service, when it is one of the
    /// failures people mistake for each other: refused, TLS, wrong or missing
    /// credentials. `scrub` removes secrets from the crate's words.
    pub(super) fn explain(
        &self,
        error: &RedisError,
        scrub: impl Fn(&str) -> String,
    ) -> Option<CacheError> {
        let text = error.to_string();
        if error.is_connection_refusal() {
            return Some(CacheError::Refused(self.address.clone()));
        }
        match error.code() {
            Some("WRONGPASS") => return Some(CacheError::AuthenticationFailed),
            Some("NOAUTH") => return Some(CacheError::AuthenticationRequired),
            _ => {}
        }
        if error.kind() == redis::ErrorKind::AuthenticationFailed
            || text.contains("called without any password configured")
        {
            return Some(CacheError::AuthenticationFailed);
        }
        (error.is_io_error() && is_tls_failure(&text)).then(|| CacheError::Tls(scrub(&text)))
    }

    /// The connection, made now if there is none yet. The caller bounds the wait.
    ///
    /// # Errors
    /// When Redis (or, with Sentinel, every sentinel) cannot be reached.
    pub(super) async fn connection(&self) -> RedisResult<LiveConnection> {
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let _only_one = self.connecting.lock().await;
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let (connection, node) = match &self.target {
            ConfiguredTarget::Single(client) => (
                LiveConnection::Single(self.manager(client.clone()).await?),
                None,
            ),
            // Boxed: these futures are deep types, and every cache operation's future
            // would otherwise contain them.
            ConfiguredTarget::Cluster(client, _) => (
                LiveConnection::Cluster(Box::pin(client.get_async_connection()).await?),
                None,
            ),
            ConfiguredTarget::Sentinel(sentinels, _) => {
                let mut sentinels = sentinels.lock().await;
                let primary = Box::pin(sentinels.async_get_client()).await?;
                let node = primary.get_connection_info().addr().to_string();
                (
                    LiveConnection::Single(self.manager(primary).await?),
                    Some(node),
                )
            }
        };
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Some((connection.clone(), node));
        Ok(connection)
    }

    /// Tells the connector a command failed with `error`. With Sentinel, a failure to reach
    /// the primary or a `READONLY` answer means it may have moved: the next command asks
    /// the sentinels again.
    pub(super) fn failed(&self, error: &RedisError) {
        let moved = error.is_unrecoverable_error()
            || error.is_io_error()
            || error.is_connection_refusal()
            || error.code() == Some("READONLY");
        if moved && matches!(self.target, ConfiguredTarget::Sentinel(..)) {
            self.forget();
        }
    }

    /// Drops the connection in use (Sentinel: after a timeout too, since a primary that
    /// vanished may not even refuse connections).
    pub(super) fn timed_out(&self) {
        if matches!(self.target, ConfiguredTarget::Sentinel(..)) {
            self.forget();
        }
    }

    /// Every primary as `host:port` and a RESP3 client for it alone, with this
    /// configuration's credentials and TLS: the server, the one Sentinel names now, or
    /// each live cluster primary.
    ///
    /// # Errors
    /// When Redis, the sentinels or the cluster cannot say.
    pub(super) async fn primaries(&self) -> RedisResult<Vec<(String, redis::Client)>> {
        let nodes = match &self.target {
            ConfiguredTarget::Single(client) => vec![client.get_connection_info().clone()],
            ConfiguredTarget::Sentinel(sentinels, _) => {
                let primary = Box::pin(sentinels.lock().await.async_get_client()).await?;
                vec![primary.get_connection_info().clone()]
            }
            ConfiguredTarget::Cluster(_, node) => {
                let mut connection = self.connection().await?;
                connection
                    .scan_nodes()
                    .await?
                    .into_iter()
                    .filter_map(|primary| match primary {
                        ScanNode::Primary(host, port) => Some(at_address(node, host, port)),
                        ScanNode::Any => None,
                    })
                    .collect()
            }
        };
        nodes
            .into_iter()
            .map(|info| {
                let address = info.addr().to_string();
                let redis = info
                    .redis_settings()
                    .clone()
                    .set_protocol(ProtocolVersion::RESP3);
                Ok((
                    address,
                    redis::Client::open(info.set_redis_settings(redis))?,
                ))
            })
            .collect()
    }

    /// The primaries as `host:port` (as [`Connector::primaries`] names them): on a
    /// cluster the live ones, with Sentinel the one the sentinels name now; `None` for one
    /// server, which is watched through its role alone.
    ///
    /// # Errors
    /// When the cluster cannot say, or no sentinel names a primary that is up.
    pub(super) async fn primary_addresses(&self) -> RedisResult<Option<Vec<String>>> {
        let node = match &self.target {
            ConfiguredTarget::Single(_) => return Ok(None),
            ConfiguredTarget::Sentinel(_, sentinels) => {
                return Ok(Some(vec![sentinels.named_primary().await?]));
            }
            ConfiguredTarget::Cluster(_, node) => node,
        };
        let mut connection = self.connection().await?;
        let primaries = connection.scan_nodes().await?;
        Ok(Some(
            primaries
                .into_iter()
                .filter_map(|primary| match primary {
                    ScanNode::Primary(host, port) => {
                        Some(at_address(node, host, port).addr().to_string())
                    }
                    ScanNode::Any => None,
                })
                .collect(),
        ))
    }

    /// Whether the data connection reads from one of `primaries` (`host:port`), or will:
    /// with Sentinel, a connection to another node is forgotten (the next command asks
    /// the sentinels again) and the answer is `false`. Elsewhere always `true`: one
    /// server is one node, and a cluster connection follows the cluster's own map.
    ///
    /// The node is known by the address it was connected to, not by the server's
    /// identity (`run_id`): the sentinels name addresses, the manager never reconnects
    /// anywhere else, and knowing it costs no command (`run_id` is in `INFO`, which
    /// `-@dangerous` users may not run).
    pub(super) fn data_follows(&self, primaries: &[String]) -> bool {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let elsewhere = matches!(
            &*current,
            Some((_, Some(node))) if !primaries.contains(node)
        );
        if elsewhere {
            *current = None;
        }
        !elsewhere
    }

    fn forget(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn current(&self) -> Option<LiveConnection> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(connection, _)| connection.clone())
    }

    /// A managed connection to `client`'s server, connected now so that a refusal, a
    /// TLS failure or wrong credentials come back as such rather than as a timeout.
    async fn manager(&self, client: redis::Client) -> RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // The first connection is tried once: the store's breaker decides when to
            // try again. Reconnection after that runs in the background; short pauses
            // mean a returning Redis is found within about a second.
            .set_number_of_retries(0)
            .set_max_delay(RETRY_AFTER);
        Box::pin(ConnectionManager::new_with_config(client, config)).await
    }
}

impl Sentinels {
    /// `host:port` of the primary the sentinels name now: the first answer, asking the
    /// sentinel that answered last first, then the others in the configured order.
    ///
    /// `SENTINEL MASTER` rather than `GET-MASTER-ADDR-BY-NAME`: it is what the crate's
    /// client reads (through `SENTINEL MASTERS`) to pick the data connection's primary,
    /// flags included, so both agree; `GET-MASTER-ADDR-BY-NAME` names the promoted
    /// replica a little earlier, mid-failover. Like the crate, a primary flagged down
    /// counts as none.
    async fn named_primary(&self) -> RedisResult<String> {
        let mut answered = self.answered.lock().await;
        let mut cached = answered.take();
        let first = cached.as_ref().map(|(index, _)| *index);
        let order = first
            .into_iter()
            .chain((0..self.clients.len()).filter(|index| Some(*index) != first));
        let mut failure = None;
        for index in order {
            let mut connection = match cached.take() {
                Some((_, connection)) => connection,
                None => match self.connect(index).await {
                    Ok(connection) => connection,
                    Err(error) => {
                        failure = Some(error);
                        continue;
                    }
                },
            };
            let master: RedisResult<HashMap<String, String>> = redis::cmd("SENTINEL")
                .arg("MASTER")
                .arg(&self.master)
                .query_async(&mut connection)
                .await;
            match master.map(|master| usable_primary(&master)) {
                Ok(Some(address)) => {
                    *answered = Some((index, connection));
                    return Ok(address);
                }
                Ok(None) => {
                    *answered = Some((index, connection));
                    failure = None;
                }
                Err(error) => failure = Some(error),
            }
        }
        Err(failure.unwrap_or_else(|| {
            RedisError::from((
                ErrorKind::MasterNameNotFoundBySentinel,
                "no sentinel names a primary that is up",
                self.master.clone(),
            ))
        }))
    }

    async fn connect(&self, index: usize) -> RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        self.clients[index]
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }
}

/// `host:port` of the primary in a sentinel's `SENTINEL MASTER` answer, unless it is
/// flagged down (`s_down`, `o_down`), as the crate's client judges it.
fn usable_primary(master: &HashMap<String, String>) -> Option<String> {
    let flags = master.get("flags")?;
    let up = flags.split(',').any(|flag| flag == "master")
        && !flags
            .split(',')
            .any(|flag| flag == "s_down" || flag == "o_down");
    let port: u16 = master.get("port")?.parse().ok()?;
    let ip = master.get("ip")?;
    up.then(|| ConnectionAddr::Tcp(ip.clone(), port).to_string())
}

impl LiveConnection {
    /// Whether this is a Redis Cluster, where one pipeline may only touch one slot.
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, LiveConnection::Cluster(_))
    }

    /// Where a full `SCAN` of this service's keys must run: the server, or every
    /// primary of a cluster (each holds its own slots' keys).
    ///
    /// # Errors
    /// When the cluster cannot say which nodes are its primaries.
    pub(super) async fn scan_nodes(&mut self) -> RedisResult<Vec<ScanNode>> {
        let Self::Cluster(cluster) = self else {
            return Ok(vec![ScanNode::Any]);
        };
        let nodes = Box::pin(cluster.route_command(
            redis::cmd("CLUSTER").arg("NODES").clone(),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        ))
        .await?;
        Ok(primaries(&String::from_redis_value(nodes)?))
    }

    /// Sends `command` to `node`.
    ///
    /// # Errors
    /// Whatever Redis or the connection reports.
    pub(super) async fn query_on<T: FromRedisValue>(
        &mut self,
        node: &ScanNode,
        command: &Cmd,
    ) -> RedisResult<T> {
        match (self, node) {
            (Self::Cluster(cluster), ScanNode::Primary(host, port)) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                let value = Box::pin(cluster.route_command(command.clone(), routing)).await?;
                Ok(T::from_redis_value(value)?)
            }
            (connection, _) => command.query_async(connection).await,
        }
    }
}

/// `node`'s settings (credentials, TLS) for the server at `host:port`.
fn at_address(node: &ConnectionInfo, host: String, port: u16) -> ConnectionInfo {
    let addr = match node.addr() {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host, port),
    };
    node.clone().set_addr(addr)
}

/// The CA and client certificate to use instead of the system's roots, if any are set.
fn certificates(settings: &RedisSettings) -> Option<TlsCertificates> {
    let client_tls = match (&settings.tls_cert_file, &settings.tls_key_file) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: cert.contents().to_vec(),
            client_key: key.contents().to_vec(),
        }),
        _ => None,
    };
    let root_cert = settings
        .tls_ca_file
        .as_ref()
        .map(|ca| ca.contents().to_vec());
    (client_tls.is_some() || root_cert.is_some()).then_some(TlsCertificates {
        client_tls,
        root_cert,
    })
}

fn tls_mode(settings: &RedisSettings) -> TlsMode {
    if settings.tls_insecure {
        TlsMode::Insecure
    } else {
        TlsMode::Secure
    }
}

/// Whether an I/O error's text is rustls' (or the server's TLS alert).
fn is_tls_failure(text: &str) -> bool {
    [
        "certificate",
        "handshake",
        "alert",
        "tls",
        "TLS",
        "corrupt message",
        "peer is incompatible",
    ]
    .iter()
    .any(|sign| text.contains(sign))
}

/// The primaries in `CLUSTER NODES` output that are not marked as failing.
fn primaries(cluster_nodes: &str) -> Vec<ScanNode> {
    cluster_nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.nth(1)?;
            let flags = fields.next()?;
            let flags: Vec<&str> = flags.split(',').collect();
            if !flags.contains(&"master") || flags.contains(&"fail") || flags.contains(&"noaddr") {
                return None;
            }
            // `ip:port@cport[,hostname]`
            let (host, port) = address.split('@').next()?.rsplit_once(':')?;
            Some(ScanNode::Primary(host.to_owned(), port.parse().ok()?))
        })
        .collect()
}

impl ConnectionLike for LiveConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ScanNode, primaries};

    #[test]
    fn scans_run_on_live_primaries_only() {
        let nodes = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001,host-b master - 0 0 2 connected 5461-10922
c3 127.0.0.1:7002@17002 master,fail - 0 0 3 connected
d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected
";
        let found: Vec<(String, u16)> = primaries(nodes)
            .into_iter()
            .map(|node| match node {
                ScanNode::Primary(host, port) => (host, port),
                ScanNode::Any => panic!("a cluster lists primaries"),
            })
            .collect();
        assert_eq!(
            found,
            [
                ("127.0.0.1".to_owned(), 7000),
                ("127.0.0.1".to_owned(), 7001)
            ]
        );
    }
}
