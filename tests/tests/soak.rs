//! A short soak: both tools in one process for `SOAK_SECS` (default 60, sampled every 10 s) under steady load; the
//! process's resident memory and open descriptors stay flat after warm-up. `bench/soak` is the
//! long version with the release binaries (not in CI).

use std::time::Duration;

use clap::Parser;
use mock_server::testing::http::{raw, request};
use mock_server::{Config, LatencyMode};
use tokio::net::TcpListener;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_descriptors_stay_flat() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config {
        latency_mode: LatencyMode::Sleep,
        ..Config::default()
    };
    tokio::spawn(mock_server::run(listener, config, std::future::pending()));
    // Short latencies, so the run makes many requests; 10% fail, so error paths run too.
    let phase = r#"{"StartupSuccess": 0.9, "StartupLatencyMinMS": 1, "StartupLatencyMaxMS": 20}"#;
    let headers = ["host: localhost", "content-type: application/json"];
    let answer = raw(addr, &request("POST", "/phase", &headers, phase)).await;
    assert!(
        answer.head.starts_with("HTTP/1.1 200"),
        "the phase was refused: {answer:?}"
    );
    let argv = [
        "loadgen",
        "--no-progress",
        "--rate",
        "400",
        "-c",
        "32",
        "-z",
        &format!("{secs}s"),
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([
        "--target".to_owned(),
        format!("keep=http://{addr}/startup"),
        "--target".to_owned(),
        format!("churn=http://{addr}/startup"),
        "--split".to_owned(),
        "keep=9".to_owned(),
        "--split".to_owned(),
        "churn=1".to_owned(),
    ]);
    let plan =
        engine::plan::Plan::try_from(loadgen::cli::Cli::try_parse_from(argv).unwrap().hey).unwrap();
    let run = tokio::spawn(engine::run(
        plan,
        engine::Sinks::default(),
        std::future::pending(),
    ));
    let mut samples = Vec::new();
    // Sampled while the load runs (its last tick would catch the connections closing).
    for t in (10..secs).step_by(10) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        samples.push((t, status_kib("VmRSS:"), open_fds()));
        eprintln!(
            "soak t={t}s rss={} KiB fds={}",
            samples.last().unwrap().1,
            samples.last().unwrap().2
        );
    }
    let report = run.await.unwrap().unwrap();
    assert!(
        report.total.requests > 300 * secs,
        "the load did not run: {}",
        report.total.requests
    );
    // After a quarter of the run (warm-up: connections, histograms, allocator arenas) nothing grows.
    let warm = samples[samples.len() / 4];
    let last = *samples.last().unwrap();
    assert!(
        last.1 as f64 <= warm.1 as f64 * 1.10 + 1024.0,
        "RSS grew: {samples:?}"
    );
    assert!(last.2 <= warm.2 + 8, "descriptors grew: {samples:?}");
}
