//! Binding a TCP listener with a listen backlog fit for bursts, for every mode that
//! serves HTTP.
//!
//! The standard library's and Tokio's `bind` queue 128 connections: when a few hundred
//! clients connect at once, or while the server is at its connection limit, the kernel
//! drops the SYNs past that, and each of those clients waits a full second (then three,
//! then seven) before trying again. [`bind`] queues [`BACKLOG`], actix-web's default.

use std::io;
use std::net::{TcpListener, ToSocketAddrs};

/// Connections the kernel queues until they are accepted (Linux caps it at
/// `net.core.somaxconn`, 4096 on current kernels).
pub const BACKLOG: u32 = 1024;

/// Binds the first address `host:port` resolves to, as the standard library's bind
/// does, with [`BACKLOG`]. Call it inside a Tokio runtime.
///
/// # Errors
/// When the name does not resolve or no address can be bound.
pub fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    let mut last_error = None;
    for address in (host, port).to_socket_addrs()? {
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        let bound = socket
            .set_reuseaddr(true)
            .and_then(|()| socket.bind(address))
            .and_then(|()| socket.listen(BACKLOG))
            .and_then(|listener| listener.into_std());
        match bound {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the host name resolved to no address",
        )
    }))
}
