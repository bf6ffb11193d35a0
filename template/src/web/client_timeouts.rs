//! Time limits on slow clients, for every request of a connection, not only the first.
//!
//! actix-web bounds the head of a connection's first request and the idle time between
//! requests, but once a byte of a later request has arrived nothing bounds the rest:
//! a client that sends one byte every half minute holds its connection (and a file
//! descriptor) for ever, and a few thousand such clients exhaust the process's limit.
//! Bodies have no bound at all. Here:
//!
//! - [`TimedStream`] wraps each accepted socket. Reading a byte while no request is in
//!   the app starts the head deadline (`APP_REQUEST_HEAD_TIMEOUT_MS`); when it passes
//!   before the head reaches the app, the next read fails and actix closes the
//!   connection. After each response the deadline becomes the keep-alive time plus the
//!   head time, so bytes left in actix's buffer cannot hold the connection either.
//! - [`request_started`], the outermost middleware, tells the stream that the head has
//!   arrived, and gives the body its own deadline (`APP_REQUEST_BODY_TIMEOUT_MS`): a body
//!   still incomplete by then ends in an I/O error of kind `TimedOut`, which the JSON
//!   extractor answers with 408 and a closed connection (`web::errors`).
//!
//! The clock the two share ([`ConnectionClock`]) lives in the connection's data, which
//! actix keeps per connection on one worker thread: a `Cell` is enough.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::rt::net::TcpStream;
use actix_web::web::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The limits, from `APP_*`.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// `APP_REQUEST_HEAD_TIMEOUT_MS`: from a request's first byte to its complete head.
    pub head: Duration,
    /// `APP_REQUEST_BODY_TIMEOUT_MS`: from the complete head to the complete body.
    pub body: Duration,
    /// `APP_KEEP_ALIVE_MS`: idle time between requests (actix closes the connection).
    pub keep_alive: Duration,
}

/// What a connection's stream and its requests share.
#[derive(Debug)]
pub struct ConnectionClock {
    /// Whether a request's head has reached the app and its response is not written yet.
    in_app: Cell<bool>,
    /// `APP_REQUEST_BODY_TIMEOUT_MS`, for [`request_started`].
    body_timeout: Duration,
}

/// An accepted socket whose reads fail once a request head is overdue.
pub struct TimedStream {
    /// The socket.
    io: TcpStream,
    /// Shared with the connection's requests, through the connection data.
    clock: Rc<ConnectionClock>,
    /// The limits.
    timeouts: ClientTimeouts,
    /// When the current request head is due; checked while no request is in the app.
    deadline: Pin<Box<Sleep>>,
}

impl TimedStream {
    /// Wraps a socket just accepted: its first request head is due within the head time.
    pub fn new(io: TcpStream, timeouts: ClientTimeouts) -> Self {
        Self {
            io,
            clock: Rc::new(ConnectionClock {
                in_app: Cell::new(false),
                body_timeout: timeouts.body,
            }),
            timeouts,
            deadline: Box::pin(tokio::time::sleep(timeouts.head)),
        }
    }

    /// The clock to put in the connection's data, for [`request_started`].
    pub fn clock(&self) -> Rc<ConnectionClock> {
        Rc::clone(&self.clock)
    }

    /// Moves the deadline to `within` from now, unless it is due sooner already.
    fn due_within(&mut self, within: Duration) {
        let due = Instant::now() + within;
        if due < self.deadline.deadline() {
            self.deadline.as_mut().reset(due);
        }
    }
}

impl AsyncRead for TimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        if this.clock.in_app.get() {
            // The app has the request; the body has its own deadline.
            return poll;
        }
        match poll {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                // A byte of a request head: the rest is due within the head time.
                this.due_within(this.timeouts.head);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request head did not arrive within APP_REQUEST_HEAD_TIMEOUT_MS",
                )))
            }
            other => other,
        }
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.clock.in_app.replace(false) {
            // A response: the next request may start after the keep-alive time at the
            // latest, and its head is due the head time after that.
            let due = Instant::now() + this.timeouts.keep_alive + this.timeouts.head;
            this.deadline.as_mut().reset(due);
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Middleware, outermost: the request's head has arrived, so the connection's head
/// deadline stops, and the body gets its own.
pub async fn request_started(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let clock = request.conn_data::<Rc<ConnectionClock>>().cloned();
    if let Some(clock) = clock {
        clock.in_app.set(true);
        let body = request.take_payload();
        if matches!(body, Payload::None) {
            request.set_payload(body);
        } else {
            let timed = BodyDeadline {
                body,
                deadline: Box::pin(tokio::time::sleep(clock.body_timeout)),
            };
            request.set_payload(Payload::Stream {
                payload: Box::pin(timed),
            });
        }
    }
    next.call(request).await
}

/// A request body that fails with `TimedOut` once its deadline has passed.
struct BodyDeadline {
    /// The body as actix reads it.
    body: Payload,
    /// When the whole body is due.
    deadline: Pin<Box<Sleep>>,
}

impl Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_next(cx) {
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request body did not arrive within APP_REQUEST_BODY_TIMEOUT_MS",
                )))))
            }
            other => other,
        }
    }
}

/// Whether `error` is the one the body deadline ends a late body with.
pub fn is_body_timeout(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(error) if error.kind() == io::ErrorKind::TimedOut)
}
