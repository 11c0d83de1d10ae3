//! mock-server's console (`GET /ui`) over a real mock-server under load from loadgen, both
//! in-process: the numbers it shows against `/metrics`, and the page itself driven in a real
//! headless Chromium (skipped with `SKIPPED` when chromium/chromedriver are missing, unless
//! `REQUIRE_CHROMIUM=1`).
//!
//! `CONSOLE_SCREENSHOTS=DIR` writes the healthy, breach and phase-form screenshots (1280x800)
//! there, and
//! `CONSOLE_LOAD_SECS` sets how long each load runs (default 4 s); `scripts/screenshots` uses both.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use e2e::browser::{self, Browser, HEIGHT, WIDTH};
use mock_server::console::quantile::histogram_quantile;
use mock_server::testing::{TestServer, label, parse_metrics, sample};
use serde_json::Value;

const TOKEN: &str = "console-test-token";

/// Starts mock-server (recording, not sleeping, its latencies) with extra flags, through the
/// shared fixture, whose `stop` re-raises a server panic.
async fn server(extra: &[&str]) -> TestServer {
    e2e::pages::recording_mock(extra).await
}

use e2e::http;

async fn phase(addr: SocketAddr) -> Value {
    let answer = http(addr, "GET", "/phase", "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["CurrentProbMetrics"].clone()
}

/// A histogram's cumulative buckets as `/metrics` exports them, `+Inf` last.
fn buckets(metrics: &BTreeMap<String, f64>, histogram: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{histogram}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = metrics
        .iter()
        .filter(|(series, _)| series.starts_with(&prefix))
        .filter_map(|(series, value)| {
            let le = match label(series, "le")? {
                "+Inf" => f64::INFINITY,
                le => le.parse().ok()?,
            };
            Some((le, *value))
        })
        .collect();
    // The map is in text order; the exposition's (and the quantile's) is by bound.
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

fn load_secs() -> u64 {
    std::env::var("CONSOLE_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

/// The workshop's endpoints at fixed rates for `secs`, all at once, through loadgen.
async fn load(addr: SocketAddr, secs: u64, only_chat: bool) {
    let all: &[(&str, &str, u32)] = &[
        ("POST", "/chat", 40),
        ("POST", "/login", 8),
        ("GET", "/startup", 8),
        ("GET", "/preferences", 12),
        ("POST", "/preferences", 12),
        ("GET", "/logout", 4),
    ];
    let runs =
        all.iter()
            .take(if only_chat { 1 } else { all.len() })
            .map(|&(method, path, rate)| {
                let args: Vec<String> = [
                    "loadgen",
                    "-z",
                    &format!("{secs}s"),
                    "-c",
                    "2",
                    "-q",
                    &(rate / 2).to_string(),
                    "-m",
                    method,
                    "-d",
                    "{}",
                    "-T",
                    "application/json",
                    "--no-progress",
                    &format!("http://{addr}{path}"),
                ]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
                async move {
                    let cli = loadgen::cli::Cli::try_parse_from(args).unwrap();
                    let plan = engine::plan::Plan::try_from(cli.hey).unwrap();
                    engine::run(plan, engine::Live::default(), std::future::pending())
                        .await
                        .unwrap()
                }
            });
    let handles: Vec<_> = runs.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}

async fn screenshot(b: &Browser, name: &str) {
    // Clicks scroll the page; the screenshots show its top.
    b.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    save_screenshot(&b.screenshot().await, name);
}

fn save_screenshot(png: &[u8], name: &str) {
    assert_eq!(
        browser::png_size(png),
        Some((WIDTH, HEIGHT)),
        "screenshot size"
    );
    if let Some(dir) = std::env::var_os("CONSOLE_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }
}

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_numbers_agree_with_metrics_over_the_window() {
    let srv = server(&[]).await;
    let addr = srv.addr;
    load(addr, 2, false).await;
    // Nothing else is sent now, so /metrics and the window's end hold the same counts.
    let metrics = parse_metrics(&http(addr, "GET", "/metrics", "").await.body);
    let answer = http(addr, "GET", "/ui/data?window=5m", "").await;
    let (status, head, body) = (answer.status, answer.head, answer.body);
    assert_eq!(status, 200, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let data: Value = serde_json::from_str(&body).unwrap();
    let chat = data["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "chat")
        .unwrap();
    let calls = sample(&metrics, "movieguru_chat_calls_total");
    let ok = sample(&metrics, "movieguru_chat_calls_success_total");
    assert!(calls > 50.0, "the load sent only {calls} chats");
    assert_eq!(
        chat["totals"]["requests"].as_f64(),
        Some(calls),
        "total chats"
    );
    let share = chat["totals"]["success_share"].as_f64().unwrap();
    assert!(
        (share - ok / calls).abs() < 1e-12,
        "success share {share} vs /metrics {}",
        ok / calls
    );
    let want = histogram_quantile(
        0.99,
        &buckets(&metrics, "movieguru_chat_latency_milliseconds"),
    )
    .unwrap();
    let got = chat["totals"]["p99_ms"].as_f64().unwrap();
    assert!(
        (got - want).abs() < 1e-9,
        "chat p99 {got} vs histogram_quantile over /metrics {want}"
    );
    // Every endpoint the load hit shows its requests, as its attempts counter says.
    for (key, series) in [
        ("login", "movieguru_login_attempts_total"),
        ("startup", "movieguru_startup_attempts_total"),
        ("prefGet", "movieguru_prefGet_attempts_total"),
        ("prefUpdate", "movieguru_prefUpdate_attempts_total"),
        ("logout", "movieguru_Logout_attempts_total"),
    ] {
        let e = data["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .unwrap();
        assert_eq!(
            e["totals"]["requests"].as_f64(),
            Some(sample(&metrics, series)),
            "{key}"
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_fills_takes_a_preset_shows_the_breach_and_refuses_bad_values() {
    let Some(b) = Browser::start().await else {
        return;
    };
    // Challenge 5's phase: the workshop's healthy service, chat under 5 s.
    let healthy = e2e::workspace_path("scenarios/phases/challenge5.json");
    let srv = server(&["--phase", healthy.to_str().unwrap()]).await;
    let addr = srv.addr;
    let secs = load_secs();
    load(addr, secs, false).await;
    b.open(addr, "/ui").await;

    // Panels fill: every endpoint has drawn lines and counted requests.
    b.wait_until(
        "every endpoint panel to show requests and lines",
        "Array.from(document.querySelectorAll('section.endpoint')).map(p => \
         Number(p.querySelector('b.total').dataset.value || 0) > 0 && \
         p.querySelectorAll('path.line').length >= 7)",
        LIMIT,
        |v| {
            v.as_array()
                .is_some_and(|a| a.len() == 6 && a.iter().all(|x| x == true))
        },
    )
    .await;
    // The page's total chats is what /metrics counts (nothing is sent meanwhile).
    let metrics = parse_metrics(&http(addr, "GET", "/metrics", "").await.body);
    let calls = sample(&metrics, "movieguru_chat_calls_total");
    b.wait_until(
        "the page's total chats to equal /metrics",
        "Number(document.querySelector('#ep-chat b.total').dataset.value)",
        LIMIT,
        |v| v.as_f64() == Some(calls),
    )
    .await;
    b.wait_until(
        "chat-latency to be good",
        "document.querySelector('#slo-chat-latency .state').textContent",
        LIMIT,
        |v| v == "good",
    )
    .await;
    screenshot(&b, "console-healthy.png").await;

    // An invalid value: the server's message beside its field, the phase unchanged.
    let before = phase(addr).await;
    b.wait_until(
        "the phase form",
        "!!document.getElementById('f-ChatSuccess')",
        LIMIT,
        |v| v == true,
    )
    .await;
    b.type_into("f-ChatSuccess", "1.5").await;
    b.click("phase-submit").await;
    let shown = b
        .wait_until(
            "the field's error",
            "document.getElementById('err-ChatSuccess').textContent",
            LIMIT,
            |v| v.as_str().is_some_and(|s| !s.is_empty()),
        )
        .await;
    let answer = http(addr, "POST", "/phase", r#"{"ChatSuccess": 1.5}"#).await;
    let (status, refusal) = (answer.status, answer.body);
    assert_eq!(status, 400);
    let server_says: Value = serde_json::from_str(&refusal).unwrap();
    assert_eq!(
        shown, server_says["error"],
        "the page shows the server's own message"
    );
    assert_eq!(
        phase(addr).await,
        before,
        "a refused value leaves the phase unchanged"
    );
    if std::env::var_os("CONSOLE_SCREENSHOTS").is_some() {
        b.client
            .execute(
                "document.getElementById('phase-form-panel').scrollIntoView()",
                vec![],
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        save_screenshot(&b.screenshot().await, "console-phase-form.png");
    }
    b.click("phase-revert").await;

    // The challenge6 preset: GET /phase changes, chat p99 passes 5000 ms, the SLO breaches.
    b.click("preset-challenge6").await;
    let deadline = tokio::time::Instant::now() + LIMIT;
    while phase(addr).await["ChatLatencyMinMS"] != 3000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the preset never reached GET /phase"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let preset: Value = serde_json::from_str(scenarios::preset("challenge6").unwrap()).unwrap();
    let now = phase(addr).await;
    for (k, v) in preset.as_object().unwrap() {
        assert_eq!(now[k].as_f64(), v.as_f64(), "{k} after the preset");
    }
    load(addr, secs, false).await;
    b.wait_until(
        "the chat p99 shown to pass 5000 ms",
        "Number(document.querySelector('#ep-chat b.p99').dataset.value)",
        LIMIT,
        |v| v.as_f64().is_some_and(|ms| ms > 5000.0),
    )
    .await;
    b.wait_until(
        "chat-latency to be breached",
        "document.querySelector('#slo-chat-latency .state').textContent",
        LIMIT,
        |v| v == "breached",
    )
    .await;
    b.wait_until(
        "a phase-change marker",
        "document.querySelectorAll('#ep-chat line.marker').length",
        LIMIT,
        |v| v.as_u64().is_some_and(|n| n >= 1),
    )
    .await;
    screenshot(&b, "console-breach.png").await;
    b.close().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_token_a_write_fails_until_the_token_is_entered() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let srv = server(&["--admin-token", TOKEN]).await;
    let addr = srv.addr;
    b.open(addr, "/ui").await;
    b.wait_until(
        "the token field",
        "!document.getElementById('token-row').hidden",
        LIMIT,
        |v| v == true,
    )
    .await;
    b.wait_until(
        "the presets",
        "!!document.getElementById('preset-challenge6')",
        LIMIT,
        |v| v == true,
    )
    .await;
    let before = phase(addr).await;
    b.click("preset-challenge6").await;
    b.wait_until(
        "the refusal",
        "document.getElementById('phase-msg').textContent",
        LIMIT,
        |v| v.as_str().is_some_and(|s| s.contains("admin token")),
    )
    .await;
    assert_eq!(phase(addr).await, before, "no write without the token");

    b.type_into("token", TOKEN).await;
    b.click("token-save").await;
    b.click("preset-challenge6").await;
    b.wait_until(
        "the preset to apply",
        "document.getElementById('phase-msg').textContent",
        LIMIT,
        |v| v.as_str().is_some_and(|s| s.contains("applied")),
    )
    .await;
    assert_eq!(phase(addr).await["ChatLatencyMinMS"], 3000);
    // Fields GET /phase leaves out at their defaults are in the form too, and partial edits work.
    b.wait_until(
        "the form to show the fault fields",
        "!!document.getElementById('f-ChatFaultRatio')",
        LIMIT,
        |v| v == true,
    )
    .await;
    b.type_into("f-ChatLatencyDistribution", "lognormal").await;
    b.type_into("f-ChatFault", "reset").await;
    b.type_into("f-ChatFaultRatio", "0.25").await;
    b.click("phase-submit").await;
    b.wait_until(
        "the edit to apply",
        "document.getElementById('form-msg').textContent",
        LIMIT,
        |v| v.as_str().is_some_and(|s| s.starts_with("applied")),
    )
    .await;
    let now = phase(addr).await;
    assert_eq!(
        (
            &now["ChatLatencyDistribution"],
            &now["ChatFault"],
            &now["ChatFaultRatio"]
        ),
        (
            &Value::from("lognormal"),
            &Value::from("reset"),
            &Value::from(0.25)
        ),
        "{now}"
    );
    assert_eq!(
        now["ChatLatencyMinMS"], 3000,
        "fields not edited stay as they were"
    );
    // The token never appears in what the server sends the page.
    let data = http(addr, "GET", "/ui/data", "").await.body;
    assert!(
        !data.contains(TOKEN) && data.contains("\"writes_need_token\":true"),
        "{data}"
    );
    b.close().await;
    srv.stop().await;
}
