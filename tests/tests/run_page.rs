//! `--web`'s run page on a hey-mode split run (`-z`), in a real headless Chromium: two real
//! revisions (one failing), the page's table and charts fill from polled `/stats`, the split form
//! moves all traffic to the good revision, and the report records that change with per-target
//! counts equal to each revision's own `/metrics` exactly. Skipped with `SKIPPED` when
//! chromium/chromedriver are missing, unless `REQUIRE_CHROMIUM=1`.
//!
//! `RUN_SCREENSHOTS=DIR` writes `run-page.png` (1280x800) there, and `RUN_LOAD_SECS` (default 0)
//! lets the run go on that much longer before the change and again after it, so the charts have
//! some history.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use e2e::browser::{self, Browser, HEIGHT, WIDTH};
use e2e::revision;
use engine::load::live_split::LiveSplit;
use engine::load::run_view::RunView;
use mock_server::testing::parse_metrics;

const LIMIT: Duration = Duration::from_secs(10);

/// Sends `method path` with `body`: (status, body).
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let answer = e2e::http(addr, method, path, body).await;
    (answer.status, answer.body)
}

async fn get(addr: SocketAddr, path: &str) -> String {
    http(addr, "GET", path, "").await.1
}

/// Requests the revision answered (`http_requests_total`, the scrapes of `/metrics` left out).
async fn served(addr: SocketAddr) -> u64 {
    parse_metrics(&get(addr, "/metrics").await)
        .iter()
        .filter(|(series, _)| series.starts_with("http_requests_total{"))
        .filter(|(series, _)| !series.contains("route=\"/metrics\""))
        .map(|(_, value)| *value as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_page_fills_and_its_form_moves_the_split() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let good = revision("good", "jokes").await;
    let next = revision("next", "failing").await;
    let extra: u64 = std::env::var("RUN_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (g, n, z) = (
        format!("good=http://{good}/"),
        format!("next=http://{next}/"),
        format!("{}s", 6 + 2 * extra),
    );
    let cli = loadgen::cli::Cli::try_parse_from([
        "loadgen",
        "--no-progress",
        "--rate",
        "50",
        "-z",
        &z,
        "--target",
        &g,
        "--target",
        &n,
        "--split",
        "next=30",
        "--web",
        "127.0.0.1:0",
    ])
    .unwrap();
    let run = loadgen::cli::HeyRun::try_from(cli.hey).unwrap();
    assert!(run.web.is_some());
    // What the runner does for --web: the split, the view, the page on its own address.
    let split = LiveSplit::new(&[("good".into(), 70), ("next".into(), 30)]);
    let view = RunView::new(
        "hey".into(),
        vec!["good".into(), "next".into()],
        Some(split.clone()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page = listener.local_addr().unwrap();
    let (stop_page, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(loadgen::web::serve(
        view.clone(),
        listener,
        webui::guard::HostPolicy::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let live = engine::Live {
        split: Some(split),
        view: Some(view.clone()),
        ..Default::default()
    };
    let load = tokio::spawn(engine::run(run.plan, live, std::future::pending()));

    b.open(page, "/").await;
    b.wait_until(
        "both targets' rows with requests",
        "Array.from(document.querySelectorAll('#stats-rows tr .requests')).map(e => Number(e.getAttribute('data-value')))",
        LIMIT,
        |v| v.as_array().is_some_and(|a| a.len() == 2 && a.iter().all(|n| n.as_u64() > Some(0))),
    )
    .await;
    b.wait_until(
        "the charts to draw lines",
        "document.querySelectorAll('#chart-rps path.line').length + ',' + document.querySelectorAll('#chart-rt path.line').length",
        LIMIT,
        |v| v.as_str().is_some_and(|s| s.split(',').all(|n| n.parse::<u32>().unwrap_or(0) > 0)),
    )
    .await;
    let state = b
        .wait_until(
            "the status",
            "document.getElementById('state').textContent",
            LIMIT,
            |v| v == "RUNNING",
        )
        .await;
    assert_eq!(state, "RUNNING");
    // For a screenshot: some history on both sides of the change.
    tokio::time::sleep(Duration::from_secs(extra)).await;
    b.type_into("split-w-0", "100").await;
    b.click("split-apply").await;
    b.wait_until(
        "the page to say the split moved",
        "document.getElementById('split-msg').textContent",
        LIMIT,
        |v| v.as_str().is_some_and(|s| s.contains("next 0%")),
    )
    .await;
    b.wait_until(
        "the change listed",
        "document.querySelectorAll('#split-events tbody tr').length",
        LIMIT,
        |v| v == 1,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(extra)).await;
    b.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = b.screenshot().await;
    assert_eq!(browser::png_size(&png), Some((WIDTH, HEIGHT)));
    if let Some(dir) = std::env::var_os("RUN_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join("run-page.png");
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }

    let report = tokio::time::timeout(Duration::from_secs(60), load)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    view.finished();
    b.wait_until(
        "the page to show the run finished",
        "document.getElementById('state').textContent",
        LIMIT,
        |v| v == "FINISHED",
    )
    .await;
    b.close().await;
    let (status, reply) = http(page, "POST", "/split", r#"{"next":50}"#).await;
    assert_eq!(status, 409, "a finished run's split cannot change: {reply}");
    let _ = stop_page.send(());

    let (served_good, served_next) = (served(good).await, served(next).await);
    let mut out = Vec::new();
    loadgen::output::json(&mut out, &report).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let events = json["split_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{json}");
    let e = &events[0];
    let count = |side: &str, t: &str| e[side][t].as_u64().unwrap();
    assert_eq!(e["weights_after"]["next"], 0);
    assert_eq!(
        served_good,
        count("requests_before", "good") + count("requests_after", "good")
    );
    assert_eq!(served_next, count("requests_before", "next"));
    assert_eq!(count("requests_after", "next"), 0);
    assert!(served_next > 0 && count("requests_after", "good") > 0);
}

/// A timeline's run page names the step going on and its phase (none here: "(unchanged)").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeline_run_page_shows_its_step() {
    use loadgen::scenario;
    let Some(b) = Browser::start().await else {
        return;
    };
    let good = revision("good", "jokes").await;
    // A scratch directory of this process's own, removed at the end.
    let dir = std::env::temp_dir().join(format!("run-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journey = dir.join("j.toml");
    std::fs::write(
        &journey,
        "wait = \"10ms..20ms\"\n[[task]]\nname = \"open\"\nweight = 1\n[[task.request]]\npath = \"/\"\n",
    )
    .unwrap();
    let timeline = dir.join("t.toml");
    std::fs::write(
        &timeline,
        format!(
            "[[step]]\nname = \"warm up\"\nduration = \"1s\"\nload = {{ users = 2, journey = \"{j}\" }}\n\
             [[step]]\nname = \"steady\"\nduration = \"4s\"\nload = {{ users = 2, journey = \"{j}\" }}\n",
            j = journey.display()
        ),
    )
    .unwrap();
    let host = format!("http://{good}");
    let cli = loadgen::cli::Cli::try_parse_from([
        "loadgen",
        "scenario",
        "run",
        timeline.to_str().unwrap(),
        "--host",
        &host,
        "--web",
        "127.0.0.1:0",
    ])
    .unwrap();
    let Some(loadgen::cli::Command::Scenario(loadgen::cli::ScenarioCommand::Run(args))) =
        cli.command
    else {
        panic!("a scenario command");
    };
    let options = scenario::ScenarioOptions::from(&args);
    let steps = scenario::plan(&options).unwrap();
    let view = RunView::new("scenario t.toml".into(), vec!["default".into()], None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page = listener.local_addr().unwrap();
    let (stop_page, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(loadgen::web::serve(
        view.clone(),
        listener,
        webui::guard::HostPolicy::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let live = engine::Live {
        view: Some(view.clone()),
        ..engine::Live::default()
    };
    let run = tokio::spawn(async move {
        scenario::run(steps, &options, live, |_, _| {}, std::future::pending()).await
    });
    b.open(page, "/").await;
    let step = b
        .wait_until(
            "the second step",
            "document.getElementById('step-shown').hidden ? '' : document.getElementById('step').textContent + ' | ' + document.getElementById('phase').textContent",
            LIMIT,
            |v| v.as_str().is_some_and(|s| s.starts_with("2/2")),
        )
        .await;
    assert_eq!(step, "2/2 steady | (unchanged)");
    assert_eq!(
        http(page, "GET", "/split", "").await.0,
        404,
        "one target: no split"
    );
    b.wait_until(
        "the table to count both steps",
        "Number(document.querySelector('#stats-total .requests').getAttribute('data-value'))",
        LIMIT,
        |v| v.as_u64() > Some(0),
    )
    .await;
    let reports = run.await.unwrap().unwrap();
    view.finished();
    let answered: u64 = reports
        .iter()
        .filter_map(|s| s.report.as_ref())
        .map(|r| r.total.requests)
        .sum();
    let doc: serde_json::Value = serde_json::from_str(&get(page, "/stats").await).unwrap();
    // The page's total is the whole timeline's: both steps' reports together.
    assert_eq!(doc["total"]["requests"].as_u64(), Some(answered), "{doc}");
    assert_eq!(doc["state"], "finished");
    b.close().await;
    let _ = stop_page.send(());
    let _ = std::fs::remove_dir_all(&dir);
}
