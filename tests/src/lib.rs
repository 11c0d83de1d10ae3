//! End-to-end suite: mock-server, loadgen and a real Prometheus together, in-process over
//! loopback (the tests live in `tests/`).
//!
//! - [`browser`] drives a real headless Chromium through chromedriver, for the console's page.
//! - [`stack`] starts the three: mock-server driving a timeline, loadgen at constant rates, and
//!   Prometheus scraping every second with the SLO spec's rules compressed 60x.
//! - [`model`] says what the alerts must do: each SLO's error ratio under each phase, run
//!   through `slo::predict` with the history Prometheus really has, with a 4-sigma band.
//! - [`observed`] reads back what Prometheus did, from its `ALERTS` series, and compares.

pub mod browser;
pub mod model;
pub mod observed;
pub mod stack;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// One HTTP/1.1 exchange over a fresh connection (JSON body, optional bearer token): the status,
/// the raw head and the body. Raw on purpose: the pages' tests check headers as sent.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    auth: Option<&str>,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = auth
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{auth}content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
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

/// A path relative to the workspace root.
pub fn workspace_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

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
    for c in [
        "mock-server",
        "engine",
        "loadgen",
        "slo",
        "scenarios",
        "webui",
        "tests",
        "bench",
    ] {
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
