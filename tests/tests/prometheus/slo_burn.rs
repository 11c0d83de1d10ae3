//! Issue 5, item 3: the SLO burn-rate alerts against a real Prometheus. mock-server plays a
//! timeline, loadgen sends a constant load, Prometheus scrapes every second and evaluates the
//! rules generated from `scenarios/slo/slos.toml`, compressed 60x. The tests assert through
//! Prometheus' HTTP API which alerts fired and when, against `e2e::model`'s predictions.
//! Skipped, saying why, when the prometheus binary is absent (failed under REQUIRE_PROMETHEUS=1).

use std::time::Duration;

use e2e::model::{Certain, predict};
use e2e::observed::{LATE_SLACK, compare, current_error_ratios, firing_spans, first_sample};
use e2e::stack::{E2E_TRAFFIC, JOB, Stack};
use mock_server::drive::timeline::PhasePlan;

/// Time after the timeline's end for Prometheus to scrape and evaluate its last second.
const SETTLE: Duration = Duration::from_secs(2);

/// The latest first scrape the scenario is designed for (checked by the last test below); the
/// stack starts the mock once Prometheus scrapes, so it usually comes within a second.
const LATEST_FIRST_SCRAPE: Duration = Duration::from_secs(15);

/// The scenario: `tests/timelines/chat-burn.toml` merged onto challenge 7, keeping its first
/// `steps` steps.
fn scenario(steps: usize) -> PhasePlan {
    let path = e2e::workspace_path("tests/timelines/chat-burn.toml");
    let mut timeline =
        scenarios::Timeline::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    timeline.steps.truncate(steps);
    let preset = scenarios::preset("challenge7").expect("the challenge 7 preset exists");
    let startup = mock_server::Phase::workshop_default()
        .merged(preset.as_bytes())
        .expect("challenge 7 is a valid phase");
    PhasePlan::new(&timeline, &startup).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `plan` to its end on a fresh stack, then compares every alert with the model and
/// returns the predictions; panics, with the whole table, on any disagreement.
async fn run_and_compare(plan: PhasePlan) -> Vec<e2e::model::Prediction> {
    let spec = e2e::checked_in_spec();
    let traffic = E2E_TRAFFIC;
    let length: Duration = plan.steps.iter().map(|s| s.duration).sum();
    let stack = Stack::start(
        &spec,
        plan.clone(),
        traffic,
        length + Duration::from_secs(30),
    )
    .await;
    let client = stack.prometheus.client();
    stack.sleep_until(length + SETTLE).await;

    let now = e2e::unix_now();
    // A gauge the mock exports from its start: its first sample is the first successful scrape.
    let first = first_sample(&client, &format!("mockserver_timeline_step{{job={JOB:?}}}")).await;
    // The scrape in flight when the mock started is stamped with its start, before the mock's.
    let first = first.max(stack.started_unix);
    let history_starts = Duration::from_secs_f64(first - stack.started_unix);
    assert!(
        history_starts <= LATEST_FIRST_SCRAPE,
        "Prometheus first scraped {history_starts:?} after the mock started; the scenario is \
         designed for at most {LATEST_FIRST_SCRAPE:?}\n{}",
        stack.prometheus.log()
    );
    let ends = Duration::from_secs_f64(now - stack.started_unix);
    let predictions = predict(&spec, &plan, &traffic, history_starts, ends);
    let observed = firing_spans(&client, first, now).await;
    let ratios = current_error_ratios(&client).await;
    let (table, wrong) = compare(&predictions, &observed);
    let log = stack.prometheus.log();
    let reports = stack.stop().await;

    let mut at = -history_starts.as_secs_f64();
    let steps: Vec<String> = plan
        .steps
        .iter()
        .map(|s| {
            let text = format!("{} at {at:.1} s", s.name);
            at += s.duration.as_secs_f64();
            text
        })
        .collect();
    eprintln!(
        "Seconds from Prometheus' first scrape, which came {:.2} s after the mock started; steps: {}.\n{table}",
        history_starts.as_secs_f64(),
        steps.join(", ")
    );
    assert!(
        wrong.is_empty(),
        "{}\n\n{table}\nPrometheus log:\n{log}",
        wrong.join("\n")
    );
    // Client-side SLOs read loadgen's client metrics, which this stack does not export.
    for slo in spec.slos.iter().filter(|s| s.service != "loadgen") {
        assert!(
            ratios.get(&slo.name).is_some_and(|r| r.is_finite()),
            "{}: no error ratio recorded, so its alerts could not fire: {ratios:?}",
            slo.name
        );
    }
    // The model assumed the load arrived as asked; a loadgen that fell behind would void it.
    for report in &reports {
        assert!(!report.interrupted || report.abandoned == 0, "{report:?}");
        assert_eq!(report.total.failures, 0, "{:?}", report.total.errors);
        // Every answer a 2xx: the canary SLO's ratio of 0 in the model depends on it.
        assert_eq!(
            report.total.error_rate, 0.0,
            "{:?}",
            report.total.status_codes
        );
        let asked = report.pacing.rate.unwrap_or_default();
        assert!(
            report.total.requests as f64 >= asked * length.as_secs_f64(),
            "loadgen sent {} requests, {asked}/s asks for more",
            report.total.requests
        );
    }
    predictions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_breach_fires_exactly_the_predicted_alerts_and_the_fix_resolves_them() {
    if !e2e::have_prometheus() {
        return;
    }
    let predictions = run_and_compare(scenario(3)).await;
    // What the scenario is for, spelt out: the model could otherwise drift into predicting
    // silence, and the comparison above would agree with a Prometheus that did nothing.
    assert_eq!(fired(&predictions), BREACH_FIRES);
}

/// The alerts the breach must fire, and whether the fix resolves each before the run ends.
const BREACH_FIRES: [(&str, bool); 7] = [
    ("ChatLatencyPage1h", true),
    ("ChatLatencyPage6h", true),
    // A 50x burn for 30 s stays in the ticket's 6h window (6 min at 60x) long after.
    ("ChatLatencyTicket3d", false),
    ("ChatLatencyFastBurn5m", true),
    // The workshop's challenge-6 slow burn (1.5x over 5m) fires on both SLOs; its 5m window
    // clears after the fix like the fast burn's.
    ("ChatLatencySlowBurn5m", true),
    ("ChatEngagementTicket3d", true),
    ("ChatEngagementSlowBurn5m", true),
];

/// The alerts predicted to fire, and whether each is predicted to resolve.
fn fired(predictions: &[e2e::model::Prediction]) -> Vec<(&str, bool)> {
    predictions
        .iter()
        .filter_map(|p| match p.certain() {
            Ok(Certain::Fires { resolve, .. }) => Some((p.alert.as_str(), resolve.is_some())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_run_fires_nothing() {
    if !e2e::have_prometheus() {
        return;
    }
    let predictions = run_and_compare(scenario(1)).await;
    assert!(
        predictions
            .iter()
            .all(|p| p.certain() == Ok(Certain::Quiet)),
        "the healthy step must be predicted quiet"
    );
}

/// The live tests cannot choose exactly when Prometheus' first scrape comes (within a second of
/// the mock's start, on a quiet machine); the scenario must leave no outcome to chance whenever
/// it comes, or a slow start would fail the test.
#[test]
fn the_scenario_is_certain_whenever_the_first_scrape_comes() {
    let spec = e2e::checked_in_spec();
    for steps in [1, 3] {
        let plan = scenario(steps);
        let length: Duration = plan.steps.iter().map(|s| s.duration).sum();
        for delay in 0..=LATEST_FIRST_SCRAPE.as_secs() {
            let first = Duration::from_secs(delay);
            let end = length + SETTLE;
            let predictions = predict(&spec, &plan, &E2E_TRAFFIC, first, end);
            let when = format!("first scrape {delay} s after the mock starts, {steps} steps");
            for p in &predictions {
                match p.certain() {
                    Err(why) => panic!("{when}: {why}"),
                    // Prometheus must have evaluated the resolution before the test reads it.
                    Ok(Certain::Fires {
                        resolve: Some((_, latest)),
                        ..
                    }) => assert!(
                        latest + LATE_SLACK + 1.5 < (end - first).as_secs_f64(),
                        "{when}: {} resolves too close to the end: {latest:.1} s",
                        p.alert
                    ),
                    Ok(_) => {}
                }
            }
            let expected: &[(&str, bool)] = if steps == 3 { &BREACH_FIRES } else { &[] };
            assert_eq!(fired(&predictions), expected, "{when}");
        }
    }
}
