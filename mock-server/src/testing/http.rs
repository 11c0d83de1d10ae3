//! The one HTTP client of the test suites. Two ways in, one [`Answer`] out:
//!
//! - [`raw`] writes hand-made bytes (a [`request`], or anything else) on a fresh connection and
//!   reads to the end: for tests that say exactly what goes on the wire (a `host` that lies, no
//!   `host` at all, a header twice) and read the head exactly as it was sent. [`exchange`] reads
//!   one answer on a connection the test holds open, and [`complete`] says where an answer ends.
//! - [`call`] goes through hyper's client, with a deadline, for tests that only want answers;
//!   [`send`] does the same on a keep-alive [`client`] for suites that send many requests.

use std::net::SocketAddr;
use std::time::Duration;

use ::http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `content-type: application/json`, the header most calls carry.
pub const JSON: (&str, &str) = ("content-type", "application/json");

/// How long [`call`] and [`send`] wait for a whole answer: far past any answer a test expects,
/// so a hang fails with the URL instead of stalling the suite.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// An HTTP answer: its status (0 when there was no status line), head and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code, or 0 when the bytes began with no status line (nothing came back).
    pub status: u16,
    /// The status line and headers as text: as sent for [`raw`], rebuilt by [`call`].
    pub head: String,
    /// The headers, parsed (lines that are not a valid header are left out).
    pub headers: HeaderMap,
    /// The body as text, as framed on the wire (a chunked body keeps its chunk sizes).
    pub body: String,
}

impl Answer {
    /// Splits a raw answer into status, head and body.
    pub fn parse(bytes: &[u8]) -> Answer {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .strip_prefix("HTTP/")
            .and_then(|rest| rest.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                Some((
                    HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                    HeaderValue::from_str(value.trim()).ok()?,
                ))
            })
            .collect();
        Answer {
            status,
            head: head.to_owned(),
            headers,
            body: body.to_owned(),
        }
    }

    /// The body as JSON; panics, quoting it, when it is not.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "a {} answer is not JSON ({e}): {:?}",
                self.status, self.body
            )
        })
    }

    /// One header's value as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// `METHOD PATH HTTP/1.1` with `connection: close`, each of `headers` (`name: value`) and a
/// `content-length` for `body`. No `host` unless `headers` gives one.
pub fn request(method: &str, path: &str, headers: &[&str], body: &str) -> String {
    let mut req = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    req
}

/// Writes `request` on a fresh connection to `addr` and reads until the server closes it (an
/// answer with status 0 when nothing, or no status line, came back).
pub async fn try_raw(addr: SocketAddr, request: &str) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(request.as_bytes()).await?;
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).await?;
    Ok(Answer::parse(&bytes))
}

/// [`try_raw`], panicking on a connection error or when no status line came back.
pub async fn raw(addr: SocketAddr, request: &str) -> Answer {
    let answer = try_raw(addr, request)
        .await
        .unwrap_or_else(|e| panic!("{addr}: {e} ({request:?})"));
    assert_ne!(
        answer.status, 0,
        "{addr}: no status line in {:?} ({request:?})",
        answer.head
    );
    answer
}

/// The length of the first whole answer in `buf` (its head, and as many body bytes as its
/// `content-length` says), or `None` while it is still incomplete.
pub fn complete(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let length = String::from_utf8_lossy(&buf[..end])
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    (buf.len() >= end + 4 + length).then_some(end + 4 + length)
}

/// Writes `request` on `stream` and reads one answer (head and `content-length` body), leaving
/// the connection open; panics if the server closes it mid-answer.
pub async fn exchange(stream: &mut TcpStream, request: &str) -> Answer {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(length) = complete(&buf) {
            return Answer::parse(&buf[..length]);
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "connection closed mid-response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The hyper client [`send`] takes: keep-alive, `TCP_NODELAY`.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A keep-alive hyper client, for a suite that sends many requests.
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// One request on `client`, with `headers` and `body`; panics on a transport error or past
/// [`DEADLINE`].
pub async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let answer = async {
        let resp = client
            .request(req)
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"))
            .to_bytes();
        let mut head = format!("{:?} {}", parts.version, parts.status);
        for (name, value) in &parts.headers {
            head.push_str(&format!(
                "\r\n{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        Answer {
            status: parts.status.as_u16(),
            head,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    };
    tokio::time::timeout(DEADLINE, answer)
        .await
        .unwrap_or_else(|_| panic!("{method} {url}: no answer within {DEADLINE:?}"))
}

/// One request over a fresh client (its own connection): [`send`] on a new [`client`].
pub async fn call(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    send(&client(), method, url, headers, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_head_headers_and_body() {
        let a = Answer::parse(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: a/b\r\nx: 1\r\n\r\n{}",
        );
        assert_eq!(a.status, 503);
        assert_eq!(a.header("content-type"), Some("a/b"));
        assert!(a.head.ends_with("x: 1"), "{}", a.head);
        assert_eq!(a.json(), serde_json::json!({}));
        assert_eq!(Answer::parse(b"").status, 0);
    }

    #[test]
    fn an_answer_is_complete_at_its_content_length() {
        let a = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert_eq!(complete(&a[..a.len() - 1]), None);
        assert_eq!(complete(a), Some(a.len()));
        assert_eq!(complete(b"HTTP/1.1 204 No Content\r\n\r\nnext"), Some(27));
    }
}
