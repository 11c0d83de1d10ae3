//! The load's HTTP/1.1 client: one request at a time on one connection, written in one write
//! and read straight out of one reused buffer, in the worker's own task.
//!
//! Why not hyper's client here: its split between a request sender and a connection task (a
//! channel, a oneshot and a body channel per request) and its building of a `HeaderMap` for
//! every response head cost ~4 µs of user CPU per request, five times wrk's; a load generator is
//! judged on load per core. Parsing stays with `httparse` (hyper's own parser); this module only
//! frames messages, after RFC 9112 section 6: no body for HEAD, 1xx, 204 and 304, then
//! `Transfer-Encoding: chunked`, then `Content-Length`, else until the server closes. HTTP/2,
//! journeys and the phase client keep using hyper.
//!
//! Why one file above 450 lines: it is one concern, framing one exchange over one reused read
//! buffer; the head parser, the body readers (length, chunked, until close) and the encoder all
//! work on that buffer's offsets, and a third of the file is their tests.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderMap, Method, Uri, header};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use crate::failure::{ErrorKind, classify_io};

/// A response head larger than this is refused (hyper's default read-buffer limit is ~400 KB;
/// no server we load sends heads near this size).
const MAX_HEAD: usize = 64 * 1024;
/// Headers parsed per response head (hyper's default is 100).
const MAX_HEADERS: usize = 100;
/// The read buffer's capacity: a typical answer (head and body) arrives in one read.
const BUF: usize = 16 * 1024;

/// Any stream a connection runs on: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One HTTP/1.1 connection.
pub struct Conn {
    io: Box<dyn Io>,
    /// Bytes read and not yet consumed are `buf[start..]`. Reads go into the spare capacity,
    /// which is never zeroed: pages no answer reached stay untouched, so 10,000 idle-ish
    /// connections cost little resident memory.
    buf: Vec<u8>,
    start: usize,
    /// Whether the last exchange left the connection able to carry another request.
    reusable: bool,
    /// Whether an exchange has completed on this connection: the next one reuses it.
    served: bool,
    /// The current exchange runs on a reused connection, and no byte of its answer has come:
    /// if it fails now, the server closed an idle keep-alive connection as the request went
    /// out, and the request can be resent (`closed_before_answer`).
    unanswered_reuse: bool,
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The `Location` of a redirect (3xx) answer; not copied out for other statuses.
    pub location: Option<String>,
    /// Body bytes, after removing chunked framing.
    pub body_bytes: u64,
    /// When the request was fully written, and when the response head had arrived.
    pub written_at: Instant,
    pub head_at: Instant,
}

impl Conn {
    pub fn new(io: Box<dyn Io>) -> Conn {
        Conn {
            io,
            buf: Vec::with_capacity(BUF),
            start: 0,
            reusable: true,
            served: false,
            unanswered_reuse: false,
        }
    }

    /// Whether the connection can take another request: the last answer allowed it, and the
    /// server has not closed it since (checked without waiting: a readable idle connection has
    /// either been closed or sent something unasked, and is not reused either way).
    pub fn is_ready(&mut self) -> bool {
        if !self.reusable || self.start != self.buf.len() {
            return false;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        self.buf.clear();
        self.start = 0;
        let mut probe = ReadBuf::uninit(self.buf.spare_capacity_mut());
        match Pin::new(&mut *self.io).poll_read(&mut cx, &mut probe) {
            Poll::Pending => true,
            Poll::Ready(_) => {
                self.reusable = false;
                false
            }
        }
    }

    /// After a failed `exchange`: the connection had served an answer before, and the server
    /// closed it before any byte of this one arrived. HTTP clients resend idempotent requests
    /// then (Go's transport, and so hey, does), since the server cannot have processed them.
    pub fn closed_before_answer(&self) -> bool {
        self.unanswered_reuse
    }

    /// Writes `request` (head and body, as made by [`encode`]) and reads the whole answer.
    /// `head_request` says the answer has no body whatever its headers say.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        head_request: bool,
    ) -> Result<Answer, ErrorKind> {
        self.reusable = false;
        self.unanswered_reuse = self.served;
        let io_err = |e: io::Error| classify_io(&e, ErrorKind::Reset);
        self.io.write_all(request).await.map_err(io_err)?;
        self.io.flush().await.map_err(io_err)?;
        let written_at = Instant::now();
        loop {
            let head = self.read_head().await?;
            // 1xx answers are interim (100 Continue, 103 Early Hints): the real one follows.
            // 101 would switch protocols, which a load generator never asks for.
            if (100..200).contains(&head.status) && head.status != 101 {
                continue;
            }
            let head_at = Instant::now();
            let no_body = head_request
                || (100..200).contains(&head.status)
                || head.status == 204
                || head.status == 304;
            let (body_bytes, delimited) = match head.framing {
                _ if no_body => (0, true),
                Framing::Chunked => (self.read_chunked().await?, true),
                Framing::Length(n) => (self.read_exact_body(n).await?, true),
                Framing::Close => (self.read_to_close().await?, false),
            };
            self.reusable = delimited && head.keep_alive && self.start == self.buf.len();
            self.served = true;
            return Ok(Answer {
                status: head.status,
                location: head.location,
                body_bytes,
                written_at,
                head_at,
            });
        }
    }

    /// Reads more bytes onto the end of `buf`, first dropping what was consumed when there is
    /// no room left. `Ok(0)` is EOF.
    async fn fill(&mut self) -> Result<usize, ErrorKind> {
        if self.start == self.buf.len() {
            self.start = 0;
            self.buf.clear();
        } else if self.buf.len() == self.buf.capacity() {
            if self.start == 0 {
                return Err(ErrorKind::Protocol);
            }
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let n = self
            .io
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| classify_io(&e, ErrorKind::Reset))?;
        if n > 0 {
            self.unanswered_reuse = false;
        }
        Ok(n)
    }

    /// Reads more, treating EOF as a message cut short.
    async fn fill_more(&mut self) -> Result<(), ErrorKind> {
        match self.fill().await? {
            0 => Err(ErrorKind::Reset),
            _ => Ok(()),
        }
    }

    async fn read_head(&mut self) -> Result<Head, ErrorKind> {
        loop {
            if self.start < self.buf.len() {
                if let Some((len, head)) = parse_head(&self.buf[self.start..])? {
                    self.start += len;
                    return Ok(head);
                }
                let len = self.buf.len();
                if len - self.start >= MAX_HEAD {
                    return Err(ErrorKind::Protocol);
                }
                if len == self.buf.capacity() && self.start == 0 {
                    // A head longer than the buffer: grow it, up to MAX_HEAD.
                    self.buf.reserve_exact((len * 2).min(MAX_HEAD) - len);
                }
            }
            self.fill_more().await?;
        }
    }

    async fn read_exact_body(&mut self, mut remaining: u64) -> Result<u64, ErrorKind> {
        let total = remaining;
        loop {
            let have = (self.buf.len() - self.start) as u64;
            let take = have.min(remaining);
            self.start += take as usize;
            remaining -= take;
            if remaining == 0 {
                return Ok(total);
            }
            self.fill_more().await?;
        }
    }

    async fn read_to_close(&mut self) -> Result<u64, ErrorKind> {
        let mut total = (self.buf.len() - self.start) as u64;
        self.start = self.buf.len();
        loop {
            let n = self.fill().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            self.start = self.buf.len();
        }
    }

    async fn read_chunked(&mut self) -> Result<u64, ErrorKind> {
        let mut total = 0u64;
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..]) {
                    Ok(httparse::Status::Complete((len, size))) => {
                        self.start += len;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.fill_more().await?,
                    Err(_) => return Err(ErrorKind::Protocol),
                }
            };
            if size == 0 {
                return self.skip_trailers().await.map(|()| total);
            }
            total += size;
            // The chunk's data, then its CRLF.
            self.read_exact_body(size).await?;
            while self.buf.len() - self.start < 2 {
                self.fill_more().await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                return Err(ErrorKind::Protocol);
            }
            self.start += 2;
        }
    }

    /// Skips the trailer section after the last chunk, up to and including its empty line.
    async fn skip_trailers(&mut self) -> Result<(), ErrorKind> {
        loop {
            let pending = &self.buf[self.start..];
            match pending.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.start += 2;
                    return Ok(());
                }
                Some(line) => self.start += line + 2,
                None if pending.len() >= MAX_HEAD => return Err(ErrorKind::Protocol),
                None => self.fill_more().await?,
            }
        }
    }
}

/// How a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Chunked,
    Length(u64),
    Close,
}

#[derive(Debug)]
struct Head {
    status: u16,
    framing: Framing,
    keep_alive: bool,
    location: Option<String>,
}

/// Parses a response head at the start of `bytes`: its length and what it says, or `None` when
/// more bytes are needed.
fn parse_head(bytes: &[u8]) -> Result<Option<(usize, Head)>, ErrorKind> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorKind::Protocol),
    };
    let status = resp.code.ok_or(ErrorKind::Protocol)?;
    let http11 = resp.version == Some(1);
    let mut keep_alive = http11;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut encoded = false;
    let mut location = None;
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(ErrorKind::Protocol)?;
            // Repeated Content-Length headers must agree (RFC 9110 section 8.6).
            if length.is_some_and(|l| l != n) {
                return Err(ErrorKind::Protocol);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            encoded = true;
            // Only the last coding decides whether the message is chunked.
            chunked = h
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && !http11 {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"location") && (300..400).contains(&status) {
            location = std::str::from_utf8(h.value).ok().map(str::to_owned);
        }
    }
    let framing = match (encoded, chunked, length) {
        (true, true, _) => Framing::Chunked,
        // A coding other than chunked last: the body runs until the server closes.
        (true, false, _) => Framing::Close,
        (false, _, Some(n)) => Framing::Length(n),
        (false, _, None) => Framing::Close,
    };
    let head = Head {
        status,
        framing,
        keep_alive,
        location,
    };
    Ok(Some((len, head)))
}

/// Appends a request to `out`: request line, `headers` (without `Content-Length` when `body` is
/// empty, as hyper sends a GET), blank line, body.
pub fn encode(out: &mut Vec<u8>, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    // Origin form writes its path and query; absolute form (through a proxy) the whole URL.
    if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
        out.extend_from_slice(scheme.as_bytes());
        out.extend_from_slice(b"://");
        out.extend_from_slice(authority.as_str().as_bytes());
    }
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(if target.is_empty() {
        b"/"
    } else {
        target.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if body.is_empty() && name == header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8]) -> Head {
        parse_head(bytes).unwrap().unwrap().1
    }

    #[test]
    fn framing_follows_the_rfc_order() {
        let h = head(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), true));
        let h = head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
        );
        assert_eq!(h.framing, Framing::Chunked);
        let h = head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!(h.framing, Framing::Close);
        let h = head(b"HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Close, false));
        let h = head(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
        assert!(h.keep_alive);
        let h = head(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.keep_alive);
    }

    #[test]
    fn bad_heads_are_protocol_errors_and_short_ones_need_more() {
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-le"),
            Ok(None)
        ));
        for bad in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: five\r\n\r\n",
            b"NOT HTTP\r\n\r\n",
        ] {
            assert!(
                matches!(parse_head(bad), Err(ErrorKind::Protocol)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn location_is_kept_for_redirects_only() {
        let h = head(b"HTTP/1.1 302 Found\r\nLocation: /next\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(h.location.as_deref(), Some("/next"));
        let h = head(b"HTTP/1.1 201 Created\r\nLocation: /made\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(h.location, None);
    }

    #[test]
    fn requests_are_encoded_as_hyper_would() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "example.test:8080".parse().unwrap());
        headers.insert(header::CONTENT_LENGTH, "2".parse().unwrap());
        let mut out = Vec::new();
        encode(
            &mut out,
            &Method::POST,
            &"/a?b=1".parse().unwrap(),
            &headers,
            b"hi",
        );
        assert_eq!(
            out,
            b"POST /a?b=1 HTTP/1.1\r\nhost: example.test:8080\r\ncontent-length: 2\r\n\r\nhi"
        );
        out.clear();
        let proxied: Uri = "http://example.test:8080/x".parse().unwrap();
        encode(&mut out, &Method::GET, &proxied, &headers, b"");
        assert_eq!(
            out,
            b"GET http://example.test:8080/x HTTP/1.1\r\nhost: example.test:8080\r\n\r\n"
        );
    }

    /// Runs one exchange against canned server bytes, the server then keeping its end open
    /// (EOF matters only to close-delimited bodies) or closing it. Answers the outcome and
    /// whether the connection could carry another request.
    async fn answer(
        server: &'static [u8],
        head_request: bool,
        close: bool,
    ) -> (Result<Answer, ErrorKind>, bool) {
        let (client, mut server_end) = tokio::io::duplex(64);
        let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
        let server_task = tokio::spawn(async move {
            let mut req = [0u8; 256];
            let _ = server_end.read(&mut req).await;
            // Dribble the answer in small pieces so every parser state sees a partial read.
            for piece in server.chunks(7) {
                if server_end.write_all(piece).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            if !close {
                let _ = closed_rx.await;
            }
        });
        let mut conn = Conn::new(Box::new(client));
        let r = conn.exchange(b"GET / HTTP/1.1\r\n\r\n", head_request).await;
        if close {
            let _ = server_task.await;
        }
        let ready = conn.is_ready();
        drop(closed_tx);
        (r, ready)
    }

    #[tokio::test]
    async fn bodies_are_counted_whatever_their_framing() {
        let length = b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world";
        let (r, ready) = answer(length, false, false).await;
        assert_eq!((r.unwrap().body_bytes, ready), (11, true));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\ntrailer: 1\r\n\r\n";
        let (r, ready) = answer(chunked, false, false).await;
        assert_eq!((r.unwrap().body_bytes, ready), (11, true));
        let interim =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\ncontent-length: 3\r\n\r\n";
        let (r, ready) = answer(interim, false, false).await;
        let a = r.unwrap();
        assert_eq!((a.status, a.body_bytes, ready), (204, 0, true));
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n";
        let (r, ready) = answer(head, true, false).await;
        assert_eq!((r.unwrap().body_bytes, ready), (0, true));
    }

    #[tokio::test]
    async fn a_body_cut_short_is_a_reset() {
        let short = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this";
        let (r, ready) = answer(short, false, true).await;
        assert_eq!((r.unwrap_err(), ready), (ErrorKind::Reset, false));
    }

    #[tokio::test]
    async fn a_close_delimited_body_ends_at_eof_and_the_connection_is_spent() {
        let (r, ready) = answer(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", false, true).await;
        assert_eq!((r.unwrap().body_bytes, ready), (13, false));
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_not_reused() {
        let length = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        let (r, ready) = answer(length, false, true).await;
        assert_eq!((r.unwrap().status, ready), (200, false));
    }
}
