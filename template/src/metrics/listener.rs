//! The `worker` mode's own `/metrics` listener on `METRICS_HOST:METRICS_PORT`: a worker
//! that runs without the web server still gets scraped. (`web --with-worker` serves one
//! `/metrics` on the web server instead.)
//!
//! hyper serves the HTTP: one route, `GET /metrics`; anything else gets a 404 or a 405.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{CONTENT_TYPE, Metrics};
use crate::settings::MetricsSettings;

/// A bound metrics listener, serving once [`MetricsListener::serve`] runs.
pub struct MetricsListener {
    /// The bound socket.
    listener: TcpListener,
    /// What `/metrics` renders.
    metrics: Metrics,
}

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
        let listener = TcpListener::bind((settings.host, settings.port))
            .await
            .with_context(|| {
                format!(
                    "could not listen on {}:{} for /metrics; set METRICS_HOST and METRICS_PORT to a free local address",
                    settings.host, settings.port
                )
            })?;
        Ok(Some(Self {
            listener,
            metrics: metrics.clone(),
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
        loop {
            let stream = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    // Out of file descriptors, say: the next scrape tries again.
                    Err(error) => {
                        tracing::warn!(%error, "could not accept a metrics connection");
                        continue;
                    }
                },
            };
            let metrics = self.metrics.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let response = respond(&metrics, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                if let Err(error) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "metrics connection ended with an error");
                }
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
