//! Revision profiles: the failing canary, the good `jokes` revision, and `--revision` labels.

use clap::Parser;
use http::{Method, StatusCode};
use mock_server::Config;
use mock_server::answer::profile::Profile;
use mock_server::cli::{Args, ConfigError};
use mock_server::testing::assert_binomial;

use crate::support::{TestServer, requests};

fn config(args: &[&str]) -> Result<Config, ConfigError> {
    Config::try_from(Args::parse_from(
        ["mock-server", "--latency-mode", "record"]
            .iter()
            .chain(args),
    ))
}

#[tokio::test]
async fn the_failing_canary_fails_everything_but_operations() {
    let server =
        TestServer::with_config(config(&["--profile", "failing", "--revision", "next"]).unwrap())
            .await;
    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/startup"),
        (Method::POST, "/chat"),
        (Method::POST, "/login"),
        (Method::GET, "/history"),
    ] {
        let (status, headers, body) = server.send(method, path, "{}").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(headers["x-revision"], "next");
        assert!(body.contains("failing revision"), "{body}");
    }
    for path in ["/healthz", "/readyz", "/phase", "/metrics"] {
        assert_eq!(server.get(path).await.0, StatusCode::OK, "{path}");
    }
    let m = server.metrics().await;
    assert_eq!(
        m.count("movieguru_startup_attempts_total"),
        0,
        "the app never saw it"
    );
    let labelled = r#"http_requests_total{code="500",method="GET",revision="next",route="/"}"#;
    assert_eq!(m.count(labelled), 1, "{}", m.text);
    server.stop().await;
}

#[tokio::test]
async fn the_failing_ratio_and_status_are_configurable() {
    let cfg = config(&[
        "--profile",
        "failing",
        "--failing-status",
        "503",
        "--failing-ratio",
        "0.3",
    ])
    .unwrap();
    assert_eq!(
        cfg.profile,
        Profile::Failing {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ratio: 0.3
        }
    );
    let server = TestServer::with_config(cfg).await;
    let mut failed = 0;
    for _ in 0..2_000 {
        match server.get("/healthz").await.0 {
            StatusCode::OK => {}
            other => panic!("/healthz must never fail, got {other}"),
        }
        let (status, _) = server.get("/").await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            failed += 1;
        } else {
            assert_eq!(status, StatusCode::OK);
        }
    }
    assert_binomial("503s", failed, 2_000, 0.3, 4.0);
    assert_eq!(
        server.metrics().await.count(&requests("/", "GET", "503")),
        failed
    );
    server.stop().await;
}

#[tokio::test]
async fn the_jokes_revision_answers_root_with_a_joke() {
    let server =
        TestServer::with_config(config(&["--profile", "jokes", "--revision", "good"]).unwrap())
            .await;
    let (status, headers, body) = server.send(Method::GET, "/", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(headers["x-revision"], "good");
    assert!(body.len() > 10 && !body.starts_with('{'), "{body}");
    server.stop().await;
}

#[test]
fn bad_profile_flags_are_refused_with_a_reason() {
    for (args, words) in [
        (
            &["--profile", "failing", "--failing-status", "200"][..],
            "4xx or 5xx",
        ),
        (
            &["--profile", "failing", "--failing-ratio", "1.5"][..],
            "[0, 1]",
        ),
        (
            &["--failing-ratio", "0.5"][..],
            "only apply to --profile failing",
        ),
        (&["--revision", "bad name!"][..], "--revision"),
        (&["--revision", ""][..], "--revision"),
    ] {
        let err = config(args).unwrap_err().to_string();
        assert!(err.contains(words), "{args:?}: {err}");
    }
    assert!(Args::try_parse_from(["mock-server", "--profile", "nope"]).is_err());
}
