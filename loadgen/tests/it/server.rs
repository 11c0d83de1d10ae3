//! A small HTTP(S) server for the tests, on 127.0.0.1:0: a fixed delay, a status chosen by request
//! counter, an optional freeze window, a redirect route, and a record of what the first
//! requests looked like. Dropping the handle stops accepting.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// How the server behaves.
#[derive(Clone)]
pub struct Spec {
    pub delay: Duration,
    /// Status of the k-th request (0-based, in arrival order).
    pub status: fn(u64) -> u16,
    /// Requests arriving in [first + at, first + at + len) are held until the window ends.
    pub freeze: Option<(Duration, Duration)>,
    pub body: &'static [u8],
    /// Skip the bookkeeping (request log, handler histogram) for throughput tests.
    pub fast: bool,
    /// https only: wait this long before the TLS handshake, to make connection set-up slow.
    pub tls_delay: Duration,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            delay: Duration::ZERO,
            status: |_| 200,
            freeze: None,
            body: b"hello",
            fast: false,
            tls_delay: Duration::ZERO,
        }
    }
}

/// What one request looked like on the wire.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub uri: String,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
pub struct State {
    pub requests: AtomicU64,
    pub connections: AtomicU64,
    first: OnceLock<Instant>,
    /// The first `KEEP` requests.
    pub seen: Mutex<Vec<Seen>>,
    /// How long the handler took per request, microseconds: the server's side of the truth.
    pub handled: Mutex<Option<hdrhistogram::Histogram<u64>>>,
}

const KEEP: usize = 32;

pub struct Server {
    pub addr: SocketAddr,
    scheme: &'static str,
    pub state: Arc<State>,
    accept: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Server {
    pub async fn start(spec: Spec) -> Server {
        Server::start_with(spec, None).await
    }

    /// An https server with a fresh self-signed certificate for `localhost`, speaking HTTP/1.1
    /// or HTTP/2 as ALPN decides.
    pub async fn start_tls(spec: Spec) -> Server {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Server::start_with(spec, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_with(spec: Spec, tls: Option<TlsAcceptor>) -> Server {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let st = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                st.connections.fetch_add(1, Ordering::Relaxed);
                let (st, spec, tls) = (st.clone(), spec.clone(), tls.clone());
                tokio::spawn(async move {
                    let delay = spec.tls_delay;
                    let svc = service_fn(move |req| handle(st.clone(), spec.clone(), req));
                    let http = auto::Builder::new(TokioExecutor::new());
                    let _ = match tls {
                        Some(tls) => {
                            tokio::time::sleep(delay).await;
                            match tls.accept(stream).await {
                                Ok(s) => http.serve_connection(TokioIo::new(s), svc).await,
                                Err(_) => return,
                            }
                        }
                        None => http.serve_connection(TokioIo::new(stream), svc).await,
                    };
                });
            }
        });
        Server {
            addr,
            scheme,
            state,
            accept,
        }
    }

    pub fn url(&self, path: &str) -> String {
        match self.scheme {
            // The certificate names localhost, so https URLs must too.
            "https" => format!("https://localhost:{}{path}", self.addr.port()),
            _ => format!("http://{}{path}", self.addr),
        }
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// The handler time (microseconds) at quantile `q`, as the server measured it.
    pub fn handled_at(&self, q: f64) -> u64 {
        self.state
            .handled
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, |h| h.value_at_quantile(q))
    }

    pub fn first_seen(&self) -> Seen {
        self.state
            .seen
            .lock()
            .unwrap()
            .first()
            .cloned()
            .expect("the server saw a request")
    }
}

async fn handle(
    st: Arc<State>,
    spec: Spec,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let k = st.requests.fetch_add(1, Ordering::Relaxed);
    if spec.fast {
        return Ok(Response::new(Full::new(Bytes::from_static(spec.body))));
    }
    let began = Instant::now();
    let first = *st.first.get_or_init(Instant::now);
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    {
        let mut seen = st.seen.lock().unwrap();
        if seen.len() < KEEP {
            seen.push(Seen {
                method: parts.method.clone(),
                uri: parts.uri.to_string(),
                version: parts.version,
                headers: parts.headers.clone(),
                body,
            });
        }
    }
    if let Some((at, len)) = spec.freeze {
        let (from, until) = (first + at, first + at + len);
        let now = Instant::now();
        if now >= from && now < until {
            tokio::time::sleep_until(until).await;
        }
    }
    if !spec.delay.is_zero() {
        tokio::time::sleep(spec.delay).await;
    }
    let path = parts.uri.path();
    let resp = match path {
        "/redirect" => Response::builder()
            .status(302)
            .header("location", "/landed"),
        // The query is the Location: /redirect-to?http://elsewhere/landed
        "/redirect-to" => Response::builder()
            .status(302)
            .header("location", parts.uri.query().unwrap_or("/")),
        "/redirect-loop" => Response::builder()
            .status(302)
            .header("location", "/redirect-loop"),
        _ => Response::builder().status((spec.status)(k)),
    };
    let took = u64::try_from(began.elapsed().as_micros()).unwrap();
    st.handled
        .lock()
        .unwrap()
        .get_or_insert_with(|| hdrhistogram::Histogram::new(3).unwrap())
        .record(took)
        .unwrap();
    Ok(resp.body(Full::new(Bytes::from_static(spec.body))).unwrap())
}
