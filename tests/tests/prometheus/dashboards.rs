//! Issue 17: every query of every generated Grafana panel returns data from a real Prometheus.
//! mock-server plays the workshop's challenge 6 for a minute under load (latencies recorded, not
//! slept), Prometheus scrapes it every second and evaluates the rules generated from the spec
//! (compressed 60x, which also records the dashboards' series), and then each panel's PromQL,
//! exactly as the dashboard JSON holds it, is asked of Prometheus' query API.
//! Skipped, saying why, when the prometheus binary is absent (failed under REQUIRE_PROMETHEUS=1).

use std::time::Duration;

use e2e::stack::{E2E_TRAFFIC, Stack};
use mock_server::drive::timeline::PhasePlan;

/// Up to a minute of challenge 6: chats slow enough that the chat-latency alerts fire, so the
/// overview's alert-state table has rows. The test ends as soon as every query has data
/// (within seconds: the fast burn fires once half its 5-second window is bad); the minute only
/// bounds the wait.
const TIMELINE: &str = r#"
description = "challenge 6 for a minute"
[[step]]
name = "challenge-6"
phase = "challenge6"
duration = "60s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_panel_query_returns_data() {
    if !e2e::have_prometheus() {
        return;
    }
    let spec = e2e::checked_in_spec();
    let timeline = scenarios::Timeline::parse(TIMELINE, None).unwrap();
    let plan = PhasePlan::new(&timeline, &mock_server::Phase::workshop_default()).unwrap();
    let length: Duration = plan.steps.iter().map(|s| s.duration).sum();
    let stack = Stack::start(&spec, plan, E2E_TRAFFIC, length + Duration::from_secs(30)).await;
    let client = stack.prometheus.client();

    // Client-side SLOs read loadgen's client metrics, which this stack does not export; the
    // blind-spot rehearsal (tests/tests/prometheus/rehearse.rs) sees them fire.
    let client_side: Vec<String> = spec
        .slos
        .iter()
        .filter(|s| s.service == "loadgen")
        .map(|s| format!("slo={:?}", s.name))
        .collect();
    // Asked once a second (Prometheus' evaluation interval) until every query has data or the
    // timeline ends; the last round's answers are what the test judges.
    let (mut empty, mut asked) = (Vec::new(), 0);
    for second in 1..=length.as_secs() {
        stack.sleep_until(Duration::from_secs(second)).await;
        (empty, asked) = (Vec::new(), 0);
        for dashboard in slo::dashboards(&spec) {
            for panel in dashboard.model["panels"].as_array().unwrap() {
                for target in panel["targets"].as_array().into_iter().flatten() {
                    let expr = target["expr"].as_str().unwrap();
                    if client_side.iter().any(|c| expr.contains(c.as_str())) {
                        continue;
                    }
                    asked += 1;
                    match client.query(expr).await {
                        Ok(samples) if !samples.is_empty() => {}
                        outcome => empty.push(format!(
                            "{} / {}: {expr}\n    -> {outcome:?}",
                            dashboard.file, panel["title"]
                        )),
                    }
                }
            }
        }
        if empty.is_empty() {
            eprintln!("every panel query had data {second} s into challenge 6");
            break;
        }
    }
    let log = stack.prometheus.log();
    stack.stop().await;
    assert!(asked > 60, "every panel's queries were asked: {asked}");
    assert!(
        empty.is_empty(),
        "{} of {asked} panel queries returned no data:\n{}\n{log}",
        empty.len(),
        empty.join("\n")
    );
}
