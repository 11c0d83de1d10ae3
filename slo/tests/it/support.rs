//! Paths and fixtures shared by the integration tests.

use std::io::Write;
use std::path::PathBuf;

/// Whether `binary` is on PATH. When not, prints why the test skips; with
/// `REQUIRE_PROMETHEUS=1` (for CI, which installs it) a missing binary fails the test instead.
pub fn have(binary: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(binary).is_file()));
    if !found {
        assert!(
            std::env::var_os("REQUIRE_PROMETHEUS").is_none_or(|v| v != "1"),
            "{binary} is not on PATH and REQUIRE_PROMETHEUS=1"
        );
        // Straight to stderr: libtest captures eprintln! of passing tests, and a skip must show.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {binary} is not on PATH (Debian: apt-get install prometheus)"
        );
    }
    found
}

/// `scenarios/slo/` in the workspace.
pub fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/slo")
}

pub fn checked_in_spec() -> slo::Spec {
    let path = scenario_dir().join("slos.toml");
    slo::Spec::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A tiny `/metrics` endpoint on 127.0.0.1:0 whose body `render` computes from the seconds since
/// it started, so counters grow at a known rate between Prometheus' scrapes.
pub struct MetricsServer {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    pub async fn start(render: fn(f64) -> String) -> Self {
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let service = service_fn(move |_request| async move {
                    let body = render(started.elapsed().as_secs_f64());
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "text/plain; version=0.0.4")
                            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                            .unwrap(),
                    )
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        Self { addr, task }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks a report's JSON against `slo/report.schema.json`, listing every violation.
pub fn assert_matches_report_schema(report: &slo::Report) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let json: serde_json::Value =
        serde_json::from_str(&report.to_json()).expect("the report is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{}\n{json:#}", errors.join("\n"));
}
