//! Every route over a real socket: status, body shape, and what each one counts.

use http::{Method, StatusCode};
use mock_server::LatencyMode;
use serde_json::Value;

use crate::support::TestServer;
use crate::support::requests;

const ALWAYS: &str = r#"{"ChatSuccess": 1, "ChatSafetyIssue": 0, "LoginSuccess": 1, "StartupSuccess": 1,
    "PrefUpdateSuccess": 1, "PrefGetSuccess": 1}"#;
const NEVER: &str = r#"{"ChatSuccess": 0, "LoginSuccess": 0, "StartupSuccess": 0,
    "PrefUpdateSuccess": 0, "PrefGetSuccess": 0}"#;

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn successful_answers_look_like_the_movie_guru_api() {
    let server = TestServer::start(LatencyMode::Record).await;
    assert_eq!(server.post("/phase", ALWAYS).await.0, StatusCode::OK);

    let (status, body) = server.post("/login", "").await;
    assert_eq!(
        (status, json(&body)),
        (StatusCode::OK, serde_json::json!({"login": "success"}))
    );
    let (status, body) = server.get("/logout").await;
    assert_eq!(
        (status, json(&body)),
        (StatusCode::OK, serde_json::json!({"logout": "success"}))
    );

    let (status, body) = server.get("/startup").await;
    assert_eq!(status, StatusCode::OK);
    let startup = json(&body);
    assert_eq!(startup["result"], "SUCCESS");
    assert_eq!(startup["context"].as_array().unwrap().len(), 5);
    for key in [
        "title",
        "runtime_minutes",
        "genres",
        "rating",
        "plot",
        "released",
        "director",
        "actors",
        "poster",
        "tconst",
    ] {
        assert!(
            startup["context"][0].get(key).is_some(),
            "movie lacks {key}"
        );
    }
    assert!(startup["preferences"]["likes"]["genres"].is_array());

    let (status, body) = server
        .post("/chat", r#"{"content": "I feel like a fantasy movie"}"#)
        .await;
    assert_eq!(status, StatusCode::OK);
    let chat = json(&body);
    for key in [
        "answer",
        "relevant_movies",
        "context",
        "error_message",
        "result",
        "preferences",
    ] {
        assert!(chat.get(key).is_some(), "chat answer lacks {key}: {chat}");
    }
    assert_eq!(chat["result"], "SUCCESS");

    let (status, body) = server.get("/preferences").await;
    assert_eq!(status, StatusCode::OK);
    let prefs = json(&body);
    for side in ["likes", "dislikes"] {
        for key in ["actors", "directors", "genres", "others"] {
            assert!(prefs[side][key].is_array(), "{side}.{key}");
        }
    }
    let (status, body) = server.post("/preferences", r#"{"content": {}}"#).await;
    assert_eq!(
        (status, json(&body)),
        (StatusCode::OK, serde_json::json!({"update": "success"}))
    );

    let (status, body) = server.get("/history").await;
    assert_eq!(status, StatusCode::OK);
    assert!(json(&body)[0]["role"].is_string());
    let (status, _, _) = server.send(Method::DELETE, "/history", "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, body) = server.get("/").await;
    assert_eq!((status, json(&body)), (StatusCode::OK, Value::from("OK")));
    assert_eq!(json(&server.get("/healthz").await.1)["status"], "ok");
    assert_eq!(json(&server.get("/readyz").await.1)["status"], "ready");

    let m = server.metrics().await;
    for series in [
        "movieguru_login_success_total",
        "movieguru_Logout_success_total",
        "movieguru_startup_success_total",
        "movieguru_chat_calls_success_total",
        "movieguru_prefGet_success_total",
        "movieguru_prefUpdate_success_total",
        "movieguru_healthcheck_attempts_total",
    ] {
        assert_eq!(m.count(series), 1, "{series}");
    }
    assert_eq!(m.count(&requests("/history", "DELETE", "204")), 1);
    assert_eq!(m.count(&requests("/chat", "POST", "200")), 1);
    server.stop().await;
}

#[tokio::test]
async fn injected_failures_are_short_json_500s_and_still_counted() {
    let server = TestServer::start(LatencyMode::Record).await;
    assert_eq!(server.post("/phase", NEVER).await.0, StatusCode::OK);
    for (method, path, attempts) in [
        (Method::POST, "/login", "movieguru_login_attempts_total"),
        (Method::POST, "/chat", "movieguru_chat_calls_total"),
        (Method::GET, "/startup", "movieguru_startup_attempts_total"),
        (
            Method::GET,
            "/preferences",
            "movieguru_prefGet_attempts_total",
        ),
        (
            Method::POST,
            "/preferences",
            "movieguru_prefUpdate_attempts_total",
        ),
    ] {
        let (status, _, body) = server.send(method, path, "{}").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(json(&body)["error"], "injected failure");
        let m = server.metrics().await;
        assert_eq!(m.count(attempts), 1, "{attempts}");
        let latency = attempts
            .replace("_attempts_total", "_latency_milliseconds_count")
            .replace("_calls_total", "_latency_milliseconds_count");
        assert_eq!(
            m.count(&latency),
            1,
            "failures record a latency too: {latency}"
        );
    }
    let m = server.metrics().await;
    assert_eq!(m.count("movieguru_chat_calls_success_total"), 0);
    // No sentiment, outcome or safety sample on a failed chat.
    assert!(
        !m.text
            .lines()
            .any(|l| l.starts_with("movieguru_chat_outcome_counter_total") && !l.ends_with(" 0"))
    );
    assert!(
        !m.text
            .lines()
            .any(|l| l.starts_with("movieguru_chat_sentiment_counter_total") && !l.ends_with(" 0"))
    );
    assert_eq!(m.count("movieguru_chat_safetyissue_counter_total"), 0);
    server.stop().await;
}

#[tokio::test]
async fn locust_posts_to_logout_and_history_succeed_silently() {
    let server = TestServer::start(LatencyMode::Record).await;
    for path in ["/logout", "/history"] {
        let (status, body) = server.post(path, "").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""), "{path}");
    }
    let m = server.metrics().await;
    assert_eq!(m.count("movieguru_Logout_attempts_total"), 0);
    assert_eq!(m.count(&requests("/logout", "POST", "200")), 1);
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let server = TestServer::start(LatencyMode::Record).await;
    let (status, body) = server.get("/does/not/exist").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["error"], "no such route");
    for (method, path, allow) in [
        (Method::PUT, "/chat", "POST"),
        (Method::GET, "/login", "POST"),
        (Method::DELETE, "/startup", "GET"),
        (Method::PATCH, "/phase", "GET, POST, DELETE"),
        (Method::PUT, "/history", "GET, DELETE, POST"),
    ] {
        let (status, headers, body) = server.send(method.clone(), path, "").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(headers["allow"], allow, "{method} {path}");
        assert!(
            json(&body)["error"]
                .as_str()
                .unwrap()
                .contains(method.as_str())
        );
    }
    let m = server.metrics().await;
    assert_eq!(m.count(&requests("unmatched", "GET", "404")), 1);
    assert_eq!(m.count(&requests("/chat", "PUT", "405")), 1);
    assert_eq!(m.count("movieguru_chat_calls_total"), 0);
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_anything_is_counted() {
    let server = TestServer::start(LatencyMode::Record).await;
    let big = "x".repeat(65 * 1024);
    let (status, _) = server.post("/chat", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        server.metrics().await.count("movieguru_chat_calls_total"),
        0
    );
    server.stop().await;
}
