//! `--html` reports open in a real headless Chromium with no network and show their charts: the
//! report of a journey and of a split run whose split is rolled back mid-run, both made
//! in-process against real mock-servers (sleeping their latencies, so the charts have shape).
//! The file's own Content-Security-Policy forbids every fetch; the test also checks the browser
//! fetched nothing. Skipped with `SKIPPED` without chromium/chromedriver, unless
//! `REQUIRE_CHROMIUM=1`. `REPORT_SCREENSHOTS=DIR` saves `report-journey.png` and
//! `report-split.png` there (docs/ in the repository).

use std::path::Path;
use std::time::Duration;

use clap::Parser;
use e2e::browser::{self, Browser, HEIGHT, WIDTH};
use engine::Live;
use engine::journey;
use engine::load::live_split::LiveSplit;
use mock_server::testing::TestServer;

/// A mock-server that sleeps its latencies, with `phase` applied (a JSON phase document).
async fn server(phase: &str) -> TestServer {
    let args = [
        "mock-server",
        "--latency-mode",
        "sleep",
        "--log-format",
        "text",
    ];
    let config = mock_server::Config::try_from(mock_server::cli::Args::parse_from(args)).unwrap();
    let s = TestServer::start(config).await;
    let admin = loadgen::phase_cmd::Admin::new(&format!("http://{}", s.addr), None, false).unwrap();
    admin.apply(phase).await.unwrap();
    s
}

const JOURNEY: &str = r#"
wait = "50ms..150ms"
[[task]]
name = "open the app"
weight = 3
[[task.request]]
path = "/startup"
[[task]]
name = "log in"
weight = 1
[[task.request]]
method = "POST"
path = "/login"
"#;

/// A label that opens an HTML comment and a script inside an inline script.
const HOSTILE: &str = "rollback <!--<script> x";

/// Opens `file` and checks what it shows: returns the number of chart lines drawn.
async fn open_and_check(b: &Browser, file: &Path, screenshot: &str, markers: usize) {
    b.client
        .goto(&format!("file://{}", file.display()))
        .await
        .expect("opening the report");
    let drawn = b
        .wait_until(
            "the charts to be drawn",
            "document.querySelectorAll('svg.chart path.line').length",
            Duration::from_secs(10),
            |v| v.as_u64().unwrap_or(0) >= 5,
        )
        .await;
    eprintln!("{screenshot}: {drawn} chart lines");
    // Every chart line has points, not just a move.
    let empty = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('svg.chart path.line'))\
             .filter(p => !/L/.test(p.getAttribute('d'))).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(empty.as_u64(), Some(0), "a chart line with a single point");
    let bars = b
        .client
        .execute(
            "return document.querySelectorAll('#histogram path.bar').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bars.as_u64(), Some(11), "hey's 11 histogram bars");
    let marked = b
        .client
        .execute(
            "return document.querySelectorAll('svg.chart line.marker').length",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        marked.as_u64().unwrap_or(0) >= markers as u64,
        "{marked} marker lines, want {markers} per chart at least"
    );
    if markers > 0 {
        // The hostile label is shown as the text it is.
        let titles = b
            .client
            .execute(
                "return Array.from(document.querySelectorAll('svg.chart line.marker title'))\
                 .map(t => t.textContent)",
                vec![],
            )
            .await
            .unwrap();
        assert!(titles.to_string().contains(HOSTILE), "{titles}");
    }
    // Nothing was fetched: no resource entries at all (scripts and styles are inline), and the
    // policy forbids any.
    let fetched = b
        .client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fetched,
        serde_json::json!([]),
        "the report fetched something"
    );
    let csp = b
        .client
        .execute(
            "return document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        csp.as_str().unwrap_or("").starts_with("default-src 'none'"),
        "{csp}"
    );
    let png = b.screenshot().await;
    assert_eq!(browser::png_size(&png), Some((WIDTH, HEIGHT)));
    if let Some(dir) = std::env::var_os("REPORT_SCREENSHOTS") {
        let path = Path::new(&dir).join(screenshot);
        std::fs::write(&path, png).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_and_split_reports_render_offline_with_their_charts() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let dir = tempfile_dir();
    let good = server(r#"{"StartupSuccess": 1.0, "LoginSuccess": 1.0}"#).await;
    let canary = server(r#"{"StartupSuccess": 0.6, "LoginSuccess": 0.9}"#).await;

    // A split run, 50/50, rolled back to good=100 half-way.
    let (g, c) = (
        format!("good=http://{}/startup", good.addr),
        format!("canary=http://{}/startup", canary.addr),
    );
    let cli = loadgen::cli::Cli::try_parse_from(loadgen::cli::normalize(
        [
            "loadgen", "--target", &g, "--target", &c, "-z", "8s", "-c", "16",
        ]
        .into_iter(),
    ))
    .unwrap();
    let plan = engine::plan::Plan::try_from(cli.hey).unwrap();
    let split = LiveSplit::new(&[("good".into(), 50), ("canary".into(), 50)]);
    let mover = split.clone();
    let rollback = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        mover.change(&[("good".into(), 100)]).unwrap();
    });
    let live = engine::Live {
        split: Some(split),
        series: true,
        ..Default::default()
    };
    let report = engine::run(plan, live, std::future::pending())
        .await
        .unwrap();
    rollback.await.unwrap();
    assert_eq!(report.split_events.len(), 1);
    assert!(report.series.len() >= 6, "{:?}", report.series);
    let split_file = dir.join("split.html");
    // Issue 24, item 7: a label holding `<!--<script>` left the inline script open (only `</`
    // was escaped), so no chart rendered. The marker's label is user text like a step name.
    let mut page = loadgen::output::html::hey::page(&report);
    page.markers[0].label = HOSTILE.into();
    std::fs::write(&split_file, loadgen::output::html::render(&page)).unwrap();

    // A journey of 6 users over both servers.
    let journey_file = dir.join("journey.toml");
    std::fs::write(&journey_file, JOURNEY).unwrap();
    let (g, c) = (
        format!("good=http://{}", good.addr),
        format!("canary=http://{}", canary.addr),
    );
    let cli = loadgen::cli::Cli::try_parse_from([
        "loadgen",
        "journey",
        "--journey",
        journey_file.to_str().unwrap(),
        "--target",
        &g,
        "--target",
        &c,
        "--split",
        "canary=20",
        "-u",
        "6",
        "-r",
        "3",
        "--run-time",
        "8s",
    ])
    .unwrap();
    let Some(loadgen::cli::Command::Journey(args)) = cli.command else {
        panic!("a journey command");
    };
    let jplan = loadgen::cli::JourneyPlan::try_from(args).unwrap();
    let live = Live {
        series: true,
        ..Live::default()
    };
    let jreport = journey::run(jplan.run, live, std::future::pending())
        .await
        .unwrap();
    let journey_html = dir.join("journey.html");
    std::fs::write(
        &journey_html,
        loadgen::output::html::render(&loadgen::output::html::journey::page(&jreport)),
    )
    .unwrap();
    good.stop().await;
    canary.stop().await;

    open_and_check(&b, &journey_html, "report-journey.png", 0).await;
    open_and_check(&b, &split_file, "report-split.png", 1).await;
    b.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scratch directory under the system's temporary directory.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("html-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
