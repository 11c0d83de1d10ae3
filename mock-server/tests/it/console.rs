//! `/ui`, the console: its page and assets with the headers a public page needs, the data
//! document's numbers against `/metrics`, the timeline step and the revision panel.

use std::time::Duration;

use http::{Method, StatusCode};
use mock_server::answer::profile::Profile;
use mock_server::drive::timeline::PhasePlan;
use mock_server::{Config, LatencyMode, Phase};
use scenarios::Timeline;
use serde_json::Value;

use crate::support::TestServer;

async fn data(server: &TestServer, window: &str) -> Value {
    let (status, body) = server.get(&format!("/ui/data?window={window}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn endpoint<'a>(d: &'a Value, key: &str) -> &'a Value {
    d["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .unwrap()
}

#[tokio::test]
async fn the_page_and_its_assets_carry_a_strict_policy_and_no_inline_script() {
    let server = TestServer::start(LatencyMode::Record).await;
    for (path, kind) in [
        ("/ui", "text/html"),
        ("/ui/", "text/html"),
        ("/ui/chart.js", "text/javascript"),
        ("/ui/base.css", "text/css"),
        ("/ui/console.js", "text/javascript"),
        ("/ui/console.css", "text/css"),
        ("/ui/data", "application/json"),
        ("/ui/presets", "application/json"),
        ("/ui/fields", "application/json"),
    ] {
        let (status, headers, body) = server.send(Method::GET, path, "").await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        assert!(h("content-type").unwrap().starts_with(kind), "{path}");
        assert_eq!(
            h("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        let csp = h("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
    }
    let (_, page) = server.get("/ui").await;
    // Every script has a src: with script-src 'self', an inline one would not even run.
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/ui/").count()
    );
    for inline in ["onclick=", "onload=", "onerror=", "style=", "javascript:"] {
        assert!(!page.contains(inline), "the page has inline {inline}");
    }
    let (status, body) = server.get("/ui/../Cargo.toml").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = server.send(Method::POST, "/ui/data", "{}").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    server.stop().await;
}

#[tokio::test]
async fn the_form_learns_every_field_including_those_get_phase_leaves_out() {
    let server = TestServer::start(LatencyMode::Record).await;
    let (_, body) = server.get("/ui/fields").await;
    let fields: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let document = server.phase().await;
    for k in document["CurrentProbMetrics"].as_object().unwrap().keys() {
        assert!(names.contains(&k.as_str()), "{k} missing from /ui/fields");
    }
    for k in ["ChatLatencyDistribution", "ChatFault", "ChatFaultRatio"] {
        assert!(names.contains(&k), "{k} missing from /ui/fields");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_bad_window_is_refused_naming_the_parameter() {
    let server = TestServer::start(LatencyMode::Record).await;
    let (status, body) = server.get("/ui/data?window=2h").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["field"], "window");
    assert!(e["error"].as_str().unwrap().contains("5m, 15m, 60m"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn window_totals_equal_the_metrics_counters_of_a_young_server() {
    let server = TestServer::start(LatencyMode::Record).await;
    for _ in 0..40 {
        server.post("/chat", "{}").await;
        server.send(Method::GET, "/startup", "").await;
    }
    let scrape = server.metrics().await;
    for window in ["5m", "15m", "60m"] {
        let d = data(&server, window).await;
        let chat = endpoint(&d, "chat");
        assert_eq!(
            chat["totals"]["requests"].as_u64(),
            Some(scrape.count("movieguru_chat_calls_total")),
            "{window}"
        );
        assert_eq!(
            chat["totals"]["success"].as_u64(),
            Some(scrape.count("movieguru_chat_calls_success_total")),
            "{window}"
        );
        assert_eq!(
            endpoint(&d, "startup")["totals"]["requests"].as_u64(),
            Some(40),
            "{window}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn the_timeline_step_in_force_is_shown_with_its_time_left() {
    let timeline = Timeline::parse(
        "[[step]]\nname = \"warm-up\"\nduration = \"1s\"\n[[step]]\nname = \"breach\"\nphase = \"challenge6\"\nduration = \"10m\"\n",
        None,
    )
    .unwrap();
    let plan = PhasePlan::new(&timeline, &Phase::workshop_default()).unwrap();
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        timeline: Some(plan),
        ..Config::default()
    })
    .await;
    // The second step starts after 1 s; the sampler sees it within a second more.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let d = data(&server, "5m").await;
    let tl = &d["timeline"];
    assert_eq!(tl["step"], "breach", "{tl}");
    assert_eq!(
        (tl["index"].as_i64(), tl["steps"].as_u64()),
        (Some(1), Some(2))
    );
    let left = tl["left_s"].as_f64().unwrap();
    assert!(
        (590.0..=600.0).contains(&left),
        "{left} s left of a 10 min step"
    );
    // Each step's phase change is a marker on the charts.
    assert!(!d["markers"].as_array().unwrap().is_empty(), "{d}");
    server.stop().await;
}

#[tokio::test]
async fn a_failing_revision_shows_its_profile_and_the_error_share_of_get_root() {
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        profile: Profile::Failing {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            ratio: 1.0,
        },
        revision: Some("canary-2".into()),
        ..Config::default()
    })
    .await;
    for _ in 0..25 {
        server.get("/").await;
    }
    // The console still answers on a failing revision.
    let d = data(&server, "5m").await;
    let s = &d["service"];
    assert_eq!(s["profile"], "failing");
    assert_eq!(s["revision"], "canary-2");
    assert_eq!(
        (s["root_requests"].as_u64(), s["root_errors"].as_u64()),
        (Some(25), Some(25))
    );
    assert_eq!(
        s["root_error_share"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64(),
        Some(1.0)
    );
    server.stop().await;
}
