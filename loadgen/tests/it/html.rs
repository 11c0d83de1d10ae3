//! `--html`: each command writes one self-contained page that fetches nothing (the browser
//! checks are in the e2e suite, `tests/tests/html_report.rs`).

use super::CPU;
use super::server::{Server, Spec};

/// What every report page must be: one document, a policy forbidding every fetch, the chart
/// helper inlined, and no element that loads anything.
#[track_caller]
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("content=\"default-src &#39;none&#39;"),
        "the CSP"
    );
    assert!(html.contains("window.WebUI"), "chart.js inlined");
    for loader in ["<script src", "<link", "<img", "<iframe", "@import", "url("] {
        assert!(!html.contains(loader), "{loader} in the report");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hey_mode_writes_the_html_report_with_its_series() {
    let s = Server::start(Spec::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.html");
    let out = {
        let _cpu = CPU.read().await;
        tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "-z", "2500ms", "-c", "2", "-q", "20", "-o", "json", "--html",
            ])
            .arg(&file)
            .arg(s.url("/"))
            .output()
            .await
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let html = std::fs::read_to_string(&file).unwrap();
    assert_self_contained(&html);
    // Two charts (throughput, percentiles) with a point a second, and the histogram.
    assert!(html.contains("Requests and failures per second"));
    assert!(html.contains("Response time percentiles"));
    assert!(html.contains("id=\"histogram\""));
    let points = html.matches("\"t_secs\":[").count();
    assert_eq!(points, 2, "two charts");
    assert!(
        html.contains(&format!("{}", s.requests())),
        "the request count"
    );
}

/// Issue 24, item 7: when `--html` could not be written, hey mode printed no summary at all
/// (journey and scenario run did). The figures come first; the failed write is exit 1 after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_report_that_cannot_be_written_keeps_the_summary() {
    let s = Server::start(Spec::default()).await;
    let url = s.url("/");
    let quick = super::quick_canary(&url);
    for (args, shows) in [
        (vec!["-n", "20", "-c", "2", &url], "Summary:"),
        (super::words(&quick), "verdict"),
    ] {
        let out = {
            let _cpu = CPU.read().await;
            tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
                .args(&args)
                .args(["--html", "/no/such/dir/r.html"])
                .output()
                .await
                .unwrap()
        };
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stdout.contains(shows), "{args:?}: {stdout}");
        assert!(
            stderr.contains("cannot write the HTML report to /no/such/dir/r.html"),
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_page_charts_each_check_and_gives_the_verdict() {
    let _cpu = CPU.read().await;
    let stable = Server::start(Spec::default()).await;
    let canary = Server::start(Spec::default()).await;
    let (s, c) = (stable.url("/"), canary.url("/"));
    let plan = super::canary::plan(&super::words(&format!(
        "--stable {s} --canary {c} --steps 50 --step-duration 1s --check-every 250ms \
         --gate error_rate<1% --rate 200 -c 4 --min-requests 5 --verify 0s"
    )))
    .unwrap();
    let result = plan.run().await.unwrap();
    assert!(result.checks.len() >= 3, "{:?}", result.checks);
    let html = loadgen::output::html::render(&loadgen::output::html::canary::page(&result));
    assert_self_contained(&html);
    assert!(html.contains("Promoted: every step held its gates."));
    assert!(html.contains("Canary error rate at each check"));
    assert!(html.contains(&format!(
        "<td class=\"num\">{}</td>",
        result.steps[0].canary_requests
    )));
}
