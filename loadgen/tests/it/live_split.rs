//! The split changed while the load runs (`--web`'s `POST /split`, on the run page's address): two real mock-servers,
//! a 50/50 split moved to good=100 mid-run; each server's own counter must equal loadgen's
//! per-target counts before and after the change exactly, and the canary must get nothing after.

use std::time::Duration;

use engine::Live;
use engine::journey;
use engine::load::live_split::LiveSplit;
use engine::load::run_view::RunView;
use mock_server::testing::http::{self, JSON};
use mock_server::testing::{assert_binomial, value};
use tokio::net::TcpListener;

use super::mock::Mock;
use super::{CPU, STARTUP_JOURNEY, file, half_and_half, plan};

const STARTUPS: &str = "movieguru_startup_attempts_total";

/// Sends `method` with `body` to `url`: (status, JSON answer).
async fn call(method: &str, url: &str, body: &str) -> (u16, serde_json::Value) {
    let answer = http::call(method, url, &[JSON], body).await;
    (answer.status, answer.json())
}

/// Serves `--web`'s run page for `split` on a free loopback port; returns its /split URL.
async fn control(split: &LiveSplit) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/split", listener.local_addr().unwrap());
    let view = RunView::new("test".into(), split.names().to_vec(), Some(split.clone()));
    tokio::spawn(loadgen::web::serve(
        view,
        listener,
        webui::guard::HostPolicy::default(),
        std::future::pending(),
    ));
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hey_mode_rollback_under_load_matches_both_servers_exactly() {
    let _cpu = CPU.read().await;
    let (good, canary) = (Mock::start(None).await, Mock::start(None).await);
    let (g, c) = (
        format!("good={}/startup", good.url()),
        format!("canary={}/startup", canary.url()),
    );
    // 4 workers at 50 requests/s each: 800 requests take at least 4 s, so a change at 1.5 s
    // lands mid-run however slow the machine is.
    let p = plan(&[
        "--target", &g, "--target", &c, "-n", "800", "-c", "4", "-q", "50",
    ]);
    let split = LiveSplit::new(&[("good".into(), 50), ("canary".into(), 50)]);
    let url = control(&split).await;
    let (status, body) = call("GET", &url, "").await;
    assert_eq!(status, 200);
    assert_eq!(body["weights"]["canary"], 50, "{body}");

    let change = {
        let url = url.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let bad = call("POST", &url, r#"{"good": 100, "nope": 0}"#).await;
            let ok = call("POST", &url, r#"{"good": 100}"#).await;
            (bad, ok)
        })
    };
    let live = engine::Live {
        split: Some(split.clone()),
        ..Default::default()
    };
    let report = engine::run(p, live, std::future::pending()).await.unwrap();
    let ((bad_status, bad), (ok_status, ok)) = change.await.unwrap();
    assert_eq!(bad_status, 400);
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("\"nope\" is not a target"),
        "{bad}"
    );
    assert_eq!(ok_status, 200, "{ok}");
    assert_eq!(ok["weights"]["canary"], 0, "{ok}");

    let (mg, mc) = (good.metrics().await, canary.metrics().await);
    good.stop().await;
    canary.stop().await;

    assert_eq!(report.abandoned, 0);
    assert_eq!(report.total.requests, 800);
    assert_eq!(report.split_events.len(), 1, "{:?}", report.split_events);
    let e = &report.split_events[0];
    eprintln!("{e:?}");
    // Each server saw exactly what loadgen routed to it, before and after the change, and the
    // canary nothing after the rollback.
    super::assert_rollback_reconciles(e, &mg, &mc, STARTUPS);
    let (served_good, served_canary) = (value(&mg, STARTUPS), value(&mc, STARTUPS));
    assert_eq!(report.targets[0].requests, served_good);
    assert_eq!(report.targets[1].requests, served_canary);
    // Before the change, at 50/50 over >= 200 requests, the canary had its share (a change
    // that came too early or too late would show here).
    let before: u64 = e.requests_before.values().sum();
    assert!((200..800).contains(&before), "{before} requests before");
    assert_binomial(
        "canary before the change",
        e.requests_before["canary"],
        before,
        0.5,
        5.0,
    );
    assert_eq!(e.weights_before["canary"], 50);
    assert_eq!(e.weights_after["good"], 100);
    assert!(e.at_secs >= 1.4, "{}", e.at_secs);

    // The JSON report records the event, and still matches its schema.
    let mut out = Vec::new();
    loadgen::output::json(&mut out, &report).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        json["split_events"][0]["requests_before"]["canary"],
        served_canary
    );
    super::assert_schema(super::REPORT_SCHEMA, &json);
    let text = super::text(&report);
    assert!(
        text.contains("Split changes:\n  at ") && text.contains("canary 50 -> 0"),
        "{text}"
    );
    // Each target's header says the weight in force at the end, not only the one it began with.
    for (name, end) in [("good", 100), ("canary", 0)] {
        let header = format!("/startup, weight 50 at the start, {end} at the end) ===");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("=== Target {name} (")) && l.ends_with(&header)),
            "{name}: {text}"
        );
    }
}

/// Journeys move too: users pick their task's target through the live split.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_rollback_under_load_matches_both_servers_exactly() {
    let _cpu = CPU.read().await;
    let (good, canary, [g, c]) = Mock::good_and_canary().await;
    let dir = tempfile::tempdir().unwrap();
    let journey = file(&dir, "j.toml", STARTUP_JOURNEY);
    let cli = super::parse(&[
        "journey",
        "--journey",
        &journey,
        "--target",
        &g,
        "--target",
        &c,
        "-u",
        "4",
        "-r",
        "100",
        "--run-time",
        "3s",
    ]);
    let Some(loadgen::cli::Command::Journey(args)) = cli.command else {
        panic!("a journey command");
    };
    let plan = loadgen::cli::JourneyPlan::try_from(args).unwrap();
    let split = LiveSplit::new(&[("good".into(), 50), ("canary".into(), 50)]);
    let url = control(&split).await;
    let change = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        call("POST", &url, r#"{"good": 100}"#).await
    });
    let live = Live {
        split: Some(split),
        ..Live::default()
    };
    let report = journey::run(plan.run, live, std::future::pending())
        .await
        .unwrap();
    assert_eq!(change.await.unwrap().0, 200);
    let (mg, mc) = (good.metrics().await, canary.metrics().await);
    good.stop().await;
    canary.stop().await;

    assert_eq!(report.abandoned, 0);
    assert_eq!(report.split_events.len(), 1);
    let e = &report.split_events[0];
    eprintln!("{e:?}");
    super::assert_rollback_reconciles(e, &mg, &mc, STARTUPS);
    assert!(e.requests_after["good"] > 0, "{e:?}");
}

/// Timelines move too: the split set by a step changes mid-step through the live split, the
/// step's report carries the event, and the HTML page marks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_rollback_mid_step_matches_both_servers_exactly() {
    use loadgen::scenario;
    let _cpu = CPU.read().await;
    let (good, canary, [g, c]) = Mock::good_and_canary().await;
    let dir = tempfile::tempdir().unwrap();
    let journey = file(&dir, "j.toml", STARTUP_JOURNEY);
    let timeline = file(&dir, "t.toml", &half_and_half(&journey, "3s"));
    let args = super::timeline::scenario_args(&[&timeline, "--target", &g, "--target", &c]);
    let steps = scenario::plan(&args).unwrap();
    let split = scenario::live_split(&steps).unwrap();
    let url = control(&split).await;
    let change = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        call("POST", &url, r#"{"good": 100}"#).await
    });
    let live = engine::Live {
        split: Some(split),
        series: true,
        ..engine::Live::default()
    };
    let reports = scenario::run(steps, &args, live, |_, _| {}, std::future::pending())
        .await
        .unwrap();
    assert_eq!(change.await.unwrap().0, 200);
    let (mg, mc) = (good.metrics().await, canary.metrics().await);
    good.stop().await;
    canary.stop().await;

    let step = &reports[0];
    // The step's own split is where the live split starts: the rollback is the one event.
    assert_eq!(step.split_events.len(), 1, "{:?}", step.split_events);
    let e = &step.split_events[0];
    assert_eq!(e.weights_before["canary"], 50);
    assert_eq!(e.weights_after["canary"], 0);
    super::assert_rollback_reconciles(e, &mg, &mc, STARTUPS);

    let html = loadgen::output::html::render(&loadgen::output::html::timeline::page(&reports));
    assert!(html.contains("half and half"));
    assert!(
        html.contains("split changed to canary 0, good 100"),
        "{html}"
    );
    assert!(html.contains("\"t_secs\""));
}

/// The binary's `--web`: it says where its page is, serves `/split` there while the run goes
/// on, and the summary prints the change with its counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_split_on_its_page_and_prints_the_change() {
    use tokio::io::AsyncBufReadExt;
    let _cpu = CPU.read().await;
    let (good, next) = (Mock::start(None).await, Mock::start(None).await);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "--target",
            &format!("good={}/startup", good.url()),
            "--target",
            &format!("next={}/startup", next.url()),
            "-z",
            "3s",
            "-c",
            "2",
            "-q",
            "50",
            "--web",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = stderr.next_line().await.unwrap().unwrap();
    // `127.0.0.1:0`: the binary names the port it got.
    let page = line
        .split("the run page is on ")
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"));
    let url = format!("{}split", page.trim());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, body) = call("POST", &url, r#"{"good": 100}"#).await;
    assert_eq!(status, 200, "{body}");
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let served = value(&next.metrics().await, STARTUPS);
    good.stop().await;
    next.stop().await;
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("at ") && l.contains("next 1 -> 0"))
        .unwrap_or_else(|| panic!("no split change line in\n{text}"));
    // The canary's own counter is the line's "before" count for it, and nothing came after.
    assert!(
        line.contains(&format!("next {served}; after:")) && line.ends_with("next 0"),
        "{line} (next served {served})"
    );
}
