//! Transport faults through the phase: reset, hang, empty, truncated, slow body, and drop.

use std::time::{Duration, Instant};

use mock_server::LatencyMode;
use mock_server::testing::assert_binomial;
use mock_server::testing::http::{Answer, complete};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestServer, requests};

const STARTUP: &[u8] = b"GET /startup HTTP/1.1\r\nhost: x\r\n\r\n";

async fn fault(server: &TestServer, kind: &str, ratio: f64) {
    let body = format!(
        r#"{{"StartupSuccess": 1, "StartupLatencyMinMS": 0, "StartupLatencyMaxMS": 300,
            "StartupFault": "{kind}", "StartupFaultRatio": {ratio}}}"#
    );
    let (status, answer) = server.post("/phase", &body).await;
    assert_eq!(status, 200, "{answer}");
}

/// One request on a fresh connection: what came back, and how the connection ended (which
/// `testing::http::raw` does not say: the fault tests are about exactly that).
async fn exchange(
    server: &TestServer,
    timeout: Duration,
) -> (Vec<u8>, Result<(), std::io::ErrorKind>) {
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(STARTUP).await.unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(timeout, s.read(&mut chunk)).await {
            Err(_) => return (got, Err(std::io::ErrorKind::TimedOut)),
            Ok(Err(e)) => return (got, Err(e.kind())),
            Ok(Ok(0)) => return (got, Ok(())),
            Ok(Ok(n)) => {
                got.extend_from_slice(&chunk[..n]);
                if complete(&got).is_some() {
                    return (got, Ok(()));
                }
            }
        }
    }
}

#[tokio::test]
async fn reset_empty_and_hang_answer_nothing_and_are_counted() {
    let server = TestServer::start(LatencyMode::Record).await;
    fault(&server, "reset", 1.0).await;
    let (got, end) = exchange(&server, Duration::from_secs(5)).await;
    assert!(got.is_empty());
    assert_eq!(end, Err(std::io::ErrorKind::ConnectionReset));

    fault(&server, "empty", 1.0).await;
    let (got, end) = exchange(&server, Duration::from_secs(5)).await;
    assert_eq!(
        (got.len(), end),
        (0, Ok(())),
        "closed cleanly, without a byte"
    );

    fault(&server, "hang", 1.0).await;
    let (got, end) = exchange(&server, Duration::from_millis(800)).await;
    assert_eq!(
        (got.len(), end),
        (0, Err(std::io::ErrorKind::TimedOut)),
        "still waiting"
    );

    // The app handled all three: the server's own metrics see successes.
    let m = server.metrics().await;
    assert_eq!(m.count("movieguru_startup_attempts_total"), 3);
    assert_eq!(m.count("movieguru_startup_success_total"), 3);
    server.stop().await;
}

#[tokio::test]
async fn truncated_bodies_stop_short_of_their_content_length() {
    let server = TestServer::start(LatencyMode::Record).await;
    fault(&server, "truncated", 1.0).await;
    let (got, end) = exchange(&server, Duration::from_secs(5)).await;
    let answer = Answer::parse(&got);
    assert!(answer.head.starts_with("HTTP/1.1 200"), "{answer:?}");
    let body = &answer.body;
    let promised: usize = answer.header("content-length").unwrap().parse().unwrap();
    assert!(
        end.is_ok() || end == Err(std::io::ErrorKind::ConnectionReset),
        "{end:?}"
    );
    assert!(
        body.len() < promised && !body.is_empty(),
        "{} of {promised} bytes",
        body.len()
    );
    server.stop().await;
}

#[tokio::test]
async fn slow_bodies_arrive_in_pieces_over_the_max_latency() {
    let server = TestServer::start(LatencyMode::Record).await;
    fault(&server, "slow-body", 1.0).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /startup HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1];
    s.read_exact(&mut first).await.unwrap();
    let headers_at = Instant::now();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    let body_took = headers_at.elapsed();
    // Ten chunks over the 300 ms max latency: the last arrives at least ~270 ms after the first.
    assert!(
        body_took >= Duration::from_millis(250),
        "body took {body_took:?}"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.contains("\"result\":\"SUCCESS\""),
        "the whole body arrives in the end"
    );
    server.stop().await;
}

#[tokio::test]
async fn dropped_requests_never_reach_the_servers_metrics() {
    let server = TestServer::start(LatencyMode::Record).await;
    fault(&server, "drop", 0.5).await;
    let mut dropped = 0;
    for _ in 0..400 {
        let (got, end) = exchange(&server, Duration::from_secs(5)).await;
        if got.is_empty() {
            assert_eq!(end, Err(std::io::ErrorKind::ConnectionReset));
            dropped += 1;
        }
    }
    assert_binomial("dropped", dropped, 400, 0.5, 4.0);
    let m = server.metrics().await;
    // The server-side SLI stays at 100%: it only ever saw the requests it answered.
    assert_eq!(m.count("movieguru_startup_attempts_total"), 400 - dropped);
    assert_eq!(m.count("movieguru_startup_success_total"), 400 - dropped);
    assert_eq!(m.count(&requests("/startup", "GET", "200")), 400 - dropped);
    server.stop().await;
}

#[tokio::test]
async fn fault_settings_are_validated_and_read_back() {
    let server = TestServer::start(LatencyMode::Record).await;
    for (body, words) in [
        (r#"{"ChatFault": "explode"}"#, "slow-body"),
        (r#"{"ChatFaultRatio": 0.5}"#, "no effect while ChatFault"),
        (r#"{"ChatFault": "reset", "ChatFaultRatio": 2}"#, "[0, 1]"),
    ] {
        let (status, answer) = server.post("/phase", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.contains(words), "{body}: {answer}");
    }
    server
        .post(
            "/phase",
            r#"{"chatfaultratio": 0.25, "ChatFault": "Slow-Body"}"#,
        )
        .await;
    let phase = server.phase().await["CurrentProbMetrics"].clone();
    assert_eq!(
        (
            phase["ChatFault"].as_str(),
            phase["ChatFaultRatio"].as_f64()
        ),
        (Some("slow-body"), Some(0.25))
    );
    server.post("/phase", r#"{"ChatFault": "none"}"#).await;
    let phase = server.phase().await["CurrentProbMetrics"].clone();
    assert!(
        phase.get("ChatFault").is_none() && phase.get("ChatFaultRatio").is_none(),
        "{phase}"
    );
    server.stop().await;
}
