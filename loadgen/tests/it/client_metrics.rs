//! `--metrics-addr`: the client-side series pass `promtool check metrics` and agree with the
//! final report, endpoint by endpoint (requests, failures by kind, latency count and mean).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use engine::Live;
use engine::client_metrics::ClientMetrics;
use engine::journey;
use mock_server::testing::http::call;
use mock_server::testing::parse_metrics;

use super::CPU;
use super::journey::journey_plan;
use super::mock::Mock;

fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// A bucket series: the encoder puts `le` after the histogram's own labels.
fn bucket(endpoint: &str, le: &str) -> String {
    format!(r#"loadgen_latency_seconds_bucket{{endpoint="{endpoint}",target="default",le="{le}"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_metrics_pass_promtool_and_agree_with_the_report() {
    let _cpu = CPU.read().await;
    let mock = Mock::start(None).await;
    let metrics = ClientMetrics::new().unwrap();
    let listener = ClientMetrics::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(metrics.clone().serve(listener, async {
        let _ = stopped.await;
    }));

    let url = mock.url();
    let plan = journey_plan(&[
        "--host",
        &url,
        "--users",
        "10",
        "--spawn-rate",
        "1000",
        "--wait",
        "0ms..1ms",
        "--tasks",
        "2000",
        "--metrics-addr",
        "127.0.0.1:0",
    ]);
    let live = Live {
        metrics: Some(metrics.clone()),
        ..Live::default()
    };
    let report = journey::run(plan.run, live, std::future::pending())
        .await
        .unwrap();
    let answer = call("GET", &metrics_url, &[], "").await;
    let (status, text) = (answer.status, answer.body);
    let _ = stop.send(());
    server.await.unwrap();
    mock.stop().await;
    assert_eq!(status, 200);

    match std::path::Path::new("/usr/bin/promtool").exists() {
        false => eprintln!(
            "SKIPPED promtool check: /usr/bin/promtool is absent (Debian package prometheus)"
        ),
        true => {
            let mut child = std::process::Command::new("/usr/bin/promtool")
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool check metrics: {}{}\n{text}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    let m = parse_metrics(&text);
    let get = |s: &str| {
        m.get(s)
            .copied()
            .unwrap_or_else(|| panic!("no series {s} in\n{text}"))
    };
    assert!(report.endpoints.len() >= 7, "{:?}", report.endpoints);
    let mut failures_seen = 0;
    for e in &report.endpoints {
        let l = [("target", "default"), ("endpoint", e.name.as_str())];
        assert_eq!(
            get(&series("loadgen_requests_total", &l)) as u64,
            e.requests,
            "{}",
            e.name
        );
        let kinds: BTreeMap<String, u64> = m
            .iter()
            .filter(|(s, _)| {
                s.starts_with("loadgen_failures_total{")
                    && s.contains(&format!("endpoint=\"{}\"", e.name))
            })
            .map(|(s, v)| {
                (
                    s.split("kind=\"")
                        .nth(1)
                        .unwrap()
                        .split('"')
                        .next()
                        .unwrap()
                        .to_owned(),
                    *v as u64,
                )
            })
            .collect();
        assert_eq!(kinds, e.failures_by_kind, "{}: failures by kind", e.name);
        failures_seen += kinds.values().sum::<u64>();
        let count = get(&series("loadgen_latency_seconds_count", &l)) as u64;
        let sum_ms = get(&series("loadgen_latency_seconds_sum", &l)) * 1000.0;
        assert_eq!(count, e.latency_ms.count, "{}: latency count", e.name);
        let mean = sum_ms / count as f64;
        // The report's mean comes from the HdrHistogram (3 significant digits) of the same
        // samples the counter summed exactly.
        assert!(
            (mean - e.latency_ms.mean).abs() <= 0.002 * e.latency_ms.mean + 0.002,
            "{}: mean {mean} ms from /metrics vs {} ms in the report",
            e.name,
            e.latency_ms.mean
        );
        let inf = get(&bucket(&e.name, "+Inf"));
        assert_eq!(inf as u64, count, "{}: +Inf bucket", e.name);
    }
    assert_eq!(failures_seen, report.total.failures);
    assert!(
        report.total.failures > 0,
        "challenge 1's phase injects failures"
    );
    // The chat histogram has the server's chat bounds (5000 ms = 5 s, the SLO threshold).
    assert!(m.contains_key(&bucket("POST /chat", "5")), "{text}");
}
