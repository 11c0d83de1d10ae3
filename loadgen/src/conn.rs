//! Opening a worker's connection (DNS, TCP, a CONNECT tunnel for https through `-x`, TLS for
//! https, HTTP/1.1 or HTTP/2 handshake) and sorting failures into `ErrorKind`s.
//!
//! The socket is wrapped so that each write stamps the time into an atomic, which is how the
//! request-write phase is measured without hyper exposing it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::plan::{Protocol, Target};
use crate::stats::ErrorKind;

pub type Body = Full<Bytes>;

/// A ready-to-use connection to one target.
pub struct Conn {
    pub sender: Sender,
    /// Nanoseconds after `epoch` of the last completed socket write.
    pub last_write: Arc<AtomicU64>,
}

pub enum Sender {
    H1(http1::SendRequest<Body>),
    H2(http2::SendRequest<Body>),
}

impl Sender {
    /// Whether the connection can take another request (false once the peer closed it).
    pub async fn ready(&mut self) -> bool {
        match self {
            Sender::H1(s) => s.ready().await.is_ok(),
            Sender::H2(s) => s.ready().await.is_ok(),
        }
    }

    pub async fn send(
        &mut self,
        req: http::Request<Body>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper::Error> {
        match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
        }
    }
}

/// What opening a connection cost, for hey's DNS+dialup and DNS-lookup phases.
#[derive(Debug, Clone, Copy, Default)]
pub struct DialTimes {
    pub dns: Duration,
    pub dns_dialup: Duration,
}

/// Resolves, connects and handshakes. The connection's driver runs as its own task and ends when
/// the `Conn` is dropped.
pub async fn open(
    target: &Target,
    protocol: Protocol,
    tls: Option<&TlsConnector>,
    epoch: Instant,
) -> Result<(Conn, DialTimes), ErrorKind> {
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
    let io = TimedIo {
        inner: stream,
        epoch,
        last_write: last_write.clone(),
    };
    let sender = match (&target.tls_name, tls) {
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
    Ok((Conn { sender, last_write }, DialTimes { dns, dns_dialup }))
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

/// Starts HTTP on an open stream (plain or TLS); the connection's driver becomes a task.
async fn handshake<I>(io: I, protocol: Protocol) -> Result<Sender, ErrorKind>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    Ok(match protocol {
        Protocol::Http1 => {
            let (sender, conn) = http1::handshake(io).await.map_err(|e| classify_hyper(&e))?;
            tokio::spawn(conn);
            Sender::H1(sender)
        }
        Protocol::Http2 => {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| classify_hyper(&e))?;
            tokio::spawn(conn);
            Sender::H2(sender)
        }
    })
}

/// Sorts an I/O error; `otherwise` is the kind for errors that say nothing more specific.
pub fn classify_io(e: &io::Error, otherwise: ErrorKind) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
        _ => otherwise,
    }
}

/// Sorts a hyper error by what it says and, failing that, by the I/O error beneath it.
pub fn classify_hyper(e: &hyper::Error) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout;
    }
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() || e.is_user() {
        return ErrorKind::Protocol;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return classify_io(io, ErrorKind::Reset);
        }
        source = s.source();
    }
    if e.is_canceled() || e.is_closed() || e.is_incomplete_message() || e.is_body_write_aborted() {
        return ErrorKind::Reset;
    }
    ErrorKind::Protocol
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
