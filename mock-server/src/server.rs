//! The accept loop: HTTP/1.1 and h2c on every connection, limits against hostile clients, and a
//! bounded graceful drain.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Duration, timeout};

use crate::app::{App, Outcome};
use crate::config::Config;

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
    let grace = config.shutdown_grace;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let graceful = GracefulShutdown::new();
    // Flipped when the grace period runs out: connections still open then are dropped, so an
    // injected wait of minutes cannot hold the process.
    let (hard_stop, hard_stopped) = watch::channel(false);
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
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let mut hard_stopped = hard_stopped.clone();
        let header_read_timeout = config.header_read_timeout;
        tokio::spawn(async move {
            let open = app.metrics().connections_open.clone();
            open.inc();
            // hyper's header timer starts with the first byte; a client that connects and sends
            // nothing would hold its slot forever, so it gets the same deadline for that byte.
            let mut first = [0u8; 1];
            if let Ok(Ok(1..)) = timeout(header_read_timeout, stream.peek(&mut first)).await {
                let reset = Arc::new(AtomicBool::new(false));
                let io = FaultIo {
                    stream,
                    reset: reset.clone(),
                };
                let service = service_fn(move |req| {
                    let (app, reset) = (app.clone(), reset.clone());
                    async move {
                        match app.handle(req).await {
                            Outcome::Respond(response) => Ok(response),
                            Outcome::Abort { reset: hard } => {
                                reset.fetch_or(hard, Ordering::Relaxed);
                                Err(Aborted)
                            }
                        }
                    }
                });
                let conn = watcher.watch(
                    builder
                        .serve_connection(TokioIo::new(io), service)
                        .into_owned(),
                );
                tokio::select! {
                    result = conn => if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    },
                    _ = hard_stopped.wait_for(|stop| *stop) => {}
                }
            }
            open.dec();
            drop(slot);
        });
    }
    app.set_ready(false);
    drop(listener);
    let open = graceful.count();
    tracing::info!(open_connections = open, grace = ?grace, "shutting down: draining");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained; bye"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace = ?grace, "grace period over; closing the connections still open");
            let _ = hard_stop.send(true);
        }
    }
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

/// The client connection, able to end with a reset when a fault asks for one.
struct FaultIo {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for FaultIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            // A zero linger makes close() send RST at once; only a non-zero linger can block,
            // which is why tokio deprecates the setter.
            #[allow(deprecated)]
            let _ = self.stream.set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
