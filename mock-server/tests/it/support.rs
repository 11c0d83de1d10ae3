//! Test fixtures: a server on a free loopback port with a keep-alive client, and a `/metrics`
//! scrape (both over the shared `mock_server::testing`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use http::{Method, StatusCode};
use mock_server::testing::http::{self as client, HttpClient, JSON};
use mock_server::testing::{self, parse_metrics};
use mock_server::{Config, LatencyMode, Phase};

/// A running mock-server (the shared fixture) with a keep-alive client; dropping it without
/// `stop` just aborts it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub client: HttpClient,
    server: testing::TestServer,
}

impl TestServer {
    pub async fn start(mode: LatencyMode) -> TestServer {
        Self::with_phase(mode, Phase::workshop_default()).await
    }

    pub async fn with_phase(mode: LatencyMode, phase: Phase) -> TestServer {
        Self::with_config(Config {
            startup_phase: phase,
            latency_mode: mode,
            ..Config::default()
        })
        .await
    }

    /// Starts `config` on a free loopback port (its `addr` is ignored), seeded for repeatability.
    /// `config` under the suite's fixed seed, so a failure replays.
    pub async fn with_config(config: Config) -> TestServer {
        TestServer::seeded(Config {
            seed: 20261122,
            ..config
        })
        .await
    }

    /// `config` as given, its own seed included.
    pub async fn seeded(config: Config) -> TestServer {
        let server = testing::TestServer::start(config).await;
        TestServer {
            addr: server.addr,
            client: client::client(),
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: &str,
    ) -> (StatusCode, http::HeaderMap, String) {
        let answer = client::send(
            &self.client,
            method.as_str(),
            &self.url(path),
            &[JSON],
            body,
        )
        .await;
        (
            StatusCode::from_u16(answer.status).unwrap(),
            answer.headers,
            answer.body,
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let (s, _, b) = self.send(Method::GET, path, "").await;
        (s, b)
    }

    pub async fn post(&self, path: &str, body: &str) -> (StatusCode, String) {
        let (s, _, b) = self.send(Method::POST, path, body).await;
        (s, b)
    }

    pub async fn phase(&self) -> serde_json::Value {
        let (status, body) = self.get("/phase").await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_str(&body).unwrap()
    }

    pub async fn metrics(&self) -> Scrape {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, StatusCode::OK);
        Scrape::parse(&body)
    }

    /// Stops the server gracefully and re-raises any panic it had. The client's pooled
    /// connections close first, so the drain has nothing to linger for.
    pub async fn stop(self) {
        drop(self.client);
        self.server.stop().await;
    }
}

/// One scrape of `/metrics`: samples by their full series text, e.g.
/// `movieguru_chat_outcome_counter_total{Outcome="Engaged"}`.
pub struct Scrape {
    pub samples: BTreeMap<String, f64>,
    pub text: String,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        Scrape {
            samples: parse_metrics(text),
            text: text.to_owned(),
        }
    }

    /// The value of a series, 0 when absent (a counter never incremented).
    pub fn get(&self, series: &str) -> f64 {
        self.samples.get(series).copied().unwrap_or(0.0)
    }

    pub fn count(&self, series: &str) -> u64 {
        testing::value(&self.samples, series)
    }
}

/// The `http_requests_total` series as the exposition writes it (labels sorted by name).
pub fn requests(route: &str, method: &str, code: &str) -> String {
    format!(r#"http_requests_total{{code="{code}",method="{method}",route="{route}"}}"#)
}

/// Held by the tests that load the machine or time it, so they never overlap: a timing bound
/// must not fail because a statistics run was saturating both cores next to it.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
