//! The Cloud Monitoring and OpenSLO exports under `deploy/` are what the generator writes, have
//! the workshop's shape, and OpenSLO reads back into the very same rules.

use std::path::PathBuf;

use crate::generated::{assert_fresh, compare_or_update};
use crate::support::checked_in_spec;

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[test]
fn checked_in_exports_are_generated_from_the_spec() {
    let files = slo::export_files(&checked_in_spec()).expect("every SLO exports");
    assert_fresh(&compare_or_update(&deploy_dir(), &files));
}

#[test]
fn engagement_body_is_the_workshops_challenge_5_example() {
    let spec = checked_in_spec();
    let slo = spec
        .slos
        .iter()
        .find(|s| s.name == "chat-engagement")
        .unwrap();
    let body = slo::export::gcp::body(slo).unwrap();
    assert_eq!(body["goal"], 0.8);
    assert_eq!(body["rollingPeriod"], "86400s");
    let ratio = &body["serviceLevelIndicator"]["requestBased"]["goodTotalRatio"];
    // Verbatim from the workshop's spoiler (challenge 5, "Create an SLO definition").
    assert_eq!(
        ratio["goodServiceFilter"],
        "metric.type=\"prometheus.googleapis.com/movieguru_chat_outcome_counter_total/counter\" \
         resource.type=\"prometheus_target\" \
         metric.labels.Outcome=monitoring.regex.full_match(\"Engaged|Acknowledged\")"
    );
    assert_eq!(
        ratio["totalServiceFilter"],
        "metric.type=\"prometheus.googleapis.com/movieguru_chat_outcome_counter_total/counter\" \
         resource.type=\"prometheus_target\""
    );
}

#[test]
fn latency_and_window_slos_take_cloud_monitorings_own_forms() {
    let spec = checked_in_spec();
    let body = |name: &str| {
        slo::export::gcp::body(spec.slos.iter().find(|s| s.name == name).unwrap()).unwrap()
    };
    let cut = &body("chat-latency")["serviceLevelIndicator"]["requestBased"]["distributionCut"];
    assert_eq!(
        cut["distributionFilter"],
        "metric.type=\"prometheus.googleapis.com/movieguru_chat_latency_milliseconds/histogram\" \
         resource.type=\"prometheus_target\""
    );
    assert_eq!(cut["range"]["max"], 5000.0);
    let windows = &body("canary-availability")["serviceLevelIndicator"]["windowsBased"];
    assert_eq!(windows["windowPeriod"], "300s");
    assert_eq!(windows["goodTotalRatioThreshold"]["threshold"], 0.95);
}

#[test]
fn openslo_round_trips_into_the_same_rules_and_dashboards() {
    let spec = checked_in_spec();
    let text = slo::to_openslo(&spec);
    let back = slo::from_openslo(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for by in [slo::Compression::NONE, slo::Compression::E2E] {
        assert_eq!(
            slo::rules(&back, by).unwrap(),
            slo::rules(&spec, by).unwrap()
        );
    }
    assert_eq!(
        slo::generated_files(&back).unwrap(),
        slo::generated_files(&spec).unwrap(),
        "the promtool tests too"
    );
    assert_eq!(slo::dashboard_files(&back), slo::dashboard_files(&spec));
    assert_eq!(slo::to_openslo(&back), text, "and back to the same OpenSLO");
    // The checked-in file reads too.
    let file = slo::load_openslo(&deploy_dir().join("openslo/slos.yaml")).unwrap();
    assert_eq!(
        slo::rules(&file, slo::Compression::NONE).unwrap(),
        slo::rules(&spec, slo::Compression::NONE).unwrap()
    );
}

#[test]
fn a_plain_openslo_file_without_our_annotations_reads() {
    let text = r#"
apiVersion: openslo/v1
kind: AlertPolicy
metadata: { name: fast-burn }
spec:
  conditions:
    - kind: AlertCondition
      metadata: { name: fast-burn }
      spec:
        severity: page
        condition: { kind: burnrate, op: gt, threshold: 10, lookbackWindow: 5m }
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: login-availability }
spec:
  service: movieguru
  indicator:
    metadata: { name: login }
    spec:
      ratioMetric:
        counter: true
        good: { metricSource: { type: Prometheus, spec: { query: movieguru_login_success_total } } }
        total: { metricSource: { type: Prometheus, spec: { query: movieguru_login_attempts_total } } }
  timeWindow: [ { duration: 7d, isRolling: true } ]
  budgetingMethod: Occurrences
  objectives: [ { target: 0.99 } ]
  alertPolicies: [ fast-burn ]
"#;
    let spec = slo::from_openslo(text).unwrap();
    assert_eq!(spec.slos[0].objective, 99.0);
    assert_eq!(spec.policies[0].short_window, None);
    let rules = slo::rules(&spec, slo::Compression::NONE).unwrap();
    assert!(
        rules.contains("alert: LoginAvailabilityFastBurn"),
        "{rules}"
    );
}

#[test]
fn bad_openslo_is_refused_with_a_message_naming_the_field() {
    let cases = [
        ("apiVersion: openslo/v2\nkind: SLO\n", "openslo/v1"),
        (
            "apiVersion: openslo/v1\nkind: SLO\nmetadata: { name: x }\nspec: {}\n",
            "SLO x: spec.indicator",
        ),
        ("a: [", "YAML"),
        (
            "apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: { name: p }\nspec: { conditions: [] }\n",
            "exactly one",
        ),
    ];
    for (text, wanted) in cases {
        let err = slo::from_openslo(text).unwrap_err().to_string();
        assert!(err.contains(wanted), "{text:?}: {err}");
    }
}
