//! Against a real Prometheus (skipped, saying why, when the binary is absent): the compressed
//! rules load and evaluate, `alerts_wait` sees alerts fire and stay quiet, and `slo_report`
//! reads the burn. A tiny metrics endpoint plays the Serverless Journey's canary: 10% of the jokes
//! service's requests answer 500.

use std::time::Duration;

use slo::{AlertState, LocalPrometheus, WaitOutcome};

use crate::support::{MetricsServer, checked_in_spec, scenario_dir};

/// 100 requests a second on the jokes route, 10 of them 5xx: every 5-minute window of the
/// windows-based canary SLO is bad (under 95% good), so it burns at 1 / 0.05 = 20x. A failing chat
/// route alongside must not count: the SLO watches `route="/"` only.
fn canary_at_10_percent(seconds: f64) -> String {
    format!(
        "# TYPE http_requests_total counter\n\
         http_requests_total{{route=\"/\",method=\"GET\",code=\"200\"}} {}\n\
         http_requests_total{{route=\"/\",method=\"GET\",code=\"500\"}} {}\n\
         http_requests_total{{route=\"/chat\",method=\"POST\",code=\"500\"}} {}\n",
        90.0 * seconds,
        10.0 * seconds,
        1000.0 * seconds
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_rules_fire_the_canary_fast_burn_and_report_a_20x_burn() {
    if !crate::support::have("prometheus") {
        return;
    }
    let metrics = MetricsServer::start(canary_at_10_percent).await;
    let rules =
        std::fs::read_to_string(scenario_dir().join(slo::files::compressed_rules())).unwrap();
    let config =
        slo::local::prometheus::fast_scrape_config(&[("canary", metrics.addr)], &["rules.yml"]);
    let prometheus = LocalPrometheus::start(&config, &[("rules.yml", &rules)])
        .await
        .unwrap();
    let url = prometheus.url().to_owned();
    let client = prometheus.client();

    // The bad-from-t=0 trap works for us here: every window is bad from the start, so each
    // canary alert fires as soon as its windows hold a verdict.
    for alert in [
        "CanaryAvailabilityFastBurn5m",
        "CanaryAvailabilityPage1h",
        "CanaryAvailabilityPage6h",
        "CanaryAvailabilityTicket3d",
    ] {
        let fired = slo::alerts_wait(&url, alert, AlertState::Firing, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(
            matches!(fired, WaitOutcome::Reached { .. }),
            "{alert}: {fired:?}\n{}",
            prometheus.log()
        );
    }

    // Every generated group (one per SLO, and the dashboards' series) loaded and every rule
    // evaluated without error.
    let groups = client.rule_groups().await.unwrap();
    assert_eq!(groups.len(), checked_in_spec().slos.len() + 1);
    for rule in groups.iter().flat_map(|g| &g.rules) {
        assert_eq!(
            rule.health, "ok",
            "{} failed: {:?}",
            rule.name, rule.last_error
        );
    }

    // Each window's verdict is bad, and the error ratio is the share of bad windows: all of
    // them. The ratio of two counters growing in step does not depend on when the scrapes happened.
    for (query, want) in [
        (
            r#"slo:sli_good_window:bool_rate5m{slo="canary-availability"}"#,
            0.0,
        ),
        (
            r#"slo:sli_error:ratio_rate5m{slo="canary-availability"}"#,
            1.0,
        ),
    ] {
        let got = client.query(query).await.unwrap();
        assert_eq!(got.len(), 1, "{query}: {got:?}");
        assert!((got[0].value - want).abs() < 1e-9, "{query}: {got:?}");
    }

    // The Movie Guru SLOs see no traffic: their alerts stay quiet, and waiting for one to fire
    // times out, reporting the state last seen.
    for page in [
        "ChatLatencyPage1h",
        "LoginAvailabilityPage6h",
        "ChatLatencyFastBurn5m",
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
        "ChatLatencyFastBurn5m",
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
    // Windows-based: the SLI is the share of good windows, none here.
    assert!(close(canary.sli, 0.0), "{canary:?}");
    // Issue 16 item 8: the report reads right under compressed rules. It names the played
    // period, counts the budget over the data actually there (a few seconds of a 24-minute
    // period), and lists the alerts firing.
    assert_eq!(report.time_scale, Some(60), "{report:?}");
    assert_eq!(canary.period_played.as_deref(), Some("24m"));
    let data = canary.data_secs.expect("the canary has data");
    assert!(data > 0.0 && data < 120.0, "{canary:?}");
    // A 20x burn over `data` seconds of a 1440 s period.
    assert!(
        close(canary.budget_used, 20.0 * data / 1440.0),
        "{canary:?}"
    );
    assert_eq!(
        canary.firing,
        [
            "CanaryAvailabilityFastBurn5m",
            "CanaryAvailabilityPage1h",
            "CanaryAvailabilityPage6h",
            "CanaryAvailabilityTicket3d"
        ]
    );
    assert_eq!(canary.burn_rates.len(), 6, "5m 30m 1h 6h 1d 3d: {canary:?}");
    assert!(
        canary.burn_rates.iter().all(|b| close(b.burn_rate, 20.0)),
        "{canary:?}"
    );
    // The workshop SLOs have no traffic here: 0/0 is reported as no value, not as a number.
    let chat = report
        .slos
        .iter()
        .find(|s| s.name == "chat-latency")
        .unwrap();
    assert_eq!(chat.sli, None);
    assert_eq!(chat.data_secs, None);
    assert!(chat.firing.is_empty());
    let table = report.to_string();
    eprintln!("{table}");
    assert!(table.contains("20.00x"), "{table}");
    assert!(table.contains("1d at 60x = 24m"), "{table}");
    assert!(table.contains("CanaryAvailabilityFastBurn5m"), "{table}");
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
