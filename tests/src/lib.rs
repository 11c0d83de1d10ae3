//! End-to-end suite: mock-server, loadgen and a real Prometheus together, in-process over
//! loopback (the tests live in `tests/`).
//!
//! - [`browser`] drives a real headless Chromium through chromedriver, for the console's page.
//! - [`stack`] starts the three: mock-server driving a timeline, loadgen at constant rates, and
//!   Prometheus scraping every second with the SLO spec's rules compressed 60x.
//! - [`model`] says what the alerts must do: each SLO's error ratio under each phase, run
//!   through `slo::predict` with the history Prometheus really has, with a 4-sigma band.
//! - [`observed`] reads back what Prometheus did, from its `ALERTS` series, and compares.
//!
//! Here too: [`http`] (a JSON request over `mock_server::testing::http`, the suites' one
//! client) and [`wait_for_series`], the one "wait until Prometheus has scraped" of the suite.

pub mod browser;
pub mod model;
pub mod observed;
pub mod pages;
pub mod stack;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use mock_server::testing;
use mock_server::testing::http::Answer;

/// One JSON request over a fresh connection with `host: localhost`, read raw (the pages' tests
/// check headers as sent).
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Answer {
    http_as(addr, "localhost", method, path, body).await
}

/// [`http`] with a `host` of the caller's choice (another name, as DNS rebinding sends).
pub async fn http_as(addr: SocketAddr, host: &str, method: &str, path: &str, body: &str) -> Answer {
    let headers = [&format!("host: {host}"), "content-type: application/json"];
    testing::http::raw(addr, &testing::http::request(method, path, &headers, body)).await
}

/// Starts a revision as its image would (`mock-server --profile PROFILE --revision NAME`, recording
/// rather than sleeping latencies) on a free loopback port, for the canary tests.
pub async fn revision(name: &str, profile: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let args = [
        "mock-server",
        "--latency-mode",
        "record",
        "--profile",
        profile,
        "--revision",
        name,
    ];
    let config = mock_server::Config::try_from(mock_server::cli::Args::parse_from(args)).unwrap();
    tokio::spawn(mock_server::run(listener, config, std::future::pending()));
    addr
}

/// Whether the `prometheus` binary is on PATH. When not, prints why the test skips; with
/// `REQUIRE_PROMETHEUS=1` (CI, which installs it) a missing binary fails the test instead.
pub fn have_prometheus() -> bool {
    if slo::LocalPrometheus::binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("REQUIRE_PROMETHEUS").is_none_or(|v| v != "1"),
        "prometheus is not on PATH and REQUIRE_PROMETHEUS=1 (Debian: apt-get install prometheus)"
    );
    // Straight to stderr: libtest captures eprintln! of passing tests, and a skip must show.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: prometheus is not on PATH (apt-get install prometheus)"
    );
    false
}

/// Waits until Prometheus answers `promql` with at least `series` samples (`up == 1` for two
/// targets: both scraped); panics, with its log, past `within`.
pub async fn wait_for_series(
    prometheus: &slo::LocalPrometheus,
    promql: &str,
    series: usize,
    within: Duration,
) {
    let client = prometheus.client();
    let deadline = tokio::time::Instant::now() + within;
    while client.query(promql).await.map_or(0, |found| found.len()) < series {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Prometheus did not answer {promql} with {series} series within {within:?}\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A path relative to the workspace root.
pub fn workspace_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The workspace's crates, by folder.
pub const CRATES: [&str; 7] = [
    "mock-server",
    "engine",
    "loadgen",
    "slo",
    "scenarios",
    "webui",
    "tests",
];

/// Every page of the docs: the README, BENCHMARKS.md, the guide under `docs/` and each crate's
/// README (what the docs tests read).
pub fn doc_pages() -> Vec<PathBuf> {
    let root = workspace_path("");
    let mut pages = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    let mut guide: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guide.sort();
    pages.extend(guide);
    for c in CRATES.iter().chain(&["bench"]) {
        pages.push(root.join(c).join("README.md"));
    }
    pages
}

/// The one SLO spec, `scenarios/slo/slos.toml`: the rules Prometheus loads are generated from it.
pub fn checked_in_spec() -> slo::Spec {
    let path = workspace_path("scenarios/slo/slos.toml");
    slo::Spec::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Seconds since the Unix epoch, the clock Prometheus stamps its samples with.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
