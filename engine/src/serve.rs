//! The one accept loop for loadgen's own small HTTP/1 endpoints (`--metrics-addr`, the `--web`
//! pages, the rehearsal's Alertmanager webhook): each connection is served by hyper on its own
//! task, each request answered by `handle`, until `shutdown` resolves. The pages and the webhook
//! are served behind `webui`'s guard (issue 24): a page on another site can neither read them
//! through DNS rebinding nor write to them; `/metrics` is open to whatever scrapes it.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use webui::guard::{self, HostPolicy};

/// Where a page is served, and the host names it answers beside addresses and localhost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageAddr {
    pub addr: std::net::SocketAddr,
    pub hosts: HostPolicy,
}

/// Who may talk to a server: anyone (`/metrics`), or what `webui`'s guard lets through.
#[derive(Debug, Clone)]
pub enum Access {
    Open,
    Guarded(HostPolicy),
}

/// The body types a guarded route takes: JSON, and on the swarm page's routes that Locust's
/// page and scripts post forms to (`/swarm`, `/stop`, `/stats/reset`; issue 22) forms too. The
/// other servers have no such paths, so the wider list never applies to them.
fn accepts(path: &str) -> &'static [&'static str] {
    match path {
        "/swarm" | "/stop" | "/stats/reset" => guard::JSON_OR_FORM,
        _ => guard::JSON,
    }
}

/// The answer to a request the guard refused: its status and reason, as the pages' errors are.
fn refused(refusal: &guard::Refusal) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": refusal.to_string() }).to_string();
    let mut r = secured(
        Response::new(Full::new(Bytes::from(body))),
        "application/json",
    );
    *r.status_mut() = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    r
}

/// A page's answer with its type, the shared security headers and `no-store`.
pub fn secured(mut r: Response<Full<Bytes>>, content_type: &'static str) -> Response<Full<Bytes>> {
    webui::secure_headers(r.headers_mut(), content_type);
    r
}

/// Connections served at once; one more is answered 503 and closed. A page polls on one or
/// two connections and Prometheus scrapes on one, so this is far above real use and far
/// below what would starve the load of descriptors.
pub const MAX_CONNECTIONS: usize = 64;
/// A request head must arrive within this of the connection opening or of the last answer:
/// a client that sends nothing, or half a head, gives its slot back then.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 22\r\nconnection: close\r\n\r\ntoo many connections\r\n";

/// Serves `listener` with `handle` until `shutdown`, each request first checked as `access`
/// says. Connections already accepted finish on their own tasks; none is waited for. Every
/// connection has the head deadline ([`HEAD_TIMEOUT`], from the first byte or from silence)
/// and a slot of [`MAX_CONNECTIONS`]; a request sent and then half-closed is answered.
pub async fn serve<H, F>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    access: Access,
    handle: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut builder = http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .half_close(true);
    let accept = async {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                // Out of descriptors, most likely: the load comes first; try again shortly
                // rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), stream.write_all(TOO_MANY))
                            .await;
                });
                continue;
            };
            let handle = handle.clone();
            let access = access.clone();
            let builder = builder.clone();
            tokio::spawn(async move {
                let _slot = slot;
                // hyper's head timer starts with the first byte; a silent client gets the
                // same deadline for that byte.
                let mut first = [0u8; 1];
                if !matches!(
                    tokio::time::timeout(HEAD_TIMEOUT, stream.peek(&mut first)).await,
                    Ok(Ok(1..))
                ) {
                    return;
                }
                let svc = service_fn(move |req: Request<Incoming>| {
                    let check = match &access {
                        Access::Open => Ok(()),
                        Access::Guarded(hosts) => {
                            let has_body = !req.body().is_end_stream();
                            hosts.check_request(&req, has_body, accepts(req.uri().path()))
                        }
                    };
                    let answer = check.map(|()| handle(req));
                    async move {
                        Ok::<_, Infallible>(match answer {
                            Ok(answer) => answer.await,
                            Err(refusal) => refused(&refusal),
                        })
                    }
                });
                let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    };
    tokio::select! {
        () = accept => {}
        () = shutdown => {}
    }
}
