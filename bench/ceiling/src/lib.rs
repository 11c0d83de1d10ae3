//! The ceiling: hyper 1.x's hello-world server and nothing else, so `bench/run` can show how
//! close mock-server comes to the limit of the stack it is built on (tokio + hyper).
//!
//! It answers every request with one fixed body: by default the five bytes mock-server's `GET /`
//! sends (`"OK"` and a newline, as JSON), or any other (`--body-file`, e.g. mock-server's
//! `/startup` answer), so a comparison measures the server's own work, not a difference in
//! payload. No routing, no metrics, no header limits: adding any of them would lower the ceiling.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The default body: mock-server's health-check body, byte for byte.
pub const BODY: &[u8] = b"\"OK\"\n";

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Serves HTTP/1.1 on `listener`, answering every request with `body`, until `shutdown`
/// resolves. Open connections are not drained: a benchmark server has nothing to finish.
pub async fn run(
    listener: TcpListener,
    body: Bytes,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        // Same socket option as mock-server, so both answer small responses without Nagle delay.
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            // Cloning `Bytes` is a reference-count increment: no copy per request.
            let hello = move |_req: Request<hyper::body::Incoming>| {
                let mut response = Response::new(Full::new(body.clone()));
                response.headers_mut().insert(CONTENT_TYPE, JSON);
                std::future::ready(Ok::<_, Infallible>(response))
            };
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}
