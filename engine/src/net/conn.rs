//! Opening a worker's connection (DNS, TCP, a CONNECT tunnel for https through `-x`, TLS for
//! https, HTTP/1.1 or HTTP/2 handshake) and sorting failures into `ErrorKind`s.
//!
//! The socket is wrapped so that each write stamps the time into an atomic, which is how the
//! request-write phase is measured without hyper exposing it.
//!
//! An HTTP/1.1 connection is driven by the task that uses it ([`Driver`]), not by a task of its
//! own: hyper's usual split (a sender, plus the connection spawned) hands every request and
//! response across tasks through a channel and two wake-ups, which was most of loadgen's user
//! time next to wrk's single event loop.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::failure::{ErrorKind, classify_hyper, classify_io};
use crate::net::h1;
use crate::plan::{Protocol, Target};

pub type Body = Full<Bytes>;

/// A ready-to-use connection to one target. Futures of `sender` make progress only inside
/// `driver.run(..)`.
pub struct TargetConn {
    pub sender: Sender,
    pub driver: Driver,
    /// Nanoseconds after `epoch` of the last completed socket write.
    pub last_write: Arc<AtomicU64>,
}

pub enum Sender {
    H1(http1::SendRequest<Body>),
    H2(http2::SendRequest<Body>),
    /// loadgen's own HTTP/1.1 client, for the load itself (see `h1`).
    Lean(h1::Conn),
}

/// Which HTTP/1.1 client a connection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// hyper's: journeys and the phase client, which want `http` types and rarely send.
    Hyper,
    /// `h1`: the load's hot path.
    Lean,
}

impl Sender {
    /// Whether the connection can take another request (false once the peer closed it).
    pub async fn ready(&mut self) -> bool {
        match self {
            Sender::H1(s) => s.ready().await.is_ok(),
            Sender::H2(s) => s.ready().await.is_ok(),
            Sender::Lean(c) => c.is_ready(),
        }
    }

    /// Sends a request through hyper. Lean connections take requests through `h1::Conn`
    /// instead; they are opened only by the load's workers, which never call this.
    pub async fn send(
        &mut self,
        req: http::Request<Body>,
    ) -> Result<http::Response<hyper::body::Incoming>, ErrorKind> {
        let sent = match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
            Sender::Lean(_) => return Err(ErrorKind::Protocol),
        };
        sent.map_err(|e| classify_hyper(&e))
    }
}

/// What one request through hyper came back with.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The `Location` header, for redirects.
    pub location: Option<String>,
    /// When the response head arrived.
    pub head_at: Instant,
    /// Body bytes received.
    pub body_bytes: u64,
    /// The body itself, when asked for (the phase client reads it; the load only counts it).
    pub body: Option<Vec<u8>>,
    /// The body kept was longer than asked for: reading stopped there (and the connection, in
    /// the middle of a message, cannot be reused).
    pub truncated: bool,
}

/// The one hyper exchange, for the load's HTTP/2 requests, journeys and the phase client: sends
/// `req` on `conn`, drives the connection meanwhile, and reads the whole response. With
/// `keep_body`, up to that many body bytes are kept; a longer body stops the read there
/// (`truncated`), so an endless answer costs that much memory and no more.
pub async fn exchange(
    conn: &mut TargetConn,
    req: http::Request<Body>,
    keep_body: Option<usize>,
) -> Result<Reply, ErrorKind> {
    let TargetConn { sender, driver, .. } = conn;
    driver
        .run(async {
            let resp = sender.send(req).await?;
            let head_at = Instant::now();
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            let mut incoming = resp.into_body();
            let mut body_bytes = 0u64;
            let mut body = keep_body.map(|_| Vec::new());
            let mut truncated = false;
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(|e| classify_hyper(&e))?;
                if let Some(d) = frame.data_ref() {
                    body_bytes += d.len() as u64;
                    if let (Some(b), Some(max)) = (&mut body, keep_body) {
                        let room = max - b.len();
                        b.extend_from_slice(&d[..d.len().min(room)]);
                        if d.len() > room {
                            truncated = true;
                            break;
                        }
                    }
                }
            }
            Ok(Reply {
                status,
                location,
                head_at,
                body_bytes,
                body,
                truncated,
            })
        })
        .await
}

/// The connection's I/O, polled by whoever awaits one of its requests. Dropping it closes the
/// connection. HTTP/2 connections run as their own task (streams are multiplexed, and hyper
/// spawns per-stream work anyway), so their driver is empty.
pub struct Driver(Option<Pin<Box<dyn Future<Output = ()> + Send>>>);

impl Driver {
    /// Awaits `f` (a request on this connection, or reading its response) while driving the
    /// connection in the same task.
    pub async fn run<F: Future>(&mut self, f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = f.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            let Some(conn) = self.0.as_mut() else {
                return Poll::Pending;
            };
            if conn.as_mut().poll(cx).is_ready() {
                // Closed: the sender's pending futures now fail, which `f` reports.
                self.0 = None;
            }
            // The connection may just have delivered what `f` waits for: look again now
            // rather than after a self-inflicted wake-up.
            f.as_mut().poll(cx)
        })
        .await
    }
}

/// The connection in `slot`, opened first when there is none or the peer has closed it since
/// its last use. Also answers what opening cost, when it had to be opened.
pub async fn reuse_or_open<'a>(
    slot: &'a mut Option<TargetConn>,
    target: &Target,
    protocol: Protocol,
    engine: Engine,
    tls: Option<&TlsConnector>,
    epoch: Instant,
) -> Result<(&'a mut TargetConn, Option<DialTimes>), ErrorKind> {
    if let Some(c) = slot.as_mut() {
        if !c.driver.run(c.sender.ready()).await {
            *slot = None;
        }
    }
    let mut dial = None;
    if slot.is_none() {
        // Boxed: opening (DNS, TLS) is a large future that would otherwise be part of, and be
        // moved with, every request's future.
        let (c, d) = Box::pin(open(target, protocol, engine, tls, epoch)).await?;
        *slot = Some(c);
        dial = Some(d);
    }
    Ok((slot.as_mut().expect("just filled"), dial))
}

/// What opening a connection cost, for hey's DNS+dialup and DNS-lookup stages.
#[derive(Debug, Clone, Copy, Default)]
pub struct DialTimes {
    pub dns: Duration,
    pub dns_dialup: Duration,
}

/// Resolves, connects and handshakes. The connection ends when the `TargetConn` is dropped.
pub async fn open(
    target: &Target,
    protocol: Protocol,
    engine: Engine,
    tls: Option<&TlsConnector>,
    epoch: Instant,
) -> Result<(TargetConn, DialTimes), ErrorKind> {
    let t0 = Instant::now();
    let addrs: Vec<std::net::SocketAddr> = match target.host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![(ip, target.port).into()],
        Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|_| ErrorKind::Dns)?
            .collect(),
    };
    let dns = t0.elapsed();
    let mut last = ErrorKind::Dns;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = classify_io(&e, ErrorKind::Connect),
        }
    }
    let mut stream = stream.ok_or(last)?;
    if let Some(authority) = &target.tunnel {
        tunnel(&mut stream, authority).await?;
    }
    // Small request/response exchanges: Nagle would add delay to every one.
    let _ = stream.set_nodelay(true);
    let last_write = Arc::new(AtomicU64::new(0));
    if engine == Engine::Lean && protocol == Protocol::Http1 {
        // The lean client times its own writes, so the stream goes unwrapped.
        let io: Box<dyn h1::Io> = match (&target.tls_name, tls) {
            (Some(name), Some(tls)) => Box::new(
                tls.connect(name.clone(), stream)
                    .await
                    .map_err(|e| classify_io(&e, ErrorKind::Tls))?,
            ),
            (Some(_), None) => return Err(ErrorKind::Tls),
            (None, _) => Box::new(stream),
        };
        let conn = TargetConn {
            sender: Sender::Lean(h1::Conn::new(io)),
            driver: Driver(None),
            last_write,
        };
        let dns_dialup = t0.elapsed();
        return Ok((conn, DialTimes { dns, dns_dialup }));
    }
    let io = TimedIo {
        inner: stream,
        epoch,
        last_write: last_write.clone(),
    };
    let (sender, driver) = match (&target.tls_name, tls) {
        (Some(name), Some(tls)) => {
            let stream = tls
                .connect(name.clone(), io)
                .await
                .map_err(|e| classify_io(&e, ErrorKind::Tls))?;
            handshake(TokioIo::new(stream), protocol).await?
        }
        (Some(_), None) => return Err(ErrorKind::Tls),
        (None, _) => handshake(TokioIo::new(io), protocol).await?,
    };
    let dns_dialup = t0.elapsed();
    let conn = TargetConn {
        sender,
        driver,
        last_write,
    };
    Ok((conn, DialTimes { dns, dns_dialup }))
}

/// Asks an HTTP proxy to open a tunnel (`CONNECT`) to `authority`, for https through `-x`.
async fn tunnel(stream: &mut TcpStream, authority: &str) -> Result<(), ErrorKind> {
    let connect = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    let io_err = |e: io::Error| classify_io(&e, ErrorKind::Connect);
    stream.write_all(connect.as_bytes()).await.map_err(io_err)?;
    // The proxy says nothing after its reply until the TLS client speaks, so reading up to the
    // blank line cannot swallow any of the tunnel's bytes.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.map_err(io_err)?;
        if n == 0 || head.len() + n > 8192 {
            return Err(ErrorKind::Connect);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let ok = head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200");
    if ok { Ok(()) } else { Err(ErrorKind::Connect) }
}

/// Starts HTTP on an open stream (plain or TLS).
async fn handshake<I>(io: I, protocol: Protocol) -> Result<(Sender, Driver), ErrorKind>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    Ok(match protocol {
        Protocol::Http1 => {
            let (sender, conn) = http1::handshake(io).await.map_err(|e| classify_hyper(&e))?;
            // The outcome surfaces through the sender's futures; a closed connection is all
            // the driver has to say.
            let conn = async move {
                let _ = conn.await;
            };
            (Sender::H1(sender), Driver(Some(Box::pin(conn))))
        }
        Protocol::Http2 => {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| classify_hyper(&e))?;
            tokio::spawn(conn);
            (Sender::H2(sender), Driver(None))
        }
    })
}

/// A TCP stream that records when its last write completed.
struct TimedIo {
    inner: TcpStream,
    epoch: Instant,
    last_write: Arc<AtomicU64>,
}

impl TimedIo {
    fn stamp(&self) {
        let ns = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_write.store(ns, Ordering::Relaxed);
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(_))) {
            self.stamp();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(_))) {
            self.stamp();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
