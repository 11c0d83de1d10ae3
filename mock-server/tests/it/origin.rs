//! Issue 24 item 1 over a real socket: the operator surface (`/phase`, `/ui`) answers only its
//! own names (DNS rebinding), refuses writes a browser marks as cross-origin, and takes phase
//! documents only as `application/json`; the mocked API and `/metrics` answer any name.

use clap::Parser;
use mock_server::Config;
use mock_server::testing::http::{raw, request};

use crate::support::TestServer;

const PHASE: &str = r#"{"StartupSuccess": 0.25}"#;

/// One request (`head` is `METHOD PATH`) over a fresh connection, with `headers` (each
/// `name: value`) and `body`: (status, body).
async fn send(server: &TestServer, head: &str, headers: &[&str], body: &str) -> (u16, String) {
    let (method, path) = head.split_once(' ').unwrap();
    let answer = raw(server.addr, &request(method, path, headers, body)).await;
    (answer.status, answer.body)
}

async fn startup_success(server: &TestServer) -> f64 {
    server.phase().await["CurrentProbMetrics"]["StartupSuccess"]
        .as_f64()
        .unwrap()
}

#[tokio::test]
async fn a_rebinding_host_is_refused_on_the_operator_routes_only() {
    let server = TestServer::with_config(Config::default()).await;
    let before = startup_success(&server).await;
    let evil = "host: evil.example:8080";
    for (head, body) in [
        ("GET /phase", ""),
        ("POST /phase", PHASE),
        ("DELETE /phase", ""),
        ("GET /ui", ""),
        ("GET /ui/data", ""),
    ] {
        let (status, reply) = send(
            &server,
            head,
            &[evil, "content-type: application/json"],
            body,
        )
        .await;
        assert_eq!(status, 403, "{head}: {reply}");
        let doc: serde_json::Value = serde_json::from_str(&reply).unwrap();
        let error = doc["error"].as_str().unwrap();
        assert!(
            error.contains("evil.example") && error.contains("--allowed-host"),
            "{head}: {error}"
        );
    }
    assert_eq!(startup_success(&server).await, before, "the phase changed");
    // A mock answers whatever name its deployment gives it; Prometheus scrapes by service name.
    for head in [
        "GET /metrics",
        "GET /healthz",
        "GET /readyz",
        "GET /startup",
    ] {
        let (status, reply) = send(&server, head, &[evil], "").await;
        assert!(!reply.contains("--allowed-host"), "{head}: {reply}");
        assert_ne!(status, 403, "{head}: {reply}");
    }
    let (status, reply) = send(
        &server,
        "POST /chat",
        &[evil, "content-type: text/plain"],
        "hi",
    )
    .await;
    assert!(
        status != 403 && !reply.contains("--allowed-host"),
        "{status} {reply}"
    );
    server.stop().await;
}

#[tokio::test]
async fn allowed_host_names_are_answered_and_bad_ones_are_usage_errors() {
    let args = mock_server::cli::Args::try_parse_from([
        "mock-server",
        "--allowed-host",
        "mockserver-service.movie-guru.svc.cluster.local",
        "--allowed-host",
        "mock-server",
    ])
    .unwrap();
    let server = TestServer::with_config(Config::try_from(args).unwrap()).await;
    for host in [
        "mock-server:8080",
        "MockServer-Service.movie-guru.svc.cluster.local",
    ] {
        let (status, reply) = send(&server, "GET /phase", &[&format!("host: {host}")], "").await;
        assert_eq!(status, 200, "{host}: {reply}");
    }
    let (status, _) = send(&server, "GET /ui", &["host: other"], "").await;
    assert_eq!(status, 403);
    server.stop().await;
    let any =
        mock_server::cli::Args::try_parse_from(["mock-server", "--allowed-host", "*"]).unwrap();
    assert!(Config::try_from(any).is_ok());
    for bad in ["http://mock", "mock:8080", "a b", "mock/ui"] {
        let args =
            mock_server::cli::Args::try_parse_from(["mock-server", "--allowed-host", bad]).unwrap();
        let e = Config::try_from(args).unwrap_err().to_string();
        assert!(e.contains("--allowed-host") && e.contains(bad), "{e}");
    }
}

#[tokio::test]
async fn a_cross_origin_write_cannot_change_the_phase() {
    let server = TestServer::with_config(Config::default()).await;
    let before = startup_success(&server).await;
    let host = format!("host: {}", server.addr);
    let json = "content-type: application/json";
    for said in [
        "origin: http://127.0.0.2:8000",
        &format!("origin: http://127.0.0.1:{}", server.addr.port() + 1),
        "origin: null",
        "sec-fetch-site: cross-site",
        "sec-fetch-site: same-site",
    ] {
        for head in ["POST /phase", "DELETE /phase"] {
            let (status, reply) = send(&server, head, &[&host, json, said], PHASE).await;
            assert_eq!(status, 403, "{head} with {said}: {reply}");
            assert!(reply.contains("cross-origin"), "{reply}");
        }
    }
    assert_eq!(startup_success(&server).await, before, "the phase changed");
    // The console's own fetches: same origin, as Chromium sends them.
    let own = format!("origin: http://{}", server.addr);
    let (status, reply) = send(
        &server,
        "POST /phase",
        &[&host, json, &own, "sec-fetch-site: same-origin"],
        PHASE,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(startup_success(&server).await, 0.25);
    server.stop().await;
}

#[tokio::test]
async fn a_phase_document_must_be_sent_as_json() {
    let server = TestServer::with_config(Config::default()).await;
    let before = startup_success(&server).await;
    let host = format!("host: {}", server.addr);
    for given in [
        Some("content-type: text/plain"),
        Some("content-type: application/x-www-form-urlencoded"),
        None,
    ] {
        let headers: Vec<&str> = [Some(host.as_str()), given].into_iter().flatten().collect();
        let (status, reply) = send(&server, "POST /phase", &headers, PHASE).await;
        assert_eq!(status, 415, "{given:?}: {reply}");
        assert!(
            reply.contains("Content-Type: application/json"),
            "{given:?}: {reply}"
        );
    }
    assert_eq!(startup_success(&server).await, before, "the phase changed");
    let (status, reply) = send(
        &server,
        "POST /phase",
        &[&host, "content-type: application/json; charset=utf-8"],
        PHASE,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    // A reset has no body: nothing to type.
    let (status, reply) = send(&server, "DELETE /phase", &[&host], "").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(startup_success(&server).await, before);
    server.stop().await;
}
