//! Sleep mode: clients feel the drawn latency, within [min, max + 5 ms] at light load.
//!
//! A binary of its own, so that no other test of the crate shares the two cores while it
//! times requests: cargo runs test binaries one after another.

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};
use mock_server::LatencyMode;

use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_feel_latency_within_the_phase_range() {
    let server = Arc::new(TestServer::start(LatencyMode::Sleep).await);
    let (status, body) = server
        .post(
            "/phase",
            r#"{"LoginLatencyMinMS": 20, "LoginLatencyMaxMS": 40, "StartupLatencyMinMS": 30,
                "StartupLatencyMaxMS": 60, "StartupLatencyDistribution": "lognormal",
                "ChatLatencyMinMS": 40, "ChatLatencyMaxMS": 45,
                "PrefGetLatencyMinMS": 5, "PrefGetLatencyMaxMS": 25, "PrefGetLatencyDistribution": "normal"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let endpoints = [
        (Method::POST, "/login", 20.0, 40.0),
        (Method::GET, "/logout", 20.0, 40.0),
        (Method::GET, "/startup", 30.0, 60.0),
        (Method::POST, "/chat", 40.0, 45.0),
        (Method::GET, "/preferences", 5.0, 25.0),
    ];
    // Four light clients, each on its own warmed keep-alive connection.
    let clients = (0..4).map(|_| {
        let (server, endpoints) = (server.clone(), endpoints.clone());
        tokio::spawn(async move {
            server.get("/healthz").await;
            let mut out = Vec::new();
            for _ in 0..10 {
                for (method, path, min, max) in &endpoints {
                    let sent = Instant::now();
                    server.send(method.clone(), path, "{}").await;
                    out.push((*path, sent.elapsed().as_secs_f64() * 1000.0, *min, *max));
                }
            }
            out
        })
    });
    let mut checked = 0;
    for c in clients.collect::<Vec<_>>() {
        for (path, ms, min, max) in c.await.unwrap() {
            assert!(
                ms >= min && ms <= max + 5.0,
                "{path}: {ms:.2} ms outside [{min}, {max} + 5]"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * 10 * 5);
}
