//! The README's Serverless Journey walkthrough, in compressed time against a real Prometheus:
//! the good `jokes` revision warms the canary SLO up, a 90/10 split to the failing canary fires
//! `CanaryAvailabilityFastBurn5m` when `slo::predict` says it must, and the rollback to the good
//! revision resolves it. Skips, saying why, only when the prometheus binary is absent.

use std::time::Duration;

use clap::Parser;
use e2e::revision;
use slo::{AlertState, Compression, LocalPrometheus, WaitOutcome};

const ALERT: &str = "CanaryAvailabilityFastBurn5m";

/// Requests per second, as in the walkthrough: a compressed 5-minute window holds 500 of them.
const RATE: &str = "100";

/// Healthy traffic before the breach: two compressed 5-minute windows, all good.
const WARM_UP: Duration = Duration::from_secs(10);

/// Scrape (1 s) plus rule evaluation (1 s) plus the poll of the alerts API, on top of the model.
const SLACK: Duration = Duration::from_secs(4);

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failing_canary_fires_the_fast_burn_and_the_rollback_resolves_it() {
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
    // 10% of requests fail: every window turns bad, 2.5 s in, and bad windows pass half of the
    // 5 s lookback 2.5 s later; after the rollback, the same again the other way.
    let fires = slo::predict::fires_after(slo, policy, 0.0, 0.1, WARM_UP, Compression::E2E)
        .expect("a 10% breach fires the fast burn");
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
    let client = prometheus.client();
    // Prometheus picks targets up on a 5-second tick: the warm-up must not run before it scrapes.
    e2e::wait_for_series(&prometheus, "up == 1", 2, Duration::from_secs(30)).await;

    let good_only = |seconds: Duration| {
        load(&[
            "-z".into(),
            format!("{}s", seconds.as_secs()),
            format!("http://{good}/"),
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
        wait(&prometheus, AlertState::Inactive, Duration::from_secs(1)).await,
        WaitOutcome::Reached { .. }
    ));

    // The breach: the walkthrough's split, long enough for the alert to fire and hold.
    let breach = load(&[
        "-z".into(),
        "20s".into(),
        "--target".into(),
        format!("good=http://{good}/"),
        "--target".into(),
        format!("next=http://{next}/"),
        "--split".into(),
        "good=90".into(),
        "--split".into(),
        "next=10".into(),
    ]);
    let fired = wait(&prometheus, AlertState::Firing, fires + SLACK).await;
    let WaitOutcome::Reached { after } = fired else {
        panic!(
            "{ALERT} did not fire within {:?} (predicted {fires:?}): {fired:?}\n{}",
            fires + SLACK,
            prometheus.log()
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
        wait(&prometheus, AlertState::Firing, Duration::from_secs(1)).await,
        WaitOutcome::Reached { .. }
    ));

    // Rollback: everything to the good revision.
    let rollback = good_only(Duration::from_secs(15));
    let resolved = wait(&prometheus, AlertState::Inactive, resolves + SLACK).await;
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
    prometheus.stop().await;
}
