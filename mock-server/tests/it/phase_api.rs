//! `/phase`: the workshop's payloads, every refusal, merging, resetting and atomicity.

use std::path::PathBuf;

use http::{Method, StatusCode};
use mock_server::LatencyMode;
use serde_json::{Value, json};

use crate::support::TestServer;

fn preset(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/phases")
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The workshop posts its phases with curl; do exactly that when curl is installed, so the
/// bytes on the wire are the ones a workshop host sends.
async fn post_like_the_workshop(server: &TestServer, body: &str) -> (StatusCode, String) {
    let curl = tokio::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: application/json", "-d", body])
        .arg(server.url("/phase"))
        .output()
        .await;
    match curl {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8(out.stdout).unwrap();
            let (body, code) = text.rsplit_once('\n').unwrap();
            (
                StatusCode::from_u16(code.parse().unwrap()).unwrap(),
                body.to_owned(),
            )
        }
        _ => {
            eprintln!("curl is not available; posting the payload with the test client");
            server.post("/phase", body).await
        }
    }
}

#[tokio::test]
async fn the_workshop_payloads_are_accepted_and_read_back() {
    let server = TestServer::start(LatencyMode::Record).await;
    for name in [
        "challenge1",
        "challenge5",
        "challenge6",
        "challenge7",
        "bad-change",
    ] {
        let payload = preset(name);
        let (status, echoed) = post_like_the_workshop(&server, &payload).await;
        assert_eq!(status, StatusCode::OK, "{name}: {echoed}");
        let sent: Value = serde_json::from_str(&payload).unwrap();
        let echoed: Value = serde_json::from_str(&echoed).unwrap();
        assert_eq!(echoed["CurrentProbMetrics"], sent, "{name}: POST echo");
        assert_eq!(
            server.phase().await["CurrentProbMetrics"],
            sent,
            "{name}: GET /phase"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn the_default_phase_is_challenge_one() {
    let server = TestServer::start(LatencyMode::Record).await;
    let expected: Value = serde_json::from_str(&preset("challenge1")).unwrap();
    assert_eq!(
        server.phase().await,
        json!({ "CurrentProbMetrics": expected })
    );
    server.stop().await;
}

#[tokio::test]
async fn every_invalid_document_is_refused_and_changes_nothing() {
    let server = TestServer::start(LatencyMode::Record).await;
    let big = format!(
        r#"{{"ChatSuccess": 0.5, "pad": "{}"}}"#,
        "x".repeat(70 * 1024)
    );
    // (what, body, status, field the answer must name, words the message must contain)
    let cases: Vec<(&str, String, u16, Option<&str>, &str)> = vec![
        (
            "malformed JSON",
            r#"{"ChatSuccess": 0.5"#.into(),
            400,
            None,
            "malformed JSON",
        ),
        ("empty body", String::new(), 400, None, "malformed JSON"),
        ("not an object", "[0.5]".into(), 400, None, "JSON object"),
        (
            "string ratio",
            r#"{"ChatSuccess": "0.5"}"#.into(),
            400,
            Some("ChatSuccess"),
            "must be a number",
        ),
        (
            "boolean ratio",
            r#"{"LoginSuccess": true}"#.into(),
            400,
            Some("LoginSuccess"),
            "got a boolean",
        ),
        (
            "null ratio",
            r#"{"LoginSuccess": null}"#.into(),
            400,
            Some("LoginSuccess"),
            "got null",
        ),
        (
            "string latency",
            r#"{"ChatLatencyMinMS": "fast"}"#.into(),
            400,
            Some("ChatLatencyMinMS"),
            "whole number",
        ),
        (
            "fractional ms",
            r#"{"ChatLatencyMinMS": 100.5}"#.into(),
            400,
            Some("ChatLatencyMinMS"),
            "whole number of milliseconds",
        ),
        (
            "ratio above 1",
            r#"{"ChatSuccess": 1.5}"#.into(),
            400,
            Some("ChatSuccess"),
            "[0, 1]",
        ),
        (
            "negative ratio",
            r#"{"StartupSuccess": -0.1}"#.into(),
            400,
            Some("StartupSuccess"),
            "[0, 1]",
        ),
        (
            "negative latency",
            r#"{"StartupLatencyMinMS": -5}"#.into(),
            400,
            Some("StartupLatencyMinMS"),
            "negative",
        ),
        (
            "absurd latency",
            r#"{"ChatLatencyMaxMS": 99999999}"#.into(),
            400,
            Some("ChatLatencyMaxMS"),
            "at most",
        ),
        (
            "min above the current max",
            r#"{"ChatLatencyMinMS": 9000}"#.into(),
            400,
            Some("ChatLatencyMinMS"),
            "greater than ChatLatencyMaxMS",
        ),
        (
            "min above max",
            r#"{"LoginLatencyMinMS": 300, "LoginLatencyMaxMS": 200}"#.into(),
            400,
            Some("LoginLatencyMinMS"),
            "greater than",
        ),
        (
            "unknown key",
            r#"{"ChatSucess": 0.5}"#.into(),
            400,
            Some("ChatSucess"),
            "did you mean \"ChatSuccess\"",
        ),
        (
            "same key twice",
            r#"{"ChatSuccess": 0.5, "chatsuccess": 0.6}"#.into(),
            400,
            Some("ChatSuccess"),
            "twice",
        ),
        (
            "outcomes above 1",
            r#"{"ChatEngaged": 0.9}"#.into(),
            400,
            Some("ChatEngaged"),
            "outcome weights",
        ),
        (
            "sentiments above 1",
            r#"{"ChatSPositive": 0.9}"#.into(),
            400,
            Some("ChatSPositive"),
            "sentiment weights",
        ),
        (
            "unknown shape",
            r#"{"ChatLatencyDistribution": "weibull"}"#.into(),
            400,
            Some("ChatLatencyDistribution"),
            "lognormal",
        ),
        (
            "valid field then a bad one",
            r#"{"ChatSuccess": 0.1, "LoginSuccess": 2}"#.into(),
            400,
            Some("LoginSuccess"),
            "[0, 1]",
        ),
        ("body over 64 KiB", big, 413, None, "larger than"),
    ];
    let before = server.phase().await;
    for (what, body, status, field, words) in cases {
        let (got, answer) = server.post("/phase", &body).await;
        assert_eq!(got.as_u16(), status, "{what}: {answer}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(words),
            "{what}: {message:?} lacks {words:?}"
        );
        if let Some(field) = field {
            assert_eq!(answer["field"], field, "{what}: {answer}");
        }
        assert_eq!(server.phase().await, before, "{what} changed the phase");
    }
    let (_, answer) = server.post("/phase", r#"{"nope": 1}"#).await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["valid_fields"].as_array().unwrap().len(), 39);
    let scrape = server.metrics().await;
    assert_eq!(scrape.count("mockserver_phase_changes_total"), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_partial_update_merges_and_delete_restores_the_startup_phase() {
    let server = TestServer::start(LatencyMode::Record).await;
    let startup = server.phase().await;
    let (status, _) = server
        .post(
            "/phase",
            r#"{"chatsuccess": 0.25, "CHATLATENCYDISTRIBUTION": "LogNormal"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = startup.clone();
    expected["CurrentProbMetrics"]["ChatSuccess"] = json!(0.25);
    expected["CurrentProbMetrics"]["ChatLatencyDistribution"] = json!("lognormal");
    assert_eq!(server.phase().await, expected);
    let scrape = server.metrics().await;
    assert_eq!(
        scrape.get(r#"mockserver_phase_success_ratio{endpoint="chat"}"#),
        0.25
    );
    assert_eq!(scrape.count("mockserver_phase_changes_total"), 1);

    // Weights that sum to 1 only up to rounding are accepted.
    let (status, answer) = server
        .post(
            "/phase",
            r#"{"ChatEngaged": 0.7, "ChatAcknowledged": 0.2, "ChatRejected": 0.1, "ChatUnclassified": 0.0}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let (status, _, body) = server.send(Method::DELETE, "/phase", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), startup);
    assert_eq!(server.phase().await, startup);
    assert_eq!(
        server
            .metrics()
            .await
            .count("mockserver_phase_changes_total"),
        3
    );
    server.stop().await;
}

#[tokio::test]
async fn concurrent_partial_updates_are_all_kept() {
    let server = std::sync::Arc::new(TestServer::start(LatencyMode::Record).await);
    let fields = [
        "ChatSuccess",
        "ChatSafetyIssue",
        "LoginSuccess",
        "StartupSuccess",
        "PrefUpdateSuccess",
        "PrefGetSuccess",
    ];
    let posts = fields.iter().map(|field| {
        let server = server.clone();
        let body = format!(r#"{{"{field}": 0.123}}"#);
        tokio::spawn(async move { server.post("/phase", &body).await.0 })
    });
    for post in posts.collect::<Vec<_>>() {
        assert_eq!(post.await.unwrap(), StatusCode::OK);
    }
    let phase = server.phase().await;
    for field in fields {
        assert_eq!(
            phase["CurrentProbMetrics"][field], 0.123,
            "{field} was lost"
        );
    }
}

/// Issue 13, item 6: JSON allows a key twice and serde_json keeps the last; the phase refuses it
/// instead, whatever the case and whether or not the first value was valid.
#[tokio::test]
async fn a_key_given_twice_is_refused_naming_it() {
    let server = TestServer::start(LatencyMode::Record).await;
    let before = server.phase().await;
    for body in [
        r#"{"ChatSuccess": "x", "ChatSuccess": 0.33}"#,
        r#"{"ChatSuccess": 0.5, "ChatSuccess": 0.33}"#,
        r#"{"LoginSuccess": 0.5, "ChatSuccess": 0.5, "chatsuccess": 0.33}"#,
    ] {
        let (status, answer) = server.post("/phase", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["field"], "ChatSuccess", "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("twice"),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        server.phase().await,
        before,
        "a refused document changed the phase"
    );
    server.stop().await;
}
