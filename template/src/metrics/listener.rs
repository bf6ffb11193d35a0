//! The `worker` mode's own `/metrics` listener on `METRICS_HOST:METRICS_PORT`: a worker
//! that runs without the web server still gets scraped. (`web --with-worker` serves one
//! `/metrics` on the web server instead.)
//!
//! hyper serves the HTTP: one route, `GET /metrics`; anything else gets a 404 or a 405.
//!
//! Hostile or broken clients are bounded: at most `METRICS_MAX_CONNECTIONS` are served
//! at once (the next waits in the kernel's backlog, no file descriptor spent), a request
//! head must arrive within `METRICS_TIMEOUT_MS` (idle time between requests included),
//! and when accepting fails (out of file descriptors) the loop waits before it tries
//! again instead of spinning. The listen backlog is [`listen::BACKLOG`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{CONTENT_TYPE, Metrics};
use crate::listen;
use crate::settings::MetricsSettings;

/// A bound metrics listener, serving once [`MetricsListener::serve`] runs.
pub struct MetricsListener {
    /// The bound socket.
    listener: TcpListener,
    /// What `/metrics` renders.
    metrics: Metrics,
    /// One permit per connection served at once (`METRICS_MAX_CONNECTIONS`).
    slots: Arc<Semaphore>,
    /// `METRICS_TIMEOUT_MS`: the wait for a request head.
    timeout: Duration,
}

/// The first wait after a failed accept; it doubles up to [`MAX_ACCEPT_BACKOFF`].
const FIRST_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between two failed accepts.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

impl MetricsListener {
    /// Binds `METRICS_HOST:METRICS_PORT`; `None` when metrics are off.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(
        settings: &MetricsSettings,
        metrics: &Metrics,
    ) -> anyhow::Result<Option<Self>> {
        if !metrics.is_enabled() {
            return Ok(None);
        }
        let listener = listen::bind(&settings.host.to_string(), settings.port)
            .and_then(TcpListener::from_std)
            .with_context(|| {
                format!(
                    "could not listen on {}:{} for /metrics; set METRICS_HOST and METRICS_PORT to a free local address",
                    settings.host, settings.port
                )
            })?;
        Ok(Some(Self {
            listener,
            metrics: metrics.clone(),
            slots: Arc::new(Semaphore::new(settings.max_connections)),
            timeout: settings.timeout,
        }))
    }

    /// The bound address, with the real port when `METRICS_PORT=0`.
    ///
    /// # Errors
    /// When the socket cannot tell (it can, once bound).
    pub fn address(&self) -> anyhow::Result<SocketAddr> {
        self.listener
            .local_addr()
            .context("could not read the metrics listener's address")
    }

    /// Answers scrapes until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        if let Ok(address) = self.address() {
            tracing::info!(%address, "serving metrics on http://{address}/metrics");
        }
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = FIRST_ACCEPT_BACKOFF;
        loop {
            // A free slot first, then accept: past the limit, connections wait in the
            // kernel's backlog instead of costing a file descriptor each.
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = self.slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let stream = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        backoff = FIRST_ACCEPT_BACKOFF;
                        stream
                    }
                    // Out of file descriptors, say: retrying at once would fail again at
                    // once, at full speed. Wait, longer each time, for some to be freed.
                    Err(error) => {
                        tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "could not accept a metrics connection");
                        tokio::select! {
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                        continue;
                    }
                },
            };
            let metrics = self.metrics.clone();
            let timeout = self.timeout;
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let response = respond(&metrics, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                if let Err(error) = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "metrics connection ended with an error");
                }
                drop(permit);
            });
        }
    }
}

/// The answer to one request.
fn respond(metrics: &Metrics, request: &Request<Incoming>) -> Response<String> {
    let text = |status: StatusCode, body: String| {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        response
    };
    if request.uri().path() != "/metrics" {
        return text(
            StatusCode::NOT_FOUND,
            "only /metrics is served here\n".to_owned(),
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET /metrics\n".to_owned(),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = text(StatusCode::OK, metrics.render().unwrap_or_default());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}
