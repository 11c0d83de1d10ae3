//! The accept loop: HTTP/1.1 and h2c on every connection, limits against hostile clients, and a
//! bounded graceful drain.
//!
//! Per-request cost matters here (`bench/run` holds record mode to 85% of a bare hyper server),
//! so the common case takes the cheapest path: a connection that cannot be h2c is served by
//! hyper's HTTP/1 connection directly, and its request-head deadline is checked by [`ConnIo`] a
//! few times per timeout instead of hyper arming (and allocating) a timer for every request.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::Response;
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::coop::unconstrained;
use tokio::time::{Duration, Instant, Sleep, timeout};

use crate::answer::fault::FaultBody;
use crate::app::{App, Begun, Outcome};
use crate::config::Config;
use crate::net::drain::{Connections, Tracked};

/// How long, at the start of a drain, open connections stay open to serve what reaches them
/// before the idle ones are closed (never longer than the grace period).
const LINGER: Duration = Duration::from_millis(500);

/// Request heads (request line and headers) larger than this get a 431.
const MAX_HEAD_BYTES: usize = 32 * 1024;

/// The whole answer to a connection over the cap: no parsing, no task beyond a short drain.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 32\r\nretry-after: 1\r\nconnection: close\r\n\r\n{\"error\":\"too many connections\"}";

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish for at most the grace period, and closes whatever is still open.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
    config: &Config,
) {
    let head_timeout = config.header_read_timeout;
    let builders = Arc::new(Builders::new(head_timeout));
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let connections = Connections::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            app.metrics().connections_rejected.inc();
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            app.clone(),
            builders.clone(),
            head_timeout,
            slot,
            connections.track(),
        ));
    }
    app.set_ready(false);
    drop(listener);
    drain(&connections, config.shutdown_grace).await;
}

/// The connection builders every connection shares, set up once.
struct Builders {
    h1: http1::Builder,
    auto: auto::Builder<TokioExecutor>,
}

impl Builders {
    /// HTTP/1 with [`ConnIo`]'s head deadline, and hyper-util's auto (HTTP/1 or h2c) with its own.
    fn new(head_timeout: Duration) -> Builders {
        // HTTP/1 only: the head deadline is ConnIo's, so hyper arms no timer per request. The read
        // buffer's cap alone is not a hard limit (one read can take it past the cap and complete
        // the head), so the head size is capped as well.
        let mut h1 = http1::Builder::new();
        // Half-close: a client that sends its request and shuts its write side (`nc -N`,
        // `socat`) still reads the answer; without it hyper closes at the EOF, unanswered.
        h1.header_read_timeout(None)
            .half_close(true)
            .max_buf_size(MAX_HEAD_BYTES)
            .max_header_size(MAX_HEAD_BYTES);
        // Connections that may be h2c: hyper-util tells the versions apart and keeps its own timer.
        let mut auto = auto::Builder::new(TokioExecutor::new());
        auto.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(head_timeout)
            .half_close(true)
            .max_buf_size(MAX_HEAD_BYTES);
        auto.http2()
            .timer(TokioTimer::new())
            .max_header_list_size(MAX_HEAD_BYTES as u32);
        Builders { h1, auto }
    }
}

/// Serves one accepted connection to its end, holding its slot under the cap until then.
async fn connection(
    stream: TcpStream,
    app: Arc<App>,
    builders: Arc<Builders>,
    head_timeout: Duration,
    slot: OwnedSemaphorePermit,
    mut tracked: Tracked,
) {
    let open = app.metrics().connections_open.clone();
    open.inc();
    // The head deadline starts with the first byte; a client that connects and sends
    // nothing would hold its slot forever, so it gets the same deadline for that byte.
    let mut first = [0u8; 2];
    if let Ok(Ok(n @ 1..)) = timeout(head_timeout, stream.peek(&mut first)).await {
        // Only h2c's preface ("PRI * HTTP/2.0") starts with "PR"; a lone "P" is unknown.
        let maybe_h2 = first[0] == b'P' && (n < 2 || first[1] == b'R');
        let state = Arc::new(ConnState {
            app,
            reset: AtomicBool::new(false),
            head: AtomicU64::new(AWAITING),
        });
        // A possible h2c connection gets the watchdog too, until its first request
        // head: `P`, `PR` or a whole preface followed by silence would otherwise hold
        // a slot for ever (hyper-util's timer starts only once it knows the version).
        let io = ConnIo {
            stream,
            watchdog: Some(Watchdog::new(head_timeout)),
            first_head_only: maybe_h2,
            write_stall: None,
            write_timeout: head_timeout,
            state: state.clone(),
        };
        let service = service_fn(move |req| {
            state.head_received();
            match state.app.begin(req) {
                Begun::Done(outcome) => Answer::Now(Some(state.reply(outcome))),
                Begun::Later(later) => {
                    let state = state.clone();
                    Answer::Later(Box::pin(async move {
                        let outcome = state.app.finish(later).await;
                        state.reply(outcome)
                    }))
                }
            }
        });
        let io = TokioIo::new(io);
        let Builders { h1, auto } = &*builders;
        let ended = if maybe_h2 {
            tracked
                .serve(auto.serve_connection(io, service))
                .await
                .map(|r| r.map_err(|e| e.to_string()))
        } else {
            tracked
                .serve(h1.serve_connection(io, service))
                .await
                .map(|r| r.map_err(|e| e.to_string()))
        };
        if let Some(Err(e)) = ended {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }
    open.dec();
    drop(slot);
    drop(tracked);
}

/// The bounded drain: a short linger for requests already on their way, then idle connections
/// close, and at the end of the grace period whatever is still open is closed.
async fn drain(connections: &Connections, grace: Duration) {
    tracing::info!(open_connections = connections.count(), grace = ?grace, "shutting down: draining");
    let deadline = Instant::now() + grace;
    // A request already on its way over an open keep-alive connection is answered (`/readyz`
    // with a 503, every answer with `connection: close`) rather than met by a closed socket.
    connections.close();
    let drained = tokio::select! {
        () = connections.closed() => true,
        () = tokio::time::sleep(LINGER.min(grace)) => false,
    };
    if !drained {
        connections.drain();
        tokio::select! {
            () = connections.closed() => {}
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!(grace = ?grace, "grace period over; closing the connections still open");
                connections.stop();
                return;
            }
        }
    }
    tracing::info!("drained; bye");
}

/// Answers a connection over the cap with a 503 and closes it, reading briefly first so the
/// kernel does not reset the connection before the client has read the answer.
async fn refuse(mut stream: TcpStream) {
    let _ = timeout(Duration::from_secs(1), stream.write_all(TOO_MANY)).await;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = timeout(Duration::from_millis(200), stream.read(&mut sink)).await;
}

/// The error a service returns to make hyper drop the connection for an injected fault.
#[derive(Debug, thiserror::Error)]
#[error("fault injected: connection aborted")]
struct Aborted;

/// Set in [`ConnState::head`] while the connection waits for a request head; the bits above
/// count the waits, so two checks that see the same value saw one and the same wait.
const AWAITING: u64 = 1;

/// A connection's state, shared by its service and its [`ConnIo`] (they run on one task, so the
/// atomics are only there to make the state `Sync`).
struct ConnState {
    app: Arc<App>,
    /// Whether the connection must end with a reset (RST) when it closes.
    reset: AtomicBool,
    head: AtomicU64,
}

impl ConnState {
    /// A whole request head arrived: the head deadline no longer applies.
    fn head_received(&self) {
        let head = self.head.load(Ordering::Relaxed);
        self.head.store(head & !AWAITING, Ordering::Relaxed);
    }

    /// What hyper is to do with the app's outcome.
    fn reply(self: &Arc<Self>, outcome: Outcome) -> Result<Reply, Aborted> {
        match outcome {
            Outcome::Respond(response) => Ok(response.map(|body| match body {
                Either::Left(full) => {
                    self.answered();
                    Either::Left(full)
                }
                Either::Right(fault) => Either::Right(EndsAnswer {
                    body: fault,
                    state: self.clone(),
                }),
            })),
            Outcome::Abort { reset } => {
                self.reset.fetch_or(reset, Ordering::Relaxed);
                Err(Aborted)
            }
        }
    }

    /// The answer is in hyper's hands: the wait for the next head starts.
    fn answered(&self) {
        let head = self.head.load(Ordering::Relaxed);
        self.head
            .store(((head >> 1) + 1) << 1 | AWAITING, Ordering::Relaxed);
    }
}

type Reply = Response<Either<Full<Bytes>, EndsAnswer>>;

/// The service's future. Most answers are ready when the service is called, so they need no
/// allocation and no state machine; the rest (request bodies, sleep mode, hangs) are boxed.
enum Answer {
    Now(Option<Result<Reply, Aborted>>),
    Later(Pin<Box<dyn Future<Output = Result<Reply, Aborted>> + Send>>),
}

impl Future for Answer {
    type Output = Result<Reply, Aborted>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            // hyper never polls a finished future; if it did, closing is the safe answer.
            Answer::Now(reply) => Poll::Ready(reply.take().unwrap_or(Err(Aborted))),
            Answer::Later(later) => later.as_mut().poll(cx),
        }
    }
}

/// A fault body (it may trickle out for longer than the head timeout) that starts the wait for
/// the next head only once hyper is done with it.
struct EndsAnswer {
    body: FaultBody,
    state: Arc<ConnState>,
}

impl Drop for EndsAnswer {
    fn drop(&mut self) {
        self.state.answered();
    }
}

impl Body for EndsAnswer {
    type Data = Bytes;
    type Error = <FaultBody as Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Checks per head timeout: a stalled head is closed 1 to 1.25 timeouts after its wait began.
const CHECKS: u32 = 4;

/// The request-head deadline (slowloris protection) without a timer per request: one sleep per
/// connection fires every quarter timeout, and the connection is closed when it has seen the
/// same unfinished wait at [`CHECKS`] checks in a row.
struct Watchdog {
    sleep: Pin<Box<Sleep>>,
    period: Duration,
    /// The [`ConnState::head`] value at the last check, and how many checks in a row saw it.
    seen: u64,
    checks: u32,
    /// The waker the sleep was last polled with.
    armed: Option<Waker>,
}

impl Watchdog {
    fn new(head_timeout: Duration) -> Watchdog {
        let period = head_timeout / CHECKS;
        Watchdog {
            sleep: Box::pin(tokio::time::sleep(period)),
            period,
            seen: u64::MAX,
            checks: 0,
            armed: None,
        }
    }

    /// Whether the head being waited for (if any) is overdue; registers for the next check.
    fn overdue(&mut self, cx: &mut Context<'_>, head: u64) -> bool {
        if head & AWAITING == 0 {
            return false;
        }
        // Once the sleep holds this task's waker it wakes the task when it fires: until then
        // there is nothing to check, and a poll would cost more than the rest of this wrapper.
        if self.armed.as_ref().is_some_and(|w| w.will_wake(cx.waker())) && !self.sleep.is_elapsed()
        {
            return false;
        }
        // Unconstrained: a poll refused for lack of cooperative budget would not register.
        while pin!(unconstrained(self.sleep.as_mut())).poll(cx).is_ready() {
            if head == self.seen {
                self.checks += 1;
                if self.checks >= CHECKS {
                    return true;
                }
            } else {
                self.seen = head;
                self.checks = 0;
            }
            self.sleep.as_mut().reset(Instant::now() + self.period);
        }
        self.armed = Some(cx.waker().clone());
        false
    }
}

/// The client connection: ends with a reset when a fault asks for one, and (HTTP/1 only) fails
/// a read that has waited for a request head past the deadline, which makes hyper close it.
struct ConnIo {
    stream: TcpStream,
    watchdog: Option<Watchdog>,
    /// The watchdog guards only the wait for the first head (connections that may be h2c: an
    /// HTTP/2 connection waits between its streams, and hyper-util times HTTP/1 itself).
    first_head_only: bool,
    /// Armed while a write waits for the client to read: a client that pipelines requests and
    /// never reads its answers would otherwise hold the connection once the send buffer fills.
    write_stall: Option<Pin<Box<Sleep>>>,
    write_timeout: Duration,
    state: Arc<ConnState>,
}

impl ConnIo {
    /// `poll` is a write's outcome: a write pending past the write timeout fails (hyper then
    /// closes the connection); progress disarms the deadline.
    fn write_deadline<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.write_stall = None;
            return poll;
        }
        let timeout = self.write_timeout;
        let stall = self
            .write_stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if pin!(unconstrained(stall.as_mut())).poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing of its answers within the header read timeout",
            )));
        }
        Poll::Pending
    }
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.state.reset.load(Ordering::Relaxed) {
            // A zero linger makes close() send RST at once; only a non-zero linger can block,
            // which is why tokio deprecates the setter.
            #[allow(deprecated)]
            let _ = self.stream.set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.first_head_only && this.state.head.load(Ordering::Relaxed) != AWAITING {
            // The first head has arrived (the state left its initial value): stand down.
            this.watchdog = None;
        }
        if read.is_pending() {
            if let Some(watchdog) = &mut this.watchdog {
                if watchdog.overdue(cx, this.state.head.load(Ordering::Relaxed)) {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head not received within the header read timeout",
                    )));
                }
            }
        }
        read
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.write_deadline(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.write_deadline(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.write_deadline(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
