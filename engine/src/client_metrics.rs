//! Client-side Prometheus metrics (`--metrics-addr`): what the simulated users saw, per target
//! and endpoint, so client-side and server-side SLIs can be compared (challenge 7's lesson: a
//! request lost before the app shows only here).
//!
//! Series: `loadgen_requests_total{target,endpoint}`, `loadgen_failures_total{target,endpoint,kind}`
//! and `loadgen_latency_seconds{target,endpoint}`, whose bucket bounds are those of the server's
//! `movieguru_*` histogram for the same path, in seconds: the server's `le="5000"` (ms) is the
//! client's `le="5"`, so an SLO threshold means the same on both sides. Seconds because
//! `promtool check metrics` refuses other units in new names; the server keeps milliseconds
//! only because the workshop's queries name them. Counters are cumulative for the process
//! (across timeline steps).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};
use tokio::net::TcpListener;

use crate::failure::{ErrorKind, Failure};
use crate::report::stats::STATUS_SLOTS;

/// Bucket bounds of the server's `movieguru_*` histograms, by path (reference doc), in seconds:
/// the same bounds (5000 ms is 5 s), in the base unit `promtool check metrics` asks for.
const CHAT: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 12.0];
const LOGIN: &[f64] = &[
    0.00005, 0.0001, 0.0005, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];
const HEALTH: &[f64] = &[0.0001, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.01];
const PREF: &[f64] = &[0.0001, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0];
const STARTUP: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 10.0,
];
/// Paths the server has no `movieguru_*` histogram for: its `http_request_duration_seconds`
/// bounds.
const OTHER: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The bucket bounds (seconds) of the server's histogram for `path`.
pub fn buckets_for(path: &str) -> &'static [f64] {
    match path {
        "/chat" => CHAT,
        "/login" | "/logout" => LOGIN,
        "/preferences" => PREF,
        "/startup" => STARTUP,
        "/" => HEALTH,
        _ => OTHER,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("registering client metrics: {0}")]
    Register(#[from] prometheus::Error),
    #[error("cannot listen on --metrics-addr {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The handles one (target, endpoint) records into. Failure counters are resolved once per
/// kind and kept, so a failed request costs no label lookup or allocation.
#[derive(Clone)]
pub struct EndpointMetrics {
    requests: IntCounter,
    latency: Histogram,
    failures: IntCounterVec,
    target: String,
    endpoint: String,
    /// By status code (400..=999), then by transport error kind.
    by_status: Arc<[OnceLock<IntCounter>]>,
    by_kind: Arc<[OnceLock<IntCounter>]>,
}

impl EndpointMetrics {
    /// `latency_us` is `None` when no response came (no latency to record, as in the report).
    pub fn observe(&self, latency_us: Option<u64>, failure: Option<Failure>) {
        self.requests.inc();
        if let Some(us) = latency_us {
            self.latency.observe(us.max(1) as f64 / 1e6);
        }
        let slot = match failure {
            None => return,
            Some(Failure::Status(code)) => self.by_status.get(usize::from(code)),
            Some(Failure::Transport(kind)) => self.by_kind.get(kind.index()),
        };
        if let (Some(slot), Some(f)) = (slot, failure) {
            slot.get_or_init(|| {
                self.failures.with_label_values(&[
                    self.target.as_str(),
                    self.endpoint.as_str(),
                    &f.key(),
                ])
            })
            .inc();
        }
    }
}

/// The registry of client-side series, shared by every run of the process.
pub struct ClientMetrics {
    registry: Registry,
    requests: IntCounterVec,
    failures: IntCounterVec,
    latency: Mutex<HashMap<(String, String), Histogram>>,
}

impl ClientMetrics {
    pub fn new() -> Result<Arc<ClientMetrics>, MetricsError> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "loadgen_requests_total",
                "Requests the simulated users sent, by target and endpoint.",
            ),
            &["target", "endpoint"],
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "loadgen_failures_total",
                "Requests that failed as the users saw them: kind is http_<status> (400 or more) or the transport error (reset, timeout, connect_refused, ...).",
            ),
            &["target", "endpoint", "kind"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        Ok(Arc::new(ClientMetrics {
            registry,
            requests,
            failures,
            latency: Mutex::new(HashMap::new()),
        }))
    }

    /// The handles for one (target, endpoint); registered on first use, with the server's bucket
    /// bounds for `path`, and reused after (a timeline's steps keep adding to the same series).
    pub fn endpoint(
        &self,
        target: &str,
        endpoint: &str,
        path: &str,
    ) -> Result<EndpointMetrics, MetricsError> {
        let mut hists = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let key = (target.to_owned(), endpoint.to_owned());
        let latency = match hists.get(&key) {
            Some(h) => h.clone(),
            None => {
                // One histogram per series, each with its own buckets, under one family name:
                // a HistogramVec would force one bucket set on every endpoint.
                let h = Histogram::with_opts(
                    HistogramOpts::new(
                        "loadgen_latency_seconds",
                        "Time from sending a request to its response's last byte, as the users saw it; buckets as the server's movieguru_* histogram for the same path.",
                    )
                    .const_label("target", target)
                    .const_label("endpoint", endpoint)
                    .buckets(buckets_for(path).to_vec()),
                )?;
                self.registry.register(Box::new(h.clone()))?;
                hists.insert(key, h.clone());
                h
            }
        };
        Ok(EndpointMetrics {
            requests: self.requests.with_label_values(&[target, endpoint]),
            latency,
            failures: self.failures.clone(),
            target: target.to_owned(),
            endpoint: endpoint.to_owned(),
            by_status: (0..STATUS_SLOTS).map(|_| OnceLock::new()).collect(),
            by_kind: ErrorKind::ALL.iter().map(|_| OnceLock::new()).collect(),
        })
    }

    /// The Prometheus text exposition of every series.
    pub fn encode(&self) -> String {
        let mut out = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Binds `addr` (port 0 picks one); serve with [`ClientMetrics::serve`].
    pub async fn bind(addr: SocketAddr) -> Result<TcpListener, MetricsError> {
        TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })
    }

    /// Answers every request on `listener` with the exposition until `shutdown` resolves.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        crate::serve::serve(
            listener,
            shutdown,
            crate::serve::Access::Open,
            move |_req| {
                let body = self.encode();
                async move {
                    http::Response::builder()
                        .header(
                            http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )
                        .body(Full::new(Bytes::from(body)))
                        .expect("static headers are valid")
                }
            },
        )
        .await;
    }
}
