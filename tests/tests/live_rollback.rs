//! The README's walkthrough rollback the way Cloud Run does it: one split run at a steady rate
//! the whole time, the failing canary's share moved to 0 through `--web`'s `POST /split`
//! while it runs, and `CanaryAvailabilityFastBurn5m` resolving within the predicted time while
//! the load goes on, the canary getting nothing after the change (its own counter says so).
//! Compressed time against a real Prometheus; skips, saying why, without the prometheus binary.

use std::time::Duration;

use clap::Parser;
use e2e::revision;
use engine::load::live_split::LiveSplit;
use mock_server::testing::http::{raw, request};
use slo::{AlertState, Compression, LocalPrometheus, WaitOutcome};

const ALERT: &str = "CanaryAvailabilityFastBurn5m";

/// Scrape (1 s) plus rule evaluation (1 s) plus the poll of the alerts API, on top of the model.
const SLACK: Duration = Duration::from_secs(4);

async fn wait(prometheus: &LocalPrometheus, state: AlertState, within: Duration) -> WaitOutcome {
    slo::alerts_wait(prometheus.url(), ALERT, state, within)
        .await
        .unwrap()
}

/// GETs `path` from `addr`: the body.
async fn get(addr: &str, path: &str) -> String {
    let req = request("GET", path, &[&format!("Host: {addr}")], "");
    raw(addr.parse().unwrap(), &req).await.body
}

/// POSTs `body` to the run page's `/split` at `url`: the status.
async fn post(url: &str, body: &str) -> u16 {
    let host = format!("Host: {url}");
    let req = request(
        "POST",
        "/split",
        &[&host, "Content-Type: application/json"],
        body,
    );
    raw(url.parse().unwrap(), &req).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_split_under_load_resolves_the_fast_burn() {
    if !e2e::have_prometheus() {
        return;
    }
    let spec = e2e::checked_in_spec();
    let slo = spec
        .slos
        .iter()
        .find(|s| s.name == "canary-availability")
        .unwrap();
    let policy = spec
        .policies
        .iter()
        .find(|p| p.name == "fast-burn-5m")
        .unwrap();
    // A fresh Prometheus has no healthy history: the breach fires at once (the README's
    // walkthrough saw 2-3 s); the rollback resolves as the model says, from 10% to 0%.
    let resolves = slo::predict::resolves_after(slo, policy, 0.0, 0.1, Compression::E2E);

    let good = revision("good", "jokes").await;
    let next = revision("next", "failing").await;
    let rules = slo::rules(&spec, Compression::E2E).unwrap();
    let config = slo::local::prometheus::fast_scrape_config(
        &[("good", good), ("next", next)],
        &["rules.yml"],
    );
    let prometheus = LocalPrometheus::start(&config, &[("rules.yml", &rules)])
        .await
        .unwrap_or_else(|e| panic!("starting Prometheus: {e}"));
    e2e::wait_for_series(&prometheus, "up == 1", 2, Duration::from_secs(30)).await;

    // The walkthrough's command line: a 90/10 split at 100 requests a second, with --web.
    let (g, n) = (
        format!("good=http://{good}/"),
        format!("next=http://{next}/"),
    );
    let cli = loadgen::cli::Cli::try_parse_from([
        "loadgen",
        "--no-progress",
        "--rate",
        "100",
        "-z",
        "40s",
        "--target",
        &g,
        "--target",
        &n,
        "--split",
        "good=90",
        "--split",
        "next=10",
    ])
    .unwrap();
    let plan = engine::plan::Plan::try_from(cli.hey).unwrap();
    let split = LiveSplit::new(&[("good".into(), 90), ("next".into(), 10)]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = listener.local_addr().unwrap().to_string();
    let view = engine::load::run_view::RunView::new(
        "hey".into(),
        vec!["good".into(), "next".into()],
        Some(split.clone()),
    );
    tokio::spawn(loadgen::web::run_page::serve(
        view,
        listener,
        webui::guard::HostPolicy::default(),
        std::future::pending(),
    ));
    let live = engine::Live {
        split: Some(split),
        ..Default::default()
    };
    let run = tokio::spawn(engine::run(plan, live, std::future::pending()));

    let fired = wait(&prometheus, AlertState::Firing, Duration::from_secs(15)).await;
    let WaitOutcome::Reached { after } = fired else {
        panic!("{ALERT} did not fire: {fired:?}\n{}", prometheus.log());
    };
    assert_eq!(post(&control, r#"{"good": 100}"#).await, 200);
    let resolved = wait(&prometheus, AlertState::Inactive, resolves + SLACK).await;
    let WaitOutcome::Reached { after: cleared } = resolved else {
        panic!(
            "{ALERT} did not resolve within {:?} of the split change (predicted {resolves:?}): {resolved:?}",
            resolves + SLACK
        );
    };
    // It resolved while the load was still running: not for lack of traffic.
    assert!(
        !run.is_finished(),
        "the split run ended before the alert resolved"
    );
    eprintln!(
        "{ALERT}: fired {after:?} into the split, resolved {cleared:?} after POST /split \
         (predicted {resolves:?}), the load still running"
    );
    let report = run.await.unwrap().unwrap();
    let e = &report.split_events[0];
    assert_eq!(e.requests_after["next"], 0, "{e:?}");
    assert!(e.requests_after["good"] > 500, "{e:?}");
    // The canary's own counter: every request it got came before the change.
    let metrics = mock_server::testing::parse_metrics(&get(&next.to_string(), "/metrics").await);
    let served: f64 = metrics
        .iter()
        .filter(|(series, _)| {
            series.starts_with("http_requests_total{") && series.contains("route=\"/\"")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(served as u64, e.requests_before["next"], "{e:?}");
    prometheus.stop().await;
}
