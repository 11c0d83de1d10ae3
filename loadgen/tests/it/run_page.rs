//! `--web` on hey mode (`-z`) and on `scenario run`: the binary serves the run page and its API
//! on the address given (`127.0.0.1:0`: it says which port it got), `GET /stats` shows the run
//! going on, `POST /split` moves traffic, and the JSON report records the change with counts
//! equal to both servers' own counters.

use std::time::Duration;

use mock_server::testing::http::{JSON, call};
use mock_server::testing::value;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use super::mock::Mock;
use super::{CPU, STARTUP_JOURNEY, file, half_and_half};

const STARTUPS: &str = "movieguru_startup_attempts_total";

/// Sends `method` with `body` to `url`: (status, JSON answer).
async fn json(method: &str, url: &str, body: &str) -> (u16, Value) {
    let answer = call(method, url, &[JSON], body).await;
    (answer.status, answer.json())
}

/// Starts the binary with `args`; returns it and the page's base URL from its stderr.
async fn start(args: &[&str]) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if let Some(rest) = line.split("the run page is on ").nth(1) {
                return rest.trim().trim_end_matches('/').to_owned();
            }
        }
        panic!("loadgen never said where its page is");
    })
    .await
    .expect("the page's address within 20 s");
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    (child, base)
}

/// The page, its shared split panel and its security headers are served.
async fn page_is_served(base: &str) {
    let page = call("GET", &format!("{base}/"), &[JSON], "").await;
    let html = &page.body;
    assert_eq!(page.status, 200);
    assert!(
        html.contains("/run.js") && html.contains("/split.js"),
        "{html}"
    );
    assert!(html.contains("id=\"split-panel\""));
    assert!(!html.contains("<script>"), "no inline script");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    for asset in ["run.js", "split.js", "chart.js", "swarm.css", "base.css"] {
        let status = call("GET", &format!("{base}/{asset}"), &[JSON], "")
            .await
            .status;
        assert_eq!(status, 200, "{asset}");
    }
    let status = call("GET", &format!("{base}/nope.js"), &[JSON], "")
        .await
        .status;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hey_web_serves_the_run_and_moves_the_split() {
    let _cpu = CPU.read().await;
    let (good, next) = (Mock::start(None).await, Mock::start(None).await);
    let (g, n) = (
        format!("good={}/startup", good.url()),
        format!("next={}/startup", next.url()),
    );
    let (child, base) = start(&[
        "--target",
        &g,
        "--target",
        &n,
        "-z",
        "4s",
        "-c",
        "2",
        "-q",
        "50",
        "-o",
        "json",
        "--web",
        "127.0.0.1:0",
    ])
    .await;
    page_is_served(&base).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, stats) = json("GET", &format!("{base}/stats"), "").await;
    assert_eq!(status, 200);
    assert_eq!(stats["state"], "running", "{stats}");
    assert_eq!(stats["title"], "hey");
    assert!(stats["step"].is_null());
    assert_eq!(stats["targets"][0]["target"], "good");
    assert_eq!(stats["targets"][1]["target"], "next");
    assert!(stats["total"]["requests"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["elapsed_secs"].as_f64().unwrap() >= 1.0, "{stats}");
    // No --split: equal weights, as the plan has them.
    assert_eq!(stats["split"]["weights"][1], serde_json::json!(["next", 1]));

    let (status, bad) = json("POST", &format!("{base}/split"), r#"{"nope": 1}"#).await;
    assert_eq!(status, 400, "{bad}");
    let (status, ok) = json("POST", &format!("{base}/split"), r#"{"good": 100}"#).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["weights"]["next"], 0);
    let (_, split) = json("GET", &format!("{base}/split"), "").await;
    assert_eq!(split["events"].as_array().unwrap().len(), 1, "{split}");

    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (served_good, served_next) = (
        value(&good.metrics().await, STARTUPS),
        value(&next.metrics().await, STARTUPS),
    );
    good.stop().await;
    next.stop().await;
    let e = &report["split_events"][0];
    assert_eq!(e["weights_after"]["good"], 100, "{report}");
    let count = |side: &str, t: &str| e[side][t].as_u64().unwrap();
    assert_eq!(
        served_good,
        count("requests_before", "good") + count("requests_after", "good")
    );
    assert_eq!(served_next, count("requests_before", "next"));
    assert_eq!(count("requests_after", "next"), 0);
    assert!(served_next > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hey_web_needs_a_duration() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["-n", "10", "--web", "127.0.0.1:0", "http://127.0.0.1:9/"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--web") && err.contains("-z"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_web_shows_the_step_and_moves_the_split() {
    let _cpu = CPU.read().await;
    let (good, canary, [g, c]) = Mock::good_and_canary().await;
    let dir = tempfile::tempdir().unwrap();
    let journey = file(&dir, "j.toml", STARTUP_JOURNEY);
    let timeline = file(&dir, "t.toml", &half_and_half(&journey, "4s"));
    let (child, base) = start(&[
        "scenario",
        "run",
        &timeline,
        "--target",
        &g,
        "--target",
        &c,
        "--json",
        "--web",
        "127.0.0.1:0",
    ])
    .await;
    page_is_served(&base).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, stats) = json("GET", &format!("{base}/stats"), "").await;
    assert_eq!(status, 200);
    assert_eq!(stats["state"], "running", "{stats}");
    assert_eq!(stats["step"]["name"], "half and half", "{stats}");
    assert_eq!(
        stats["title"], "scenario t.toml",
        "the file's name, not its path"
    );
    assert_eq!(
        (
            stats["step"]["index"].as_u64(),
            stats["step"]["count"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert!(stats["total"]["requests"].as_u64().unwrap() > 0, "{stats}");
    let (status, ok) = json("POST", &format!("{base}/split"), r#"{"good": 100}"#).await;
    assert_eq!(status, 200, "{ok}");

    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (served_good, served_canary) = (
        value(&good.metrics().await, STARTUPS),
        value(&canary.metrics().await, STARTUPS),
    );
    good.stop().await;
    canary.stop().await;
    let events = reports[0]["split_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{reports}");
    let e = &events[0];
    let count = |side: &str, t: &str| e[side][t].as_u64().unwrap();
    assert_eq!(served_canary, count("requests_before", "canary"));
    assert_eq!(count("requests_after", "canary"), 0);
    assert_eq!(
        served_good,
        count("requests_before", "good") + count("requests_after", "good")
    );
    assert!(served_canary > 0);
}
