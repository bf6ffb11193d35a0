//! Redis settings: `CACHE_REDIS_*`, where the persistent alias finds Redis.
//!
//! Three ways to point at Redis, exactly one at a time: one server
//! (`CACHE_REDIS_HOST` or `CACHE_REDIS_URL`), a Redis Cluster
//! (`CACHE_REDIS_CLUSTER_NODES`), or the primary that Sentinel names
//! (`CACHE_REDIS_SENTINEL_NODES` with `CACHE_REDIS_SENTINEL_MASTER`). None of them set:
//! the persistent alias stays in-process. Credentials, TLS and the timeout apply to
//! every mode.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{EnvReader, VarValue};
use service_env::{Secret, url_without_password};

/// `CACHE_REDIS_PORT` when unset.
pub const DEFAULT_REDIS_PORT: u16 = 6379;
/// `CACHE_REDIS_DB` when unset.
pub const DEFAULT_REDIS_DB: u64 = 0;
/// `CACHE_REDIS_TIMEOUT_MS` when unset.
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 500;
/// The highest `CACHE_REDIS_DB`: Redis numbers its databases below its `databases`
/// setting, which it caps at 2147483647 (`INT_MAX`). Beyond it the client library could
/// not even form the URL, and a server refuses `SELECT` of anything not below its own
/// `databases` (16 by default), which shows at the first command.
pub const MAX_REDIS_DB: u64 = 2_147_483_646;

/// Where and how to reach Redis, as configured.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `CACHE_REDIS_HOST`: one Redis server.
    pub host: Option<String>,
    /// `CACHE_REDIS_PORT`, with the host.
    pub port: u16,
    /// `CACHE_REDIS_DB`: the database number (only 0 exists on a cluster).
    pub db: u64,
    /// `CACHE_REDIS_USERNAME`: an ACL user; without it, the password is the default user's.
    pub username: Option<String>,
    /// `CACHE_REDIS_PASSWORD`.
    pub password: Option<Secret>,
    /// `CACHE_REDIS_URL` (`redis://` or `rediss://` for TLS): one server, given whole;
    /// overrides host, port, username, password and db. Secret: it may hold the password.
    pub url: Option<Secret>,
    /// `CACHE_REDIS_CLUSTER_NODES`: some nodes of a Redis Cluster; the rest are discovered.
    pub cluster_nodes: Vec<NodeAddress>,
    /// `CACHE_REDIS_SENTINEL_NODES`: the sentinels to ask where the primary is.
    pub sentinel_nodes: Vec<NodeAddress>,
    /// `CACHE_REDIS_SENTINEL_MASTER`: the name the sentinels know the primary by.
    pub sentinel_master: Option<String>,
    /// `CACHE_REDIS_TLS`: TLS to every node (`rediss://` in `CACHE_REDIS_URL` does the
    /// same for one server).
    pub tls: bool,
    /// `CACHE_REDIS_TLS_CA_FILE`: the CA bundle trusted for the server's certificate,
    /// instead of the system's roots.
    pub tls_ca_file: Option<PemFile>,
    /// `CACHE_REDIS_TLS_CERT_FILE`: a client certificate, for `tls-auth-clients yes`.
    pub tls_cert_file: Option<PemFile>,
    /// `CACHE_REDIS_TLS_KEY_FILE`: the client certificate's private key.
    pub tls_key_file: Option<PemFile>,
    /// `CACHE_REDIS_TLS_INSECURE`: accept any server certificate. Development only; a
    /// warning says so at every start.
    pub tls_insecure: bool,
    /// `CACHE_REDIS_TIMEOUT_MS`: bound of connecting and of every command.
    pub timeout: Duration,
}

/// A PEM file read at start-up. `Debug` shows the path only: a key's contents never
/// reach a log line or an error.
#[derive(Clone)]
pub struct PemFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The file's contents.
    contents: Arc<[u8]>,
}

impl PemFile {
    /// Reads `path` and checks that it holds PEM.
    fn read(path: &str) -> Result<Self, &'static str> {
        let contents = std::fs::read(path).map_err(|_| "a readable file")?;
        if !contents.windows(11).any(|window| window == b"-----BEGIN ") {
            return Err("a PEM file (-----BEGIN ...)");
        }
        Ok(Self {
            path: PathBuf::from(path),
            contents: contents.into(),
        })
    }

    /// The PEM text, to hand to the TLS client.
    pub fn contents(&self) -> &[u8] {
        &self.contents
    }
}

impl fmt::Debug for PemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PemFile({})", self.path.display())
    }
}

/// A `host:port` from a node list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How the persistent alias reaches Redis.
#[derive(Debug, Clone)]
pub enum RedisMode {
    /// One server, at this URL.
    Single(Secret),
    /// A Redis Cluster, discovered from these nodes' URLs.
    Cluster(Vec<Secret>),
    /// The primary named `master` by these sentinels.
    Sentinel {
        /// The sentinels.
        nodes: Vec<NodeAddress>,
        /// The primary's name.
        master: String,
    },
}

impl Default for RedisSettings {
    /// No Redis (in-process fallback), with the documented port, db and timeout.
    fn default() -> Self {
        Self {
            host: None,
            port: DEFAULT_REDIS_PORT,
            db: DEFAULT_REDIS_DB,
            username: None,
            password: None,
            url: None,
            cluster_nodes: Vec::new(),
            sentinel_nodes: Vec::new(),
            sentinel_master: None,
            tls: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_insecure: false,
            timeout: Duration::from_millis(DEFAULT_REDIS_TIMEOUT_MS),
        }
    }
}

/// `CACHE_REDIS_*` as text, as envy reads it.
#[derive(Debug, Default, Deserialize)]
struct RedisVars {
    host: Option<String>,
    port: Option<String>,
    db: Option<String>,
    username: Option<String>,
    password: Option<String>,
    url: Option<String>,
    cluster_nodes: Option<String>,
    sentinel_nodes: Option<String>,
    sentinel_master: Option<String>,
    tls: Option<String>,
    tls_ca_file: Option<String>,
    tls_cert_file: Option<String>,
    tls_key_file: Option<String>,
    tls_insecure: Option<String>,
    timeout_ms: Option<String>,
}

impl RedisSettings {
    /// Reads `CACHE_REDIS_*` from `env`, which collects every invalid variable.
    pub fn read(env: &mut EnvReader) -> Self {
        let vars: RedisVars = env.prefixed("CACHE_REDIS_");
        let settings = Self {
            host: vars.host,
            port: env.port("CACHE_REDIS_PORT", vars.port, DEFAULT_REDIS_PORT, false),
            db: env.number(
                "CACHE_REDIS_DB",
                vars.db,
                DEFAULT_REDIS_DB,
                0..=MAX_REDIS_DB,
            ),
            username: vars.username,
            password: vars.password.map(Secret::new),
            url: vars.url.map(Secret::new),
            cluster_nodes: node_list(env, "CACHE_REDIS_CLUSTER_NODES", vars.cluster_nodes),
            sentinel_nodes: node_list(env, "CACHE_REDIS_SENTINEL_NODES", vars.sentinel_nodes),
            sentinel_master: vars.sentinel_master,
            tls: env.bool("CACHE_REDIS_TLS", vars.tls, false),
            tls_ca_file: pem_file(env, "CACHE_REDIS_TLS_CA_FILE", vars.tls_ca_file),
            tls_cert_file: pem_file(env, "CACHE_REDIS_TLS_CERT_FILE", vars.tls_cert_file),
            tls_key_file: pem_file(env, "CACHE_REDIS_TLS_KEY_FILE", vars.tls_key_file),
            tls_insecure: env.bool("CACHE_REDIS_TLS_INSECURE", vars.tls_insecure, false),
            timeout: env.millis(
                "CACHE_REDIS_TIMEOUT_MS",
                vars.timeout_ms,
                Duration::from_millis(DEFAULT_REDIS_TIMEOUT_MS),
            ),
        };
        settings.check(env);
        settings.check_tls(env);
        settings
    }

    /// Where the persistent alias connects; `None`: nowhere, it stays in-process.
    pub fn mode(&self) -> Option<RedisMode> {
        if !self.cluster_nodes.is_empty() {
            let urls = self.cluster_nodes.iter().map(|node| self.node_url(node, 0));
            return Some(RedisMode::Cluster(urls.collect()));
        }
        if !self.sentinel_nodes.is_empty() {
            return Some(RedisMode::Sentinel {
                nodes: self.sentinel_nodes.clone(),
                master: self.sentinel_master.clone().unwrap_or_default(),
            });
        }
        if let Some(url) = &self.url {
            // redis-rs reads `#insecure` at the end of a URL as "skip verification".
            if self.tls_insecure && !url.expose().contains("#insecure") {
                return Some(RedisMode::Single(Secret::new(format!(
                    "{}#insecure",
                    url.expose()
                ))));
            }
            return Some(RedisMode::Single(url.clone()));
        }
        let host = self.host.as_deref()?;
        let node = NodeAddress {
            host: host.to_owned(),
            port: self.port,
        };
        Some(RedisMode::Single(self.node_url(&node, self.db)))
    }

    /// The URL of one server with this configuration's credentials.
    fn node_url(&self, node: &NodeAddress, db: u64) -> Secret {
        let user = self
            .username
            .as_deref()
            .map(encode_userinfo)
            .unwrap_or_default();
        let auth = match &self.password {
            Some(password) => format!("{user}:{}@", encode_userinfo(password.expose())),
            None if !user.is_empty() => format!("{user}@"),
            None => String::new(),
        };
        let scheme = if self.tls { "rediss" } else { "redis" };
        let insecure = if self.tls && self.tls_insecure {
            "#insecure"
        } else {
            ""
        };
        Secret::new(format!("{scheme}://{auth}{node}/{db}{insecure}"))
    }

    /// Whether connections use TLS: `CACHE_REDIS_TLS`, or a `rediss://` URL.
    pub fn uses_tls(&self) -> bool {
        self.tls
            || self
                .url
                .as_ref()
                .is_some_and(|url| url.expose().starts_with("rediss://"))
    }

    /// Refuses combinations Redis cannot serve, each in one line naming the variables.
    /// URLs may carry a password, so they are never echoed.
    fn check(&self, env: &mut EnvReader) {
        let single = if self.url.is_some() {
            Some("CACHE_REDIS_URL")
        } else if self.host.is_some() {
            Some("CACHE_REDIS_HOST")
        } else {
            None
        };
        let chosen: Vec<&'static str> = [
            single,
            (!self.cluster_nodes.is_empty()).then_some("CACHE_REDIS_CLUSTER_NODES"),
            (!self.sentinel_nodes.is_empty()).then_some("CACHE_REDIS_SENTINEL_NODES"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if chosen.len() > 1 {
            env.reject(
                chosen[1],
                None,
                &format!(
                    "one way to reach Redis, but {} are both set: keep one of them",
                    chosen.join(" and ")
                ),
            );
            return;
        }
        if !self.sentinel_nodes.is_empty() && self.sentinel_master.is_none() {
            env.reject(
                "CACHE_REDIS_SENTINEL_MASTER",
                None,
                "the primary's name as the sentinels know it (sentinel monitor <name> ...), \
                 required with CACHE_REDIS_SENTINEL_NODES",
            );
        }
        if !self.cluster_nodes.is_empty() && self.db != 0 {
            env.reject(
                "CACHE_REDIS_DB",
                Some(self.db.to_string()),
                "0 with CACHE_REDIS_CLUSTER_NODES: a Redis Cluster has only database 0",
            );
        }
        match (&self.url, self.mode()) {
            (Some(url), _)
                if !url.expose().starts_with("redis://")
                    && !url.expose().starts_with("rediss://") =>
            {
                env.reject(
                    "CACHE_REDIS_URL",
                    None,
                    "a URL starting with redis:// or rediss://",
                );
            }
            (Some(url), _) if !parses_as_redis_url(url.expose()) => env.reject(
                "CACHE_REDIS_URL",
                None,
                "a valid URL such as redis://:password@host:6379/0",
            ),
            (Some(url), _) if self.tls && url.expose().starts_with("redis://") => env.reject(
                "CACHE_REDIS_TLS",
                Some("true".to_owned()),
                "false with a redis:// CACHE_REDIS_URL: write rediss:// in the URL for TLS",
            ),
            (None, Some(RedisMode::Single(url))) if !parses_as_redis_url(url.expose()) => {
                env.reject(
                    "CACHE_REDIS_HOST",
                    self.host.clone(),
                    "a host name or IP address",
                );
            }
            _ => {}
        }
    }

    /// Refuses TLS files that would be ignored, and a certificate without its key.
    fn check_tls(&self, env: &mut EnvReader) {
        let files = [
            ("CACHE_REDIS_TLS_CA_FILE", &self.tls_ca_file),
            ("CACHE_REDIS_TLS_CERT_FILE", &self.tls_cert_file),
            ("CACHE_REDIS_TLS_KEY_FILE", &self.tls_key_file),
        ];
        for (name, file) in files {
            if let Some(file) = file
                && !self.uses_tls()
            {
                env.reject(
                    name,
                    Some(file.path.display().to_string()),
                    "a file used only with TLS, which is off: set CACHE_REDIS_TLS=true or use rediss://",
                );
            }
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            env.reject(
                "CACHE_REDIS_TLS_KEY_FILE",
                None,
                "CACHE_REDIS_TLS_CERT_FILE and CACHE_REDIS_TLS_KEY_FILE together, or neither",
            );
        }
    }

    /// Every `CACHE_REDIS_*` variable with the value in effect, secrets redacted.
    pub fn vars(&self) -> Vec<VarValue> {
        let nodes = |nodes: &[NodeAddress]| {
            (!nodes.is_empty()).then(|| {
                let nodes: Vec<String> = nodes.iter().map(ToString::to_string).collect();
                nodes.join(",")
            })
        };
        vec![
            ("CACHE_REDIS_HOST", self.host.clone()),
            ("CACHE_REDIS_PORT", Some(self.port.to_string())),
            ("CACHE_REDIS_DB", Some(self.db.to_string())),
            ("CACHE_REDIS_USERNAME", self.username.clone()),
            (
                "CACHE_REDIS_PASSWORD",
                self.password.as_ref().map(Secret::to_string),
            ),
            (
                "CACHE_REDIS_URL",
                self.url
                    .as_ref()
                    .map(|url| url_without_password(url.expose())),
            ),
            ("CACHE_REDIS_CLUSTER_NODES", nodes(&self.cluster_nodes)),
            ("CACHE_REDIS_SENTINEL_NODES", nodes(&self.sentinel_nodes)),
            ("CACHE_REDIS_SENTINEL_MASTER", self.sentinel_master.clone()),
            ("CACHE_REDIS_TLS", Some(self.tls.to_string())),
            ("CACHE_REDIS_TLS_CA_FILE", path(&self.tls_ca_file)),
            ("CACHE_REDIS_TLS_CERT_FILE", path(&self.tls_cert_file)),
            ("CACHE_REDIS_TLS_KEY_FILE", path(&self.tls_key_file)),
            (
                "CACHE_REDIS_TLS_INSECURE",
                Some(self.tls_insecure.to_string()),
            ),
            (
                "CACHE_REDIS_TIMEOUT_MS",
                Some(self.timeout.as_millis().to_string()),
            ),
        ]
    }
}

/// The path of a PEM file setting, as `config check` shows it.
fn path(file: &Option<PemFile>) -> Option<String> {
    file.as_ref().map(|file| file.path.display().to_string())
}

/// Reads the PEM file `raw` names; a missing or non-PEM file is refused, naming the
/// variable and the path (never the contents).
fn pem_file(env: &mut EnvReader, name: &'static str, raw: Option<String>) -> Option<PemFile> {
    let path = raw?;
    match PemFile::read(&path) {
        Ok(file) => Some(file),
        Err(expected) => {
            env.reject(name, Some(path), expected);
            None
        }
    }
}

/// A comma-separated `host:port` list; a bad entry is named in the error.
fn node_list(env: &mut EnvReader, name: &'static str, raw: Option<String>) -> Vec<NodeAddress> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let mut nodes = Vec::new();
    for entry in raw
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        match parse_node(entry) {
            Some(node) => nodes.push(node),
            None => {
                env.reject(
                    name,
                    Some(raw.clone()),
                    &format!("host:port entries separated by commas; {entry:?} is not one"),
                );
                return Vec::new();
            }
        }
    }
    nodes
}

/// `host:port` or `[ipv6]:port`.
fn parse_node(entry: &str) -> Option<NodeAddress> {
    let (host, port) = entry.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    let port = port.parse::<u16>().ok().filter(|port| *port > 0)?;
    valid_host.then(|| NodeAddress {
        host: host.to_owned(),
        port,
    })
}

/// Percent-encodes the characters a user name or password may contain that a URL's
/// user-info may not.
fn encode_userinfo(raw: &str) -> String {
    let mut encoded = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Whether the Redis client accepts `url` (without the `redis` feature there is no
/// client, and nothing connects, so any URL passes).
fn parses_as_redis_url(url: &str) -> bool {
    #[cfg(feature = "redis")]
    return redis::Client::open(url).is_ok();
    #[cfg(not(feature = "redis"))]
    return !url.is_empty();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{NodeAddress, RedisMode, RedisSettings};
    use crate::settings::EnvReader;

    fn read(vars: &[(&str, &str)]) -> Result<RedisSettings, String> {
        let mut env = EnvReader::from_map(vars.iter().copied());
        let settings = RedisSettings::read(&mut env);
        env.finish()
            .map(|()| settings)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn nothing_set_means_in_process_with_the_documented_defaults() {
        let settings = read(&[]).unwrap();
        assert!(settings.mode().is_none());
        assert_eq!((settings.port, settings.db), (6379, 0));
        assert_eq!(settings.timeout, Duration::from_millis(500));
    }

    #[test]
    fn host_port_user_password_and_db_build_the_url_and_the_password_stays_hidden() {
        let settings = read(&[
            ("CACHE_REDIS_HOST", "cache.internal"),
            ("CACHE_REDIS_PORT", "6380"),
            ("CACHE_REDIS_USERNAME", "svc"),
            ("CACHE_REDIS_PASSWORD", "p@ss word"),
            ("CACHE_REDIS_DB", "2"),
        ])
        .unwrap();
        let Some(RedisMode::Single(url)) = settings.mode() else {
            panic!("one server expected");
        };
        assert_eq!(
            url.expose(),
            "redis://svc:p%40ss%20word@cache.internal:6380/2"
        );
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("p%40ss") && !debug.contains("p@ss"),
            "{debug}"
        );
    }

    #[test]
    fn a_url_overrides_host_and_port_and_must_be_redis() {
        let settings = read(&[("CACHE_REDIS_URL", "rediss://:secret@tls.example:6380/0")]).unwrap();
        assert!(
            matches!(settings.mode(), Some(RedisMode::Single(url)) if url.expose() == "rediss://:secret@tls.example:6380/0")
        );
        for bad in ["http://:secret@x", "redis://:secret@db:port/0"] {
            let message = read(&[("CACHE_REDIS_URL", bad)]).unwrap_err();
            assert!(
                message.contains("CACHE_REDIS_URL") && !message.contains("secret"),
                "{message}"
            );
        }
        let message = read(&[
            ("CACHE_REDIS_HOST", "two words"),
            ("CACHE_REDIS_PASSWORD", "secret"),
        ])
        .unwrap_err();
        assert!(
            message.contains("CACHE_REDIS_HOST=\"two words\"") && !message.contains("secret"),
            "{message}"
        );
    }

    #[test]
    fn node_lists_parse_and_a_bad_entry_is_named() {
        let settings = read(&[(
            "CACHE_REDIS_CLUSTER_NODES",
            "10.0.0.1:7000, redis-2.internal:7001,[::1]:7002",
        )])
        .unwrap();
        assert_eq!(
            settings.cluster_nodes,
            [
                NodeAddress {
                    host: "10.0.0.1".into(),
                    port: 7000
                },
                NodeAddress {
                    host: "redis-2.internal".into(),
                    port: 7001
                },
                NodeAddress {
                    host: "::1".into(),
                    port: 7002
                },
            ]
        );
        let Some(RedisMode::Cluster(urls)) = settings.mode() else {
            panic!("a cluster expected");
        };
        assert_eq!(urls[2].expose(), "redis://[::1]:7002/0");

        for bad in ["10.0.0.1", "host:0", "host:http", ":7000"] {
            let message =
                read(&[("CACHE_REDIS_CLUSTER_NODES", &format!("a:1,{bad}"))]).unwrap_err();
            assert!(
                message.contains("CACHE_REDIS_CLUSTER_NODES")
                    && message.contains(&format!("{bad:?} is not one")),
                "{message}"
            );
        }
    }

    #[test]
    fn two_ways_to_reach_redis_are_refused_in_one_line_naming_both() {
        let message = read(&[
            ("CACHE_REDIS_HOST", "a"),
            ("CACHE_REDIS_SENTINEL_NODES", "s:26379"),
            ("CACHE_REDIS_SENTINEL_MASTER", "main"),
        ])
        .unwrap_err();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains("CACHE_REDIS_HOST and CACHE_REDIS_SENTINEL_NODES"),
            "{message}"
        );
    }

    #[test]
    fn tls_switches_the_scheme_and_its_files_must_be_pem_and_used() {
        let dir = std::env::temp_dir().join(format!("pem-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("ca.pem");
        let ca_text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        std::fs::write(&pem, ca_text).unwrap();
        let not_pem = dir.join("key.txt");
        std::fs::write(&not_pem, "secret key material").unwrap();
        let (pem, not_pem) = (
            pem.to_string_lossy().into_owned(),
            not_pem.to_string_lossy().into_owned(),
        );

        let settings = read(&[
            ("CACHE_REDIS_HOST", "cache.internal"),
            ("CACHE_REDIS_TLS", "true"),
            ("CACHE_REDIS_TLS_CA_FILE", &pem),
        ])
        .unwrap();
        assert!(
            matches!(settings.mode(), Some(RedisMode::Single(url)) if url.expose() == "rediss://cache.internal:6379/0")
        );
        assert_eq!(
            settings.tls_ca_file.as_ref().unwrap().contents(),
            ca_text.as_bytes()
        );

        let message = read(&[
            ("CACHE_REDIS_HOST", "cache.internal"),
            ("CACHE_REDIS_TLS", "true"),
            ("CACHE_REDIS_TLS_CERT_FILE", &pem),
            ("CACHE_REDIS_TLS_KEY_FILE", &not_pem),
        ])
        .unwrap_err();
        assert!(
            message.contains("CACHE_REDIS_TLS_KEY_FILE")
                && message.contains("key.txt")
                && message.contains("PEM"),
            "{message}"
        );
        assert!(!message.contains("secret key material"), "{message}");

        let message = read(&[
            ("CACHE_REDIS_HOST", "h"),
            ("CACHE_REDIS_TLS_CA_FILE", "/no/such/ca.pem"),
        ])
        .unwrap_err();
        assert!(
            message.contains("CACHE_REDIS_TLS_CA_FILE=\"/no/such/ca.pem\""),
            "{message}"
        );
        let message =
            read(&[("CACHE_REDIS_HOST", "h"), ("CACHE_REDIS_TLS_CA_FILE", &pem)]).unwrap_err();
        assert!(message.contains("TLS, which is off"), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sentinel_needs_the_primary_name_and_cluster_only_database_0() {
        let message = read(&[("CACHE_REDIS_SENTINEL_NODES", "s:26379")]).unwrap_err();
        assert!(message.contains("CACHE_REDIS_SENTINEL_MASTER"), "{message}");
        let message = read(&[
            ("CACHE_REDIS_CLUSTER_NODES", "n:7000"),
            ("CACHE_REDIS_DB", "3"),
        ])
        .unwrap_err();
        assert!(message.contains("CACHE_REDIS_DB=\"3\""), "{message}");
        let settings = read(&[
            ("CACHE_REDIS_SENTINEL_NODES", "s1:26379,s2:26379"),
            ("CACHE_REDIS_SENTINEL_MASTER", "main"),
        ])
        .unwrap();
        assert!(
            matches!(settings.mode(), Some(RedisMode::Sentinel { nodes, master }) if nodes.len() == 2 && master == "main")
        );
    }
}
