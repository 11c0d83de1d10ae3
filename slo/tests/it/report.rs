//! The report's JSON keeps to `slo/report.schema.json`, with and without values; the live test
//! checks a report read from a real Prometheus against it too.

use slo::client::report::{Report, SloStatus, WindowBurn};

use crate::support::assert_matches_report_schema;

fn status(sli: Option<f64>, burn: Option<f64>) -> SloStatus {
    SloStatus {
        name: "canary-availability".into(),
        service: "mock-server".into(),
        objective: 95.0,
        period: "1d".into(),
        period_played: Some("24m".into()),
        data_secs: sli.map(|_| 60.0),
        sli,
        budget_used: sli.map(|s| (1.0 - s) / 0.05 * 60.0 / 1440.0),
        burn_rates: vec![WindowBurn {
            window: "5m".into(),
            burn_rate: burn,
        }],
        firing: vec!["CanaryAvailabilityFastBurn5m".into()],
    }
}

#[test]
fn reports_with_and_without_values_match_the_schema() {
    assert_matches_report_schema(&Report {
        time_scale: Some(60),
        slos: vec![status(Some(0.9), Some(2.0)), status(None, None)],
    });
    assert_matches_report_schema(&Report {
        time_scale: None,
        slos: vec![status(None, None)],
    });
}

#[test]
#[should_panic(expected = "is greater than the maximum")]
fn the_schema_refuses_an_sli_above_one() {
    assert_matches_report_schema(&Report {
        time_scale: Some(60),
        slos: vec![status(Some(1.5), Some(2.0))],
    });
}
