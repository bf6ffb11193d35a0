//! The HTTP server: [`Application::build`] binds the listener and assembles the app,
//! [`Application::run_until_stopped`] serves until a shutdown future resolves.
//!
//! Building binds the socket at once, so `APP_PORT=0` works (the tests use it) and
//! [`Application::port`] gives the real port before anything is served. The shutdown
//! signal is a parameter rather than hard-wired: `web::run` passes SIGTERM/ctrl-c, tests
//! pass a channel, and both get the same graceful stop.
//!
//! The server is assembled from actix's parts (`actix-server` accepts, `actix-http`
//! speaks HTTP/1) rather than with `HttpServer`, whose builder offers no way to wrap
//! the socket: every connection is a [`TimedStream`], so slow clients are bounded on
//! every request ([`client_timeouts`]), and at most
//! `APP_MAX_CONNECTIONS` are open at once. When accepting fails (out of file
//! descriptors), actix-server stops accepting for about half a second rather than spin.

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::rc::Rc;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Protocol};
use actix_service::{ServiceFactoryExt as _, fn_service, map_config};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::{Condition, from_fn};
use actix_web::rt::net::TcpStream;
use actix_web::{App, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::context::AppContext;
use crate::listen;
use crate::web::client_timeouts::{self, ClientTimeouts, ConnectionClock, TimedStream};
use crate::web::head_as_get::head_as_get;
use crate::web::request_log::{RequestSpan, request_log};
use crate::web::{errors, metrics, routes};

/// A bound, ready-to-run HTTP server.
pub struct Application {
    /// The address the listener is bound to, with the real port when `APP_PORT=0`.
    address: SocketAddr,
    /// The server; it starts accepting when [`Application::run_until_stopped`] polls it.
    server: Server,
    /// `APP_SHUTDOWN_TIMEOUT_MS`: how long in-flight requests may run after shutdown starts.
    shutdown_timeout: Duration,
}

impl Application {
    /// Binds `APP_HOST:APP_PORT` and assembles the service with every route of
    /// [`routes::configure`]. Call it inside a Tokio runtime, which serves it.
    ///
    /// # Errors
    /// When the address cannot be bound (in use, not local, no permission).
    pub fn build(context: &AppContext) -> anyhow::Result<Self> {
        Self::build_with(context, routes::configure)
    }

    /// Like [`Application::build`], with `routes` mounted instead of
    /// [`routes::configure`]: tests use it to add routes of their own next to the
    /// service's. Middleware, JSON errors, body limits and the context are the same.
    ///
    /// # Errors
    /// When the address cannot be bound (in use, not local, no permission).
    pub fn build_with<R>(context: &AppContext, routes: R) -> anyhow::Result<Self>
    where
        R: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let app = &context.settings.app;
        let listener = listen::bind(&app.host, app.port).with_context(|| {
            format!(
                "could not listen on {}:{}; set APP_HOST and APP_PORT to a free local address",
                app.host, app.port
            )
        })?;
        let address = listener
            .local_addr()
            .context("could not read the bound address")?;
        // Created once, outside the factory below, so every worker thread shares it.
        let context = web::Data::new(context.clone());
{%- if cache %}
        // The endpoint cache finds the caches here.
        let caches = web::Data::new(context.caches.clone());
{%- endif %}
        let body_limit = app.body_limit_bytes;
        let counted = context.metrics.clone();
        let make_app = move || {
            let counted = counted.clone();
            // Middleware runs outside in: the last `wrap` sees the request first. The
            // request span comes first so every later log line carries the request id;
            // the request log sits inside the JSON rewrite so it still sees the error;
            // HEAD becomes GET innermost, once the span has recorded the real method.
            // Metrics are outermost but one, so a request's duration includes every
            // middleware; outermost of all, the connection learns that the head arrived.
            App::new()
                .wrap(from_fn(head_as_get))
                .wrap(from_fn(request_log))
                .wrap(from_fn(errors::json_errors))
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(Condition::new(
                    counted.is_enabled(),
                    from_fn(move |request, next| {
                        metrics::track_requests(counted.clone(), request, next)
                    }),
                ))
                .wrap(from_fn(client_timeouts::request_started))
                .app_data(context.clone())
{%- if cache %}
                .app_data(caches.clone())
{%- endif %}
                .configure(|cfg| errors::configure_extractors(cfg, body_limit))
                .configure(metrics::configure)
                .configure(routes.clone())
                .default_service(web::to(errors::not_found))
        };
        let timeouts = ClientTimeouts {
            head: app.request_head_timeout,
            body: app.request_body_timeout,
            keep_alive: app.keep_alive,
        };
        // actix-server counts connections per worker thread.
        let workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let per_worker = app.max_connections.div_ceil(workers);
        let builder = Server::build()
            .workers(workers)
            .max_concurrent_connections(per_worker)
            // Signals are handled by `run_until_stopped`'s caller, not by actix.
            .disable_signals()
            // actix counts whole seconds; run_until_stopped enforces the exact duration.
            .shutdown_timeout(
                app.shutdown_timeout.as_secs() + u64::from(app.shutdown_timeout.subsec_nanos() > 0),
            );
        // Resolves when a graceful stop begins, so idle keep-alive connections close.
        let stopping = builder.graceful_shutdown_signal();
        let server = builder
            .listen("web", listener, move || {
                let stopping = stopping.clone();
                let http = HttpService::<TimedStream, _, _>::build()
                    .keep_alive(KeepAlive::Timeout(timeouts.keep_alive))
                    // The first request's head; TimedStream covers every later one.
                    .client_request_timeout(timeouts.head)
                    // actix-web's default: how long a closing connection may linger.
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .local_addr(address)
                    .graceful_shutdown_signal(move || {
                        let stopping = stopping.clone();
                        async move { stopping.notified().await }
                    })
                    .on_connect_ext(|io: &TimedStream, data| {
                        data.insert::<Rc<ConnectionClock>>(io.clock());
                    })
                    // The app's host and address are only a fallback for requests
                    // without a `Host` header; routes here never build URLs from them.
                    .finish(map_config(make_app(), move |()| AppConfig::default()));
                fn_service(move |io: TcpStream| async move {
                    let peer = io.peer_addr().ok();
                    Ok((TimedStream::new(io, timeouts), Protocol::Http1, peer))
                })
                .and_then(http)
            })
            .context("could not start the HTTP server")?
            .run();
        Ok(Self {
            address,
            server,
            shutdown_timeout: app.shutdown_timeout,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` resolves, then stops gracefully: the listener closes at
    /// once, requests in flight get up to `APP_SHUTDOWN_TIMEOUT_MS` to finish, idle
    /// keep-alive connections are closed, and then it returns.
    ///
    /// # Errors
    /// When the server stops on its own because of an I/O error.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            address,
            server,
            shutdown_timeout,
        } = self;
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        tracing::info!(%address, "listening on http://{address}");
        tokio::select! {
            result = &mut server => return result.context("the HTTP server stopped unexpectedly"),
            () = shutdown => {}
        }

        let grace_ms = u64::try_from(shutdown_timeout.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            grace_ms,
            "shutting down: no new connections, requests in flight may finish"
        );
        // `stop` sends its command right away; its future only reports completion, which
        // polling the server below reports too.
        drop(handle.stop(true));
        match tokio::time::timeout(shutdown_timeout, &mut server).await {
            Ok(result) => result.context("the HTTP server failed while stopping")?,
            Err(_) => tracing::warn!(
                grace_ms,
                "requests still running after the grace period were cut off"
            ),
        }
        tracing::info!("stopped");
        Ok(())
    }
}
