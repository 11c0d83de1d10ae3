//! The failing canary against a real Prometheus, the two ways the walkthroughs roll it back: a
//! new run with all traffic on the good revision (the README's Serverless Journey, which also
//! warms the canary SLO up first), and the split of one run moved to 0 through `--web`'s
//! `POST /split` while it runs, the way Cloud Run does it. `CanaryAvailabilityFastBurn5m`
//! fires when `slo::predict` says it must and resolves within the predicted time. Both skip,
//! saying why, only when the prometheus binary is absent.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use e2e::revision;
use engine::load::live_split::LiveSplit;
use mock_server::testing::http::{raw, request};
use slo::{AlertState, Compression, LocalPrometheus, WaitOutcome};

const ALERT: &str = "CanaryAvailabilityFastBurn5m";

/// Requests per second, as in the walkthrough: a compressed 5-minute window holds 500 of them.
const RATE: &str = "100";

/// Healthy traffic before the breach: two compressed 5-minute windows, all good.
const WARM_UP: Duration = Duration::from_secs(10);

/// Scrape (1 s) plus rule evaluation (1 s) plus the poll of the alerts API, on top of the model.
const SLACK: Duration = Duration::from_secs(4);

/// The good `jokes` revision and the `failing` canary, Prometheus scraping both (its first
/// scrape of each already stored) with the spec's rules compressed 60x, and the canary SLO
/// with its fast-burn policy. `None` (saying why) without the prometheus binary.
struct Revisions {
    good: SocketAddr,
    next: SocketAddr,
    prometheus: LocalPrometheus,
    slo: slo::spec::Slo,
    policy: slo::spec::Policy,
}

impl Revisions {
    async fn start() -> Option<Revisions> {
        if !e2e::have_prometheus() {
            return None;
        }
        let spec = e2e::checked_in_spec();
        let slo = spec.slos.iter().find(|s| s.name == "canary-availability");
        let policy = spec.policies.iter().find(|p| p.name == "fast-burn-5m");
        let (slo, policy) = (slo.unwrap().clone(), policy.unwrap().clone());
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
        // Prometheus picks targets up on a 5-second tick: no load may run before it scrapes.
        e2e::wait_for_series(&prometheus, "up == 1", 2, Duration::from_secs(30)).await;
        Some(Revisions {
            good,
            next,
            prometheus,
            slo,
            policy,
        })
    }
}

/// A bounded loadgen run, in-process, as the walkthrough's command line gives it.
fn load(args: &[String]) -> tokio::task::JoinHandle<engine::report::Report> {
    let argv = ["loadgen", "--no-progress", "--rate", RATE]
        .into_iter()
        .map(str::to_owned)
        .chain(args.iter().cloned());
    let cli = loadgen::cli::Cli::try_parse_from(argv).unwrap();
    let plan = engine::plan::Plan::try_from(cli.hey).unwrap();
    tokio::spawn(async move {
        engine::run(plan, engine::Live::default(), std::future::pending())
            .await
            .unwrap()
    })
}

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
async fn the_failing_canary_fires_the_fast_burn_and_the_rollback_resolves_it() {
    let Some(r) = Revisions::start().await else {
        return;
    };
    // 10% of requests fail: every window turns bad, 2.5 s in, and bad windows pass half of the
    // 5 s lookback 2.5 s later; after the rollback, the same again the other way.
    let fires = slo::predict::fires_after(&r.slo, &r.policy, 0.0, 0.1, WARM_UP, Compression::E2E)
        .expect("a 10% breach fires the fast burn");
    let resolves = slo::predict::resolves_after(&r.slo, &r.policy, 0.0, 0.1, Compression::E2E);

    let client = r.prometheus.client();

    let good_only = |seconds: Duration| {
        load(&[
            "-z".into(),
            format!("{}s", seconds.as_secs()),
            format!("http://{}/", r.good),
        ])
    };
    let warm = good_only(WARM_UP).await.unwrap();
    assert_eq!(warm.total.error_rate, 0.0, "the good revision never fails");
    let verdict = client
        .query(r#"slo:sli_good_window:bool_rate5m{slo="canary-availability"}"#)
        .await
        .unwrap();
    assert!(
        verdict.len() == 1 && verdict[0].value == 1.0,
        "healthy windows are good: {verdict:?}"
    );
    assert!(matches!(
        wait(&r.prometheus, AlertState::Inactive, Duration::from_secs(1)).await,
        WaitOutcome::Reached { .. }
    ));

    // The breach: the walkthrough's split, long enough for the alert to fire and hold.
    let breach = load(&[
        "-z".into(),
        "20s".into(),
        "--target".into(),
        format!("good=http://{}/", r.good),
        "--target".into(),
        format!("next=http://{}/", r.next),
        "--split".into(),
        "good=90".into(),
        "--split".into(),
        "next=10".into(),
    ]);
    let fired = wait(&r.prometheus, AlertState::Firing, fires + SLACK).await;
    let WaitOutcome::Reached { after } = fired else {
        panic!(
            "{ALERT} did not fire within {:?} (predicted {fires:?}): {fired:?}\n{}",
            fires + SLACK,
            r.prometheus.log()
        );
    };
    // Not at once either: the windows had a healthy history to outweigh.
    assert!(
        after + SLACK >= fires,
        "{ALERT} fired after {after:?}, the model says {fires:?}"
    );
    let report = breach.await.unwrap();
    let availability = 1.0 - report.total.error_rate;
    // 2000 requests, 10% to the canary: 4 sigma of the binomial is 2.7%.
    assert!(
        (availability - 0.9).abs() < 0.027,
        "availability {availability}"
    );
    assert!(matches!(
        wait(&r.prometheus, AlertState::Firing, Duration::from_secs(1)).await,
        WaitOutcome::Reached { .. }
    ));

    // Rollback: everything to the good revision.
    let rollback = good_only(Duration::from_secs(15));
    let resolved = wait(&r.prometheus, AlertState::Inactive, resolves + SLACK).await;
    let WaitOutcome::Reached { after: cleared } = resolved else {
        panic!(
            "{ALERT} did not resolve within {:?} of the rollback (predicted {resolves:?}): {resolved:?}",
            resolves + SLACK
        );
    };
    eprintln!(
        "{ALERT}: fired {after:?} into the breach (predicted {fires:?}), resolved {cleared:?} \
         after the rollback (predicted {resolves:?})"
    );
    rollback.await.unwrap();
    r.prometheus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_split_under_load_resolves_the_fast_burn() {
    let Some(r) = Revisions::start().await else {
        return;
    };
    // A fresh Prometheus has no healthy history: the breach fires at once (the README's
    // walkthrough saw 2-3 s); the rollback resolves as the model says, from 10% to 0%.
    let resolves = slo::predict::resolves_after(&r.slo, &r.policy, 0.0, 0.1, Compression::E2E);

    // The walkthrough's command line: a 90/10 split at 100 requests a second, with --web.
    let (g, n) = (
        format!("good=http://{}/", r.good),
        format!("next=http://{}/", r.next),
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
    tokio::spawn(loadgen::web::serve(
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

    let fired = wait(&r.prometheus, AlertState::Firing, Duration::from_secs(15)).await;
    let WaitOutcome::Reached { after } = fired else {
        panic!("{ALERT} did not fire: {fired:?}\n{}", r.prometheus.log());
    };
    assert_eq!(post(&control, r#"{"good": 100}"#).await, 200);
    let resolved = wait(&r.prometheus, AlertState::Inactive, resolves + SLACK).await;
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
    let metrics = mock_server::testing::parse_metrics(&get(&r.next.to_string(), "/metrics").await);
    let served: f64 = metrics
        .iter()
        .filter(|(series, _)| {
            series.starts_with("http_requests_total{") && series.contains("route=\"/\"")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(served as u64, e.requests_before["next"], "{e:?}");
    r.prometheus.stop().await;
}
