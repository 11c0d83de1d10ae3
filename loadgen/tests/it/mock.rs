//! A real mock-server on a free loopback port for the journey, phase and timeline tests, read
//! through the shared fixture's HTTP client and `/metrics` reader (`mock_server::testing`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use mock_server::testing::{TestServer, http, parse_metrics};
use mock_server::{Config, LatencyMode};

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

    /// Two mocks for the split tests, a good revision and a canary, with the `--target` values
    /// that name them (`good=URL`, `canary=URL`).
    pub async fn good_and_canary() -> (Mock, Mock, [String; 2]) {
        let (good, canary) = (Mock::start(None).await, Mock::start(None).await);
        let targets = [
            format!("good={}", good.url()),
            format!("canary={}", canary.url()),
        ];
        (good, canary, targets)
    }

    /// The server's counters, by series text as exposed.
    pub async fn metrics(&self) -> BTreeMap<String, f64> {
        let url = format!("{}/metrics", self.url());
        parse_metrics(&http::call("GET", &url, &[], "").await.body)
    }

    /// Stops the server and re-raises any panic it had.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}
