//! Against a real Prometheus (skipped, saying why, when the binary is absent): the compressed
//! rules load and evaluate, `alerts_wait` sees alerts fire and stay quiet, and `slo_report`
//! reads the burn. A tiny metrics endpoint plays the canary: 10% of requests answer 500.

use std::time::Duration;

use slo::{AlertState, LocalPrometheus, WaitOutcome};

use crate::support::{MetricsServer, checked_in_spec, scenario_dir};

/// 100 requests a second, 10 of them 5xx: the canary SLO (95%) burns at exactly 2x.
fn canary_at_10_percent(seconds: f64) -> String {
    format!(
        "# TYPE http_requests_total counter\n\
         http_requests_total{{route=\"/chat\",method=\"POST\",code=\"200\"}} {}\n\
         http_requests_total{{route=\"/chat\",method=\"POST\",code=\"500\"}} {}\n",
        90.0 * seconds,
        10.0 * seconds
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_rules_fire_the_ticket_and_report_a_2x_burn() {
    if !crate::support::have("prometheus") {
        return;
    }
    let metrics = MetricsServer::start(canary_at_10_percent).await;
    let rules =
        std::fs::read_to_string(scenario_dir().join(slo::files::compressed_rules())).unwrap();
    let config =
        slo::local_prometheus::fast_scrape_config(&[("canary", metrics.addr)], &["rules.yml"]);
    let prometheus = LocalPrometheus::start(&config, &[("rules.yml", &rules)])
        .await
        .unwrap();
    let url = prometheus.url().to_owned();
    let client = prometheus.client();

    // The bad-from-t=0 trap works for us here: the 2x burn is in every window from the start,
    // so the ticket (1x over 72m and 6m at 60x) fires as soon as the windows have two samples.
    let fired = slo::alerts_wait(
        &url,
        "CanaryAvailabilityTicket3d",
        AlertState::Firing,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert!(
        matches!(fired, WaitOutcome::Reached { .. }),
        "{fired:?}\n{}",
        prometheus.log()
    );

    // Every generated group loaded and every rule evaluated without error.
    let groups = client.rule_groups().await.unwrap();
    assert_eq!(groups.len(), checked_in_spec().slos.len());
    for rule in groups.iter().flat_map(|g| &g.rules) {
        assert_eq!(
            rule.health, "ok",
            "{} failed: {:?}",
            rule.name, rule.last_error
        );
    }

    // A recording rule yields the error ratio the endpoint serves; the ratio of two counters
    // growing in step does not depend on when the scrapes happened.
    let ratio = client
        .query(r#"slo:sli_error:ratio_rate5m{slo="canary-availability"}"#)
        .await
        .unwrap();
    assert_eq!(ratio.len(), 1, "{ratio:?}");
    assert!((ratio[0].value - 0.1).abs() < 1e-9, "{ratio:?}");

    // A 2x burn is below every page threshold (6x, 10x, 14.4x): those stay quiet, and waiting
    // for them to fire times out, reporting the state last seen.
    for page in [
        "CanaryAvailabilityPage1h",
        "CanaryAvailabilityPage6h",
        "CanaryAvailabilityFastBurn5m",
    ] {
        let quiet = slo::alerts_wait(&url, page, AlertState::Inactive, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(
            matches!(quiet, WaitOutcome::Reached { .. }),
            "{page}: {quiet:?}"
        );
    }
    let timed_out = slo::alerts_wait(
        &url,
        "CanaryAvailabilityFastBurn5m",
        AlertState::Firing,
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert_eq!(
        timed_out,
        WaitOutcome::TimedOut {
            last: AlertState::Inactive
        }
    );

    let typo = slo::alerts_wait(
        &url,
        "CanaryAvailabilityTicket3D",
        AlertState::Inactive,
        Duration::from_secs(1),
    )
    .await;
    let message = typo.unwrap_err().to_string();
    assert!(
        message.contains("no alerting rule named \"CanaryAvailabilityTicket3D\""),
        "{message}"
    );
    assert!(
        message.contains("CanaryAvailabilityTicket3d"),
        "lists the known alerts: {message}"
    );

    let report = slo::slo_report(&url, &checked_in_spec()).await.unwrap();
    let canary = report
        .slos
        .iter()
        .find(|s| s.name == "canary-availability")
        .unwrap();
    let close = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-6);
    assert!(close(canary.sli, 0.9), "{canary:?}");
    assert!(close(canary.error_budget_remaining, -1.0), "{canary:?}");
    assert_eq!(canary.burn_rates.len(), 6, "5m 30m 1h 6h 1d 3d: {canary:?}");
    assert!(
        canary.burn_rates.iter().all(|b| close(b.burn_rate, 2.0)),
        "{canary:?}"
    );
    // The workshop SLOs have no traffic here: 0/0 is reported as no value, not as a number.
    let chat = report
        .slos
        .iter()
        .find(|s| s.name == "chat-latency")
        .unwrap();
    assert_eq!(chat.sli, None);
    assert!(report.to_string().contains("2.00x"), "{report}");
    crate::support::assert_matches_report_schema(&report);

    prometheus.stop().await;
}

#[tokio::test]
async fn unreachable_prometheus_is_a_clear_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = slo::slo_report(&format!("http://127.0.0.1:{port}"), &checked_in_spec())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot reach Prometheus at http://127.0.0.1:"),
        "{err}"
    );
    let err = slo::alerts_wait(
        "127.0.0.1:9090",
        "X",
        AlertState::Firing,
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("only http:// is supported"),
        "{err}"
    );
}

#[tokio::test]
async fn a_prometheus_that_cannot_start_says_why() {
    if !crate::support::have("prometheus") {
        return;
    }
    let err = LocalPrometheus::start("scrape_configs: [", &[])
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("did not become ready"), "{message}");
    assert!(
        message.contains("prometheus.yml"),
        "the log names the bad file: {message}"
    );
}
