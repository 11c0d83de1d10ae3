//! The JSON report: it validates against the checked-in schema, round-trips, and shard reports
//! merge exactly (the merged histogram is the histogram of all requests).

use super::run;
use super::server::{Server, Spec};
use engine::report::Report;

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(super::REPORT_SCHEMA).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn to_json(r: &Report) -> serde_json::Value {
    let mut out = Vec::new();
    loadgen::output::json(&mut out, r).unwrap();
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
    let m = engine::report::merge::merge(vec![a2, b2]).unwrap();
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

/// Every (value, count) a histogram holds, for bucket-by-bucket comparison.
fn buckets(h: &hdrhistogram::Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_split_the_run_and_merge_back_exactly() {
    let server = Server::start(Spec::default()).await;
    let mut shards = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let r = run(&["--shard", &shard, "-n", "1000", "-c", "7", &server.url("/")]).await;
        // 1000 = 334 + 333 + 333 requests, 7 = 3 + 2 + 2 workers.
        assert_eq!(
            r.total.requests,
            if i == 0 { 334 } else { 333 },
            "shard {shard}"
        );
        shards.push(serde_json::from_value::<Report>(to_json(&r)).unwrap());
    }
    assert_eq!(server.requests(), 1000);
    let mut want = shards[0].total.latency.histogram.clone();
    for s in &shards[1..] {
        want.add(&s.total.latency.histogram).unwrap();
    }
    let merged = engine::report::merge::merge(shards).unwrap();
    assert_eq!(merged.total.requests, 1000);
    assert_eq!(merged.total.status_codes["200"], 1000);
    assert_eq!(buckets(&merged.total.latency.histogram), buckets(&want));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Latencies recorded by N shards and merged are, bucket for bucket and count for count,
    /// the histogram one unsharded run would have recorded from the same latencies.
    #[test]
    fn merging_shards_equals_the_unsharded_histogram(
        latencies in proptest::collection::vec(1u64..60_000_000, 1..2000),
        n in 1usize..6,
    ) {
        let template = tokio::runtime::Runtime::new().unwrap().block_on(async {
            let server = Server::start(Spec::default()).await;
            run(&["-n", "1", "-c", "1", &server.url("/")]).await
        });
        let empty = || hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        let mut whole = empty();
        let mut parts: Vec<_> = (0..n).map(|_| empty()).collect();
        for (k, &us) in latencies.iter().enumerate() {
            whole.record(us).unwrap();
            parts[k % n].record(us).unwrap();
        }
        let reports = parts.into_iter().map(|h| {
            let mut r = template.clone();
            r.total.requests = h.len();
            r.total.latency = engine::report::Latency::from_histogram(h);
            serde_json::from_value::<Report>(to_json(&r)).unwrap()
        });
        let merged = engine::report::merge::merge(reports.collect()).unwrap();
        proptest::prop_assert_eq!(merged.total.requests, latencies.len() as u64);
        proptest::prop_assert_eq!(buckets(&merged.total.latency.histogram), buckets(&whole));
    }
}

#[test]
fn bad_shards_are_usage_errors() {
    use clap::Parser;
    for (shard, c, words) in [
        ("3/3", "4", "I/N"),
        ("1/0", "4", "I/N"),
        ("x", "4", "I/N"),
        ("0/8", "4", "at least one worker"),
    ] {
        let parsed = loadgen::cli::Cli::try_parse_from([
            "loadgen",
            "--shard",
            shard,
            "-c",
            c,
            "http://127.0.0.1:1/",
        ]);
        let err = match parsed {
            Err(e) => e.to_string(),
            Ok(cli) => engine::plan::Plan::try_from(cli.hey)
                .unwrap_err()
                .to_string(),
        };
        assert!(err.contains(words), "{shard}: {err}");
    }
}

#[test]
fn a_shard_takes_its_share_of_the_rate() {
    use clap::Parser;
    let cli = loadgen::cli::Cli::try_parse_from([
        "loadgen",
        "--shard",
        "1/4",
        "--rate",
        "300",
        "-z",
        "10s",
        "-c",
        "8",
        "http://127.0.0.1:1/",
    ])
    .unwrap();
    let plan = engine::plan::Plan::try_from(cli.hey).unwrap();
    assert_eq!(plan.pacing, engine::plan::Pacing::Open { rate: 75.0 });
    assert_eq!(plan.concurrency, 2);
}
