//! A real mock-server on a free loopback port for the journey, phase and timeline tests, with
//! a small HTTP client to read its `/phase` and `/metrics`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mock_server::testing::TestServer;
use mock_server::{Config, LatencyMode};

/// Samples of a Prometheus text exposition, by full series text (mock-server's shared reader).
pub use mock_server::testing::parse_metrics as parse_exposition;

/// A running mock-server (latency recorded, not slept: the tests want counts, fast).
pub struct Mock {
    pub addr: SocketAddr,
    server: TestServer,
}

impl Mock {
    pub async fn start(admin_token: Option<&str>) -> Mock {
        let server = TestServer::start(Config {
            latency_mode: LatencyMode::Record,
            admin_token: admin_token.map(str::to_owned),
            ..Config::default()
        })
        .await;
        Mock {
            addr: server.addr,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's counters, by series text as exposed.
    pub async fn metrics(&self) -> BTreeMap<String, f64> {
        parse_exposition(&get(&format!("{}/metrics", self.url())).await.1)
    }

    /// Stops the server and re-raises any panic it had.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// GET over a fresh client: (status, body).
pub async fn get(url: &str) -> (u16, String) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let resp = client.get(url.parse().unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The value of a series, 0 when absent (a counter never incremented).
pub fn value(m: &BTreeMap<String, f64>, series: &str) -> u64 {
    m.get(series).copied().unwrap_or(0.0) as u64
}

/// Asserts that `hits` of `n` trials is within `sigmas` standard deviations of `p`.
#[track_caller]
pub fn assert_binomial(what: &str, hits: u64, n: u64, p: f64, sigmas: f64) {
    let expected = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    let tolerance = if sd == 0.0 {
        0.0
    } else {
        (sigmas * sd).max(1.0)
    };
    assert!(
        (hits as f64 - expected).abs() <= tolerance,
        "{what}: {hits} of {n}, expected {expected:.1} ± {tolerance:.1} (p = {p}, {sigmas} sd)"
    );
}
