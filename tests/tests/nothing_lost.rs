//! Nothing is lost: under a phase changing every 100 ms, the server's counters equal, per
//! endpoint and per status, what the load generator saw; and a server that dies mid-run and
//! comes back is reported, not fatal.
//!
//! CI runs `NOTHING_LOST_REQUESTS` (default 100,000) requests; the issue's full size is
//! `NOTHING_LOST_REQUESTS=1000000 cargo test --release -p e2e --test nothing_lost`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use engine::report::Report;
use mock_server::testing::http::{raw, request};
use mock_server::testing::parse_metrics;
use mock_server::{Config, LatencyMode};
use tokio::net::TcpListener;

/// The server's counters (phase changes included), by series text.
async fn metrics(addr: SocketAddr) -> BTreeMap<String, u64> {
    let answer = raw(
        addr,
        "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    parse_metrics(&answer.body)
        .into_iter()
        .filter(|(series, _)| {
            [
                "movieguru_",
                "http_requests_total",
                "mockserver_phase_changes_total",
            ]
            .iter()
            .any(|p| series.starts_with(p))
        })
        .map(|(series, value)| (series, value as u64))
        .collect()
}

fn load(args: &[String]) -> engine::plan::Plan {
    let argv = ["loadgen", "--no-progress"]
        .iter()
        .map(|s| s.to_string())
        .chain(args.iter().cloned());
    engine::plan::Plan::try_from(loadgen::cli::Cli::try_parse_from(argv).unwrap().hey).unwrap()
}

async fn serve(listener: TcpListener) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        latency_mode: LatencyMode::Record,
        ..Config::default()
    };
    tokio::spawn(mock_server::run(listener, config, async {
        let _ = stopped.await;
    }));
    stop
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_match_the_client_under_phase_churn() {
    let requests: u64 = std::env::var("NOTHING_LOST_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = serve(listener).await;
    // Four GET endpoints, one target each, so the report breaks the counts down per endpoint.
    let endpoints = [
        ("startup", "/startup"),
        ("prefget", "/preferences"),
        ("logout", "/logout"),
        ("health", "/"),
    ];
    let mut args: Vec<String> = vec!["-n".into(), requests.to_string(), "-c".into(), "256".into()];
    for (name, path) in endpoints {
        args.extend(["--target".into(), format!("{name}=http://{addr}{path}")]);
    }
    let churn = tokio::spawn(async move {
        let mut changes = 0u64;
        loop {
            let ratio = if changes % 2 == 0 { 0.3 } else { 0.9 };
            let body = format!(r#"{{"StartupSuccess": {ratio}, "PrefGetSuccess": {ratio}}}"#);
            let headers = ["host: localhost", "content-type: application/json"];
            let answer = raw(addr, &request("POST", "/phase", &headers, &body)).await;
            assert!(answer.head.starts_with("HTTP/1.1 200"), "{answer:?}");
            changes += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let report: Report = engine::run(load(&args), engine::Live::default(), std::future::pending())
        .await
        .unwrap();
    churn.abort();
    let m = metrics(addr).await;
    assert_eq!(report.total.requests, requests);
    assert_eq!(report.total.failures, 0, "{:?}", report.total.errors);
    let target = |name: &str| report.targets.iter().find(|t| t.name == name).unwrap();
    let codes = |name: &str, code: &str| target(name).status_codes.get(code).copied().unwrap_or(0);
    let series = |s: &str| m.get(s).copied().unwrap_or(0);
    let http_total = |route: &str, code: &str| {
        series(&format!(
            r#"http_requests_total{{code="{code}",method="GET",route="{route}"}}"#
        ))
    };
    for (name, prefix) in [
        ("startup", "movieguru_startup"),
        ("prefget", "movieguru_prefGet"),
    ] {
        assert_eq!(
            series(&format!("{prefix}_attempts_total")),
            target(name).requests,
            "{prefix} attempts"
        );
        assert_eq!(
            series(&format!("{prefix}_success_total")),
            codes(name, "200"),
            "{prefix} successes"
        );
    }
    assert_eq!(
        series("movieguru_Logout_attempts_total"),
        codes("logout", "200")
    );
    assert_eq!(
        series("movieguru_healthcheck_attempts_total"),
        codes("health", "200")
    );
    for (name, route) in endpoints.map(|(n, p)| (n, p)) {
        for code in ["200", "500"] {
            assert_eq!(http_total(route, code), codes(name, code), "{route} {code}");
        }
    }
    // The churn really happened: both phases were in force for a good share of the run.
    let startup = target("startup");
    let share = codes("startup", "200") as f64 / startup.requests as f64;
    assert!(
        (0.35..0.85).contains(&share),
        "startup success share {share}"
    );
    eprintln!(
        "nothing lost: {requests} requests, {} phase changes",
        series("mockserver_phase_changes_total")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_dies_and_comes_back_is_reported_not_fatal() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = serve(listener).await;
    let args: Vec<String> = ["--rate", "200", "-z", "3s", "-c", "8", "-t", "1"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("http://{addr}/")])
        .collect();
    let run = tokio::spawn(engine::run(
        load(&args),
        engine::Live::default(),
        std::future::pending(),
    ));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let listener = TcpListener::bind(addr)
        .await
        .expect("the port is free again");
    let _again = serve(listener).await;
    let report = run.await.unwrap().unwrap();
    let refused = report
        .total
        .errors
        .get("connect_refused")
        .copied()
        .unwrap_or(0);
    let ok = report.total.status_codes.get("200").copied().unwrap_or(0);
    assert!(
        refused > 0,
        "the outage went unreported: {:?}",
        report.total.errors
    );
    assert!(ok > 250, "too few answers around the outage: {ok}");
    // Answers came after the restart too: more than the first 0.8 s at 200/s could give.
    assert!(ok > 200, "{ok}");
}
