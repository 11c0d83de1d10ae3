//! The Serverless Journey's canary, on one machine: the good `jokes` revision and the failing
//! canary behind a 90/10 split of `hey -n 50000` (here `loadgen -n 50000`). Availability falls to
//! 90%, and every error comes from the canary, as the Journey describes.

use std::net::SocketAddr;

use clap::Parser;
use e2e::revision;
use mock_server::testing::http::raw;
use mock_server::testing::{parse_metrics, value};

/// `http_requests_total` for `GET /` with `code` on the revision at `addr`.
async fn served(addr: SocketAddr, revision: &str, code: u16) -> u64 {
    let answer = raw(
        addr,
        "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    let series = format!(
        r#"http_requests_total{{code="{code}",method="GET",revision="{revision}",route="/"}}"#
    );
    value(&parse_metrics(&answer.body), &series)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_to_the_failing_canary_makes_availability_ninety_percent() {
    let good = revision("good", "jokes").await;
    let next = revision("next", "failing").await;
    let cli = loadgen::cli::Cli::try_parse_from([
        "loadgen".to_owned(),
        "-n".to_owned(),
        "50000".to_owned(),
        "--no-progress".to_owned(),
        "--target".to_owned(),
        format!("good=http://{good}/"),
        "--target".to_owned(),
        format!("next=http://{next}/"),
        "--split".to_owned(),
        "good=90".to_owned(),
        "--split".to_owned(),
        "next=10".to_owned(),
    ])
    .unwrap();
    let plan = engine::plan::Plan::try_from(cli.hey).unwrap();
    let report = engine::run(plan, engine::Live::default(), std::future::pending())
        .await
        .unwrap();
    assert_eq!(report.total.requests, 50_000);
    let availability = 1.0 - report.total.error_rate;
    assert!(
        (availability - 0.90).abs() <= 0.005,
        "availability {availability:.4}, expected 90% ± 0.5%"
    );
    let by_name = |n: &str| report.targets.iter().find(|t| t.name == n).unwrap();
    assert_eq!(
        by_name("good").error_rate,
        0.0,
        "the good revision never fails"
    );
    assert_eq!(
        by_name("next").error_rate,
        1.0,
        "every canary answer is an error"
    );
    // The revisions' own counters agree with the client, request for request.
    assert_eq!(served(good, "good", 200).await, by_name("good").requests);
    assert_eq!(served(next, "next", 500).await, by_name("next").requests);
}
