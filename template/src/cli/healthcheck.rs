//! `healthcheck`: asks the web server on `APP_HOST:APP_PORT` for `/health` (or `/ready`
//! with `--ready`) and exits 0 when it answers `200`, 1 otherwise: a container probe
//! that needs no curl in the image (the Dockerfile's `HEALTHCHECK` runs it).
//!
//! One plain HTTP/1.1 request over a `TcpStream`, bounded by [`TIMEOUT`]: a probe needs
//! nothing more, and no HTTP client is worth its build time for it.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use crate::context::AppContext;

/// The bound on connecting, and on each read and write: an orchestrator's probe
/// timeout is typically a few seconds, and a server that takes longer is not healthy.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// `healthcheck [--ready]`.
#[derive(Debug, clap::Args)]
pub struct HealthcheckCommand {
    /// Check /ready (every dependency answers) instead of /health (the server answers).
    #[arg(long)]
    ready: bool,
}

impl HealthcheckCommand {
    /// Probes the server and returns 0 for a `200`, 1 for anything else (Docker reads
    /// 1 as unhealthy), with one line on stderr saying why.
    ///
    /// # Errors
    /// Never: every failure is an unhealthy answer.
    pub async fn run(self, context: AppContext) -> anyhow::Result<ExitCode> {
        let app = &context.settings.app;
        let (host, port) = (app.host.clone(), app.port);
        let path = if self.ready { "/ready" } else { "/health" };
        let outcome = tokio::task::spawn_blocking(move || probe(&host, port, path))
            .await
            .context("the probe did not finish")
            .and_then(|outcome| outcome);
        Ok(match outcome {
            Ok(200) => ExitCode::SUCCESS,
            Ok(status) => {
                eprintln!(
                    "unhealthy: GET {path} on {}:{port} answered {status}",
                    app.host
                );
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("unhealthy: GET {path} on {}:{port}: {error:#}", app.host);
                ExitCode::FAILURE
            }
        })
    }
}

/// Sends `GET path` to the server bound to `host:port` and returns the status code.
fn probe(host: &str, port: u16, path: &str) -> anyhow::Result<u16> {
    anyhow::ensure!(
        port != 0,
        "APP_PORT=0 picks a random port, which a probe cannot know: set APP_PORT"
    );
    let address = local_address(host, port)?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .with_context(|| format!("could not connect to {address}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .context("could not send the request")?;
    // The status line is all a probe needs: `HTTP/1.1 200 OK`.
    let mut head = [0_u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]).context("no answer")? {
            0 => break,
            count => read += count,
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|status| status.parse().ok())
        .with_context(|| "the answer is not HTTP".to_owned())
}

/// Where to reach a server bound to `host`: a wildcard address (`0.0.0.0`, `::`, as in
/// the Docker image) is reached on loopback; a name is resolved.
fn local_address(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let ip = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => {
            return (host, port)
                .to_socket_addrs()
                .with_context(|| format!("could not resolve {host}"))?
                .next()
                .with_context(|| format!("{host} has no address"));
        }
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::local_address;

    #[test]
    fn a_wildcard_address_is_probed_on_loopback() {
        assert_eq!(
            local_address("0.0.0.0", 8080).unwrap(),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))
        );
        assert!(local_address("::", 80).unwrap().ip().is_loopback());
        assert_eq!(
            local_address("10.0.0.5", 80).unwrap(),
            SocketAddr::from(([10, 0, 0, 5], 80))
        );
    }
}
