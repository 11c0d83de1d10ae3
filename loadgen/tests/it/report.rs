//! The JSON report: it validates against the checked-in schema, round-trips, and shard reports
//! merge exactly (the merged histogram is the histogram of all requests).

use super::run;
use super::server::{Server, Spec};
use loadgen::report::Report;

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/report.schema.json"))
            .expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn to_json(r: &Report) -> serde_json::Value {
    let mut out = Vec::new();
    loadgen::render::json(&mut out, r).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_reports_validate_against_the_schema() {
    let ok = Server::start(Spec {
        status: |k| if k % 4 == 0 { 503 } else { 200 },
        ..Spec::default()
    })
    .await;
    let odd = Server::start(Spec {
        status: |_| 799,
        ..Spec::default()
    })
    .await;
    let v = validator();
    let reports = [
        run(&["-n", "10", "-c", "2", &odd.url("/")]).await,
        run(&["-n", "50", "-c", "5", "--slo", "p99<1s", &ok.url("/")]).await,
        run(&["--rate", "500", "-n", "50", "-c", "5", &ok.url("/")]).await,
        run(&[
            "--target",
            &format!("a={}", ok.url("/a")),
            "--target",
            "b=http://127.0.0.1:1/",
            "-n",
            "20",
            "-c",
            "2",
        ])
        .await,
    ];
    for r in &reports {
        let json = to_json(r);
        let errors: Vec<String> = v
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    assert_eq!(
        reports[0].total.status_codes["799"], 10,
        "any status hyper accepts is counted"
    );
    assert!(reports[3].targets[1].errors.contains_key("connect_refused"));

    // The schema is not vacuous: a report missing a field, or with an unknown error kind, fails.
    let mut bad = to_json(&reports[1]);
    bad["total"].as_object_mut().unwrap().remove("latency");
    assert!(!v.is_valid(&bad));
    let mut bad = to_json(&reports[0]);
    bad["total"]["errors"] = serde_json::json!({"gremlins": 1});
    assert!(!v.is_valid(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_reports_merge_exactly() {
    let fast = Server::start(Spec::default()).await;
    let slow = Server::start(Spec {
        delay: std::time::Duration::from_millis(30),
        ..Spec::default()
    })
    .await;
    let a = run(&["-n", "300", "-c", "3", &fast.url("/")]).await;
    let b = run(&["-n", "100", "-c", "2", &slow.url("/")]).await;
    // Through JSON, as `loadgen merge` reads them.
    let a2: Report = serde_json::from_value(to_json(&a)).unwrap();
    let b2: Report = serde_json::from_value(to_json(&b)).unwrap();
    let m = loadgen::merge::merge(vec![a2, b2]).unwrap();
    assert_eq!(m.total.requests, 400);
    assert_eq!(m.total.status_codes["200"], 400);
    let mut want = a.total.latency.histogram.clone();
    want.add(&b.total.latency.histogram).unwrap();
    assert_eq!(m.total.latency.count, 400);
    assert_eq!(
        m.total.latency.p90,
        want.value_at_quantile(0.90) as f64 / 1e6
    );
    // 100 of 400 took >= 30 ms: p80 is fast, p90 is slow.
    assert!(m.total.latency.p90 >= 0.030, "{}", m.total.latency.p90);
    assert!(validator().is_valid(&to_json(&m)));
}
