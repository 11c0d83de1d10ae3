//! `loadgen journey --web`, Locust's swarm page, driven in a real headless Chromium against a
//! real mock-server, both in-process: the form starts a run, rows and counts rise, users go from
//! 5 to 10 and the page's user count follows, stop, and the page's CSV download counts exactly
//! what the server's `/metrics` counts. A page opened late, or after the run, draws the whole
//! history loadgen kept; failures carry when they were first and last seen; `POST /split`
//! answers with the counts at the change, as the mocks counted them. Browser tests are skipped
//! with `SKIPPED` when chromium/chromedriver are missing, unless `REQUIRE_CHROMIUM=1`.
//!
//! `SWARM_SCREENSHOTS=DIR` writes `swarm-running.png`, `swarm-charts.png`, `swarm-failures.png`,
//! `swarm-start.png`, `swarm-split.png` and `swarm-history.png` (1280x800) there, and `SWARM_LOAD_SECS` (default 0) lets the run go on
//! that much longer before them, so the charts have some history.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use e2e::browser::{self, Browser, HEIGHT, WIDTH};
use mock_server::testing::{TestServer, label, parse_metrics, sample};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(15);

async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let answer = e2e::http(addr, method, path, body).await;
    (answer.status, answer.body)
}

/// Requests the server answered, and those it answered with a status >= 400, from
/// `http_requests_total` (the scrapes of `/metrics` left out).
fn served(metrics: &BTreeMap<String, f64>) -> (u64, u64) {
    let (mut all, mut failed) = (0, 0);
    for (series, value) in metrics {
        if !series.starts_with("http_requests_total{") || series.contains("route=\"/metrics\"") {
            continue;
        }
        let n = *value as u64;
        let code: u16 = label(series, "code").unwrap().parse().unwrap();
        all += n;
        if code >= 400 {
            failed += n;
        }
    }
    (all, failed)
}

/// The CSV's row for `name`: (requests, failures).
fn csv_row(csv: &str, name: &str) -> (u64, u64) {
    let line = csv
        .lines()
        .find(|l| l.split(',').nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{csv}"));
    let cols: Vec<&str> = line.split(',').collect();
    (cols[2].parse().unwrap(), cols[3].parse().unwrap())
}

async fn shot(b: &Browser, name: &str) {
    b.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = b.screenshot().await;
    assert_eq!(browser::png_size(&png), Some((WIDTH, HEIGHT)));
    if let Some(dir) = std::env::var_os("SWARM_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }
}

/// The swarm page for `journey --web` with `flags`, on a free loopback port.
async fn page(flags: &[&str]) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    e2e::pages::swarm_page(flags, true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_swarm_page_starts_scales_stops_and_its_csv_matches_the_server() {
    let Some(b) = Browser::start().await else {
        return;
    };
    // The workshop's challenge-1 phase: some chats fail, so failures show too.
    let config = mock_server::Config::try_from(mock_server::cli::Args::parse_from([
        "mock-server",
        "--latency-mode",
        "record",
        "--log-format",
        "text",
    ]))
    .unwrap();
    let srv = TestServer::start(config).await;
    // No --host: the page waits for its form, as Locust's does.
    let (addr, stop_page) =
        page(&["--users", "3", "--spawn-rate", "1", "--wait", "20ms..80ms"]).await;
    let (status, stats) = http(addr, "GET", "/stats", "").await;
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["state"], "ready", "{stats}");

    b.open(addr, "/").await;
    b.wait_until(
        "the start form, pre-filled from the flags",
        "!document.getElementById('start-panel').hidden && document.getElementById('f-users').value",
        LIMIT,
        |v| v == "3",
    )
    .await;
    b.type_into("f-host", &srv.url("")).await;
    b.type_into("f-users", "5").await;
    b.type_into("f-spawn-rate", "5").await;
    shot(&b, "swarm-start.png").await;
    b.click("start-btn").await;

    // Rows appear and counts rise.
    b.wait_until(
        "rows in the statistics table",
        "document.querySelectorAll('#stats-rows tr').length",
        LIMIT,
        |v| v.as_u64().is_some_and(|n| n >= 3),
    )
    .await;
    let total = "Number(document.querySelector('#stats-total td.requests').dataset.value)";
    let first = b
        .wait_until("requests counted", total, LIMIT, |v| {
            v.as_f64().is_some_and(|n| n > 0.0)
        })
        .await
        .as_f64()
        .unwrap();
    b.wait_until("the request count to rise", total, LIMIT, |v| {
        v.as_f64().is_some_and(|n| n > first)
    })
    .await;
    b.wait_until(
        "5 users running",
        "[document.getElementById('state').dataset.state, document.getElementById('users').dataset.value]",
        LIMIT,
        |v| v[0] == "running" && v[1] == "5",
    )
    .await;

    // Users 5 -> 10 while it runs; the page's count follows.
    b.click("edit-btn").await;
    b.type_into("e-users", "10").await;
    b.type_into("e-spawn-rate", "10").await;
    b.click("edit-submit").await;
    b.wait_until(
        "10 users running",
        "[document.getElementById('state').dataset.state, document.getElementById('users').dataset.value]",
        LIMIT,
        |v| v[0] == "running" && v[1] == "10",
    )
    .await;
    let (_, stats) = http(addr, "GET", "/stats", "").await;
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["user_count"], 10, "the API agrees with the page");
    b.click("edit-cancel").await;
    tokio::time::sleep(Duration::from_secs(load_secs())).await;
    // A few polls so the charts have lines, and failures show (challenge 1 fails some chats).
    b.wait_until(
        "failures counted",
        "Number(document.querySelector('#stats-total td.failures').dataset.value)",
        LIMIT,
        |v| v.as_f64().is_some_and(|n| n > 0.0),
    )
    .await;
    shot(&b, "swarm-running.png").await;
    b.click("tab-charts").await;
    b.wait_until(
        "the charts to draw their lines",
        "document.querySelectorAll('#p-charts path.line').length",
        LIMIT,
        |v| v.as_u64().is_some_and(|n| n >= 6),
    )
    .await;
    shot(&b, "swarm-charts.png").await;
    b.click("tab-failures").await;
    b.wait_until(
        "the failures tab to list a kind",
        "document.querySelectorAll('#failures-table tbody tr td.num').length",
        LIMIT,
        |v| v.as_u64().is_some_and(|n| n >= 1),
    )
    .await;
    // Each kind's row under "last errors" carries the recorder's first and last time.
    b.wait_until(
        "last errors with first and last seen",
        "Array.from(document.querySelectorAll('#recent-errors tbody tr')).map(r => \
         [Number(r.dataset.first), Number(r.dataset.last), r.querySelector('.first-seen').textContent])",
        LIMIT,
        |v| {
            v.as_array().is_some_and(|rows| {
                !rows.is_empty()
                    && rows.iter().all(|r| {
                        r[0].as_f64().is_some_and(|f| f > 0.0)
                            && r[0].as_f64() <= r[1].as_f64()
                            && r[2].as_str().is_some_and(|t| t.contains(':'))
                    })
            })
        },
    )
    .await;
    shot(&b, "swarm-failures.png").await;

    b.click("stop-btn").await;
    b.wait_until(
        "the run to stop",
        "document.getElementById('state').dataset.state",
        LIMIT,
        |v| v == "stopped",
    )
    .await;

    // The download link's CSV, fetched by the page, against the server's own counters.
    b.click("tab-downloads").await;
    let csv = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             fetch(document.getElementById('dl-csv').href).then(r => r.text()).then(done);",
            vec![],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap().to_owned();
    let metrics = parse_metrics(&http(srv.addr, "GET", "/metrics", "").await.1);
    let (requests, failures) = csv_row(&csv, "Aggregated");
    assert!(requests > 20, "only {requests} requests in\n{csv}");
    assert_eq!(
        (requests, failures),
        served(&metrics),
        "the CSV's Aggregated (requests, failures) vs the server's http_requests_total\n{csv}"
    );
    assert_eq!(
        csv_row(&csv, "POST /chat").0,
        sample(&metrics, "movieguru_chat_calls_total") as u64,
        "chats"
    );
    b.close().await;
    let _ = stop_page.send(());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_bad_forms_with_a_clear_message() {
    let (addr, stop_page) = page(&["--users", "2"]).await;
    for (body, status, says) in [
        (r#"{"users":5}"#, 400, "host: give the base URL"),
        (r#"{"host":"ftp://x","users":5}"#, 400, "host:"),
        (
            r#"{"host":"http://127.0.0.1:9","users":0}"#,
            400,
            "users must be between 1 and 100000",
        ),
        (
            r#"{"host":"http://127.0.0.1:9","spawn_rate":0}"#,
            400,
            "spawn_rate must be",
        ),
        (
            r#"{"host":"http://127.0.0.1:9","run_time":"soon"}"#,
            400,
            "run_time must be",
        ),
        (
            r#"{"host":"http://127.0.0.1:9","journey":"/etc/passwd"}"#,
            400,
            "is not one of workshop",
        ),
        (r#"{"hosts":"x"}"#, 400, "unknown field"),
        ("not json", 400, "body:"),
    ] {
        let (got, reply) = http(addr, "POST", "/swarm", body).await;
        assert_eq!(got, status, "{body}: {reply}");
        assert!(reply.contains(says), "{body}: {reply} should say {says:?}");
    }
    assert_eq!(http(addr, "POST", "/stop", "").await.0, 409);
    assert_eq!(http(addr, "POST", "/reset", "").await.0, 409);
    assert_eq!(http(addr, "GET", "/stats/requests.csv", "").await.0, 404);
    assert_eq!(http(addr, "DELETE", "/swarm", "").await.0, 405);
    let (_, stats) = http(addr, "GET", "/stats", "").await;
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["state"], "ready", "nothing started: {stats}");
    let _ = stop_page.send(());
}

async fn stats(addr: SocketAddr) -> Value {
    let (status, body) = http(addr, "GET", "/stats", "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls `/stats` until `f` holds, for at most `LIMIT`.
async fn wait_stats(addr: SocketAddr, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let s = stats(addr).await;
        if f(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {LIMIT:?} for {what}; last /stats: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_api_users_go_down_stats_reset_and_a_stopped_run_starts_again() {
    let srv = TestServer::with_phase(
        mock_server::Phase::workshop_default(),
        mock_server::LatencyMode::Record,
    )
    .await;
    let host = srv.url("");
    let (addr, stop_page) = page(&["--host", &host, "--wait", "20ms..50ms"]).await;
    let (status, reply) = http(addr, "POST", "/swarm", r#"{"users":4,"spawn_rate":100}"#).await;
    assert_eq!(status, 200, "{reply}");
    wait_stats(addr, "4 users", |s| {
        s["user_count"] == 4 && s["state"] == "running"
    })
    .await;
    // Down to 1 at 2 users/s: spawning while it steps down, then running with 1.
    let (status, reply) = http(addr, "POST", "/swarm", r#"{"users":1,"spawn_rate":2}"#).await;
    assert_eq!(status, 200, "{reply}");
    wait_stats(addr, "1 user", |s| {
        s["user_count"] == 1 && s["state"] == "running"
    })
    .await;
    let before = stats(addr).await["total"]["requests"].as_u64().unwrap();
    assert!(before > 0);
    let (status, _) = http(addr, "POST", "/reset", "").await;
    assert_eq!(status, 200);
    let after = stats(addr).await["total"]["requests"].as_u64().unwrap();
    assert!(
        after < before,
        "reset: {after} requests after, {before} before"
    );
    assert_eq!(http(addr, "POST", "/stop", "").await.0, 200);
    wait_stats(addr, "the stop", |s| {
        s["state"] == "stopped" && s["user_count"] == 0
    })
    .await;
    assert_eq!(
        http(addr, "POST", "/reset", "").await.0,
        409,
        "a stopped run's report is final"
    );
    let (status, reply) = http(
        addr,
        "POST",
        "/swarm",
        r#"{"users":2,"spawn_rate":10,"run_time":"2s"}"#,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply.contains("spawning") || reply.contains("running"),
        "{reply}"
    );
    // Its run time ends it by itself; its stats are its own (the first run's are gone).
    let s = wait_stats(addr, "the run time to end it", |s| s["state"] == "stopped").await;
    assert_eq!(s["form"]["users"], 2, "{s}");
    let secs = s["elapsed_secs"].as_f64().unwrap();
    assert!((2.0..3.5).contains(&secs), "the second run lasted {secs} s");
    assert!(s["total"]["requests"].as_u64().unwrap() > 0, "{s}");
    let _ = stop_page.send(());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_targets_the_page_moves_traffic_and_refuses_bad_splits() {
    let good = TestServer::with_phase(
        mock_server::Phase::workshop_default(),
        mock_server::LatencyMode::Record,
    )
    .await;
    let canary = TestServer::with_phase(
        mock_server::Phase::workshop_default(),
        mock_server::LatencyMode::Record,
    )
    .await;
    let (addr, stop_page) = page(&[
        "--target",
        &format!("good={}", good.url("")),
        "--target",
        &format!("canary={}", canary.url("")),
        "--split",
        "good=50",
        "--users",
        "4",
        "--spawn-rate",
        "100",
        "--wait",
        "10ms..30ms",
    ])
    .await;
    // One target: no split. Before a run: nothing to change.
    assert_eq!(http(addr, "GET", "/split", "").await.0, 409);
    let (status, reply) = http(addr, "POST", "/swarm", "").await;
    assert_eq!(status, 200, "{reply}");
    let s = wait_stats(addr, "both targets to get requests", |s| {
        s["stats"].as_array().is_some_and(|rows| {
            ["good", "canary"]
                .iter()
                .all(|t| rows.iter().any(|r| r["target"] == *t))
        })
    })
    .await;
    assert_eq!(
        s["split"]["weights"],
        serde_json::json!([["good", 50], ["canary", 50]])
    );
    for (body, says) in [
        (r#"{"nope":100}"#, "is not a target of this run"),
        (r#"{"good":101}"#, "not a whole percentage"),
        ("[1]", "not a JSON object"),
    ] {
        let (status, reply) = http(addr, "POST", "/split", body).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert!(reply.contains(says), "{body}: {reply} should say {says:?}");
    }
    let browser = Browser::start().await;
    if let Some(b) = &browser {
        b.open(addr, "/").await;
        b.wait_until(
            "the split panel",
            "!document.getElementById('split-panel').hidden && !!document.getElementById('split-w-0')",
            LIMIT,
            |v| v == true,
        )
        .await;
        b.type_into("split-w-0", "100").await;
        b.click("split-apply").await;
        b.wait_until(
            "the page to say the split moved",
            "document.getElementById('split-msg').textContent",
            LIMIT,
            |v| v.as_str().is_some_and(|s| s.contains("canary 0%")),
        )
        .await;
        b.wait_until(
            "the change listed",
            "document.querySelectorAll('#split-events tbody tr').length",
            LIMIT,
            |v| v == 1,
        )
        .await;
        shot(b, "swarm-split.png").await;
    } else {
        let (status, reply) = http(addr, "POST", "/split", r#"{"good":100}"#).await;
        assert_eq!(status, 200, "{reply}");
    }
    let (status, reply) = http(addr, "GET", "/split", "").await;
    assert_eq!(status, 200, "{reply}");
    let split: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(split["weights"]["canary"], 0, "{split}");
    assert_eq!(split["events"].as_array().unwrap().len(), 1, "{split}");
    // After the change the canary gets nothing new: its count stops while good's rises.
    let count = |s: &Value, t: &str| -> u64 {
        s["stats"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["target"] == t)
            .map(|r| r["requests"].as_u64().unwrap())
            .sum()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a = stats(addr).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let b = stats(addr).await;
    assert_eq!(
        count(&a, "canary"),
        count(&b, "canary"),
        "the canary still got traffic"
    );
    assert!(count(&b, "good") > count(&a, "good"));
    assert_eq!(http(addr, "POST", "/stop", "").await.0, 200);
    wait_stats(addr, "the stop", |s| s["state"] == "stopped").await;
    let (_, report) = http(addr, "GET", "/report.json", "").await;
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        report["split_events"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(
        http(addr, "POST", "/split", r#"{"good":50}"#).await.0,
        409,
        "an ended run's split cannot change"
    );
    if let Some(b) = browser {
        b.close().await;
    }
    let _ = stop_page.send(());
    good.stop().await;
    canary.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_ends_at_once_still_shows_as_stopped() {
    let srv = TestServer::with_phase(
        mock_server::Phase::workshop_default(),
        mock_server::LatencyMode::Record,
    )
    .await;
    // Three tasks in all: the run can end before its start request has answered.
    let (addr, stop_page) =
        page(&["--host", &srv.url(""), "--tasks", "3", "--wait", "0ms..0ms"]).await;
    let (status, reply) = http(addr, "POST", "/swarm", r#"{"users":3,"spawn_rate":1000}"#).await;
    assert_eq!(status, 200, "{reply}");
    let s = wait_stats(addr, "the stop", |s| s["state"] == "stopped").await;
    let tasks = s["total"]["requests"].as_u64().unwrap();
    assert!((3..=6).contains(&tasks), "3 tasks of 1 or 2 requests: {s}");
    let (status, csv) = http(addr, "GET", "/stats/requests.csv", "").await;
    assert_eq!(status, 200);
    assert_eq!(csv_row(&csv, "Aggregated").0, tasks, "{csv}");
    // Which endpoints three random tasks reached varies (none is chat one run in five), so
    // the report must name the ones the CSV has.
    // Columns: Target, Name ("POST /chat"), counts...
    let name = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .find(|name| *name != "Aggregated")
        .unwrap_or_else(|| panic!("no endpoint row in\n{csv}"));
    let (status, html) = http(addr, "GET", "/report.html", "").await;
    assert_eq!(status, 200);
    assert!(
        html.to_ascii_lowercase().starts_with("<!doctype html") && html.contains(name),
        "the HTML report download does not name {name}: {}",
        &html[..html.len().min(300)]
    );
    let _ = stop_page.send(());
    srv.stop().await;
}

/// `SWARM_LOAD_SECS`: how much longer the runs go on before their screenshots.
fn load_secs() -> u64 {
    std::env::var("SWARM_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Wall-clock milliseconds, the clock the page's points and the failures' times are stamped with.
fn now_ms() -> u64 {
    (e2e::unix_now() * 1000.0) as u64
}

/// A `data-*` number of the charts panel, as the page set it from `/history` (null before).
const PAGE_POINTS: &str = "document.getElementById('p-charts').dataset.points || null";

/// Issue 22 item 3: the charts are loadgen's, not the browser's. A page opened `OPEN_AFTER` (or
/// `SWARM_LOAD_SECS`, if longer) into a run draws the run so far at once; opened again after the run, it draws the same points.
/// The model: the sampler takes one point a second on a fixed schedule from the run's start
/// (missed ticks are skipped, not bunched), so a run `e` seconds old has `floor(e)` points, or
/// one fewer while the tick that is due has not run yet; a stall of over a second (which skips a
/// tick) is outside the model and would fail it. The page's first draw comes from one
/// `GET /history`, so it holds at least the points of the moment before it was opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_opened_late_or_after_the_run_draws_the_whole_history() {
    const OPEN_AFTER: f64 = 5.0;
    let Some(b) = Browser::start().await else {
        return;
    };
    let srv = TestServer::with_phase(
        mock_server::Phase::workshop_default(),
        mock_server::LatencyMode::Record,
    )
    .await;
    let (addr, stop_page) = page(&["--host", &srv.url(""), "--wait", "20ms..50ms"]).await;
    let (status, reply) = http(addr, "POST", "/swarm", r#"{"users":3,"spawn_rate":100}"#).await;
    assert_eq!(status, 200, "{reply}");
    tokio::time::sleep(Duration::from_secs_f64(OPEN_AFTER.max(load_secs() as f64))).await;
    let before = stats(addr).await["elapsed_secs"].as_f64().unwrap();
    let history = |q: &'static str| async move {
        let (status, body) = http(addr, "GET", q, "").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    let held = history("/history").await;
    let held_points = held["t"].as_array().unwrap().len();
    assert!(
        held_points as f64 >= before.floor() - 1.0,
        "{held_points} points for a run {before} s old: {held}"
    );

    b.open(addr, "/").await;
    b.click("tab-charts").await;
    let first = b
        .wait_until("the page's first history", PAGE_POINTS, LIMIT, |v| {
            !v.is_null()
        })
        .await;
    let first: usize = first.as_str().unwrap().parse().unwrap();
    assert!(
        first >= held_points,
        "the page's first draw has {first} points; loadgen held {held_points} before it opened"
    );
    let from = b
        .wait_until(
            "the page's first point",
            "Number(document.getElementById('p-charts').dataset.from)",
            LIMIT,
            |v| v.as_u64().is_some(),
        )
        .await
        .as_u64()
        .unwrap();
    assert_eq!(
        from,
        held["t"][0].as_u64().unwrap(),
        "the page starts where loadgen's series does"
    );
    b.wait_until(
        "six lines drawn",
        "document.querySelectorAll('#p-charts path.line').length",
        LIMIT,
        |v| v.as_u64().is_some_and(|n| n >= 6),
    )
    .await;
    shot(&b, "swarm-history.png").await;

    assert_eq!(http(addr, "POST", "/stop", "").await.0, 200);
    wait_stats(addr, "the stop", |s| s["state"] == "stopped").await;
    let ended = history("/history").await;
    let ended_points = ended["t"].as_array().unwrap().len();
    assert!(ended_points >= first, "{ended}");
    b.open(addr, "/").await;
    b.click("tab-charts").await;
    b.wait_until(
        "the page, opened after the run, to hold its whole history",
        PAGE_POINTS,
        LIMIT,
        |v| v.as_str() == Some(ended_points.to_string().as_str()),
    )
    .await;
    // Held, not rebuilt: the next polls add nothing to a run that ended.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(history("/history").await["t"], ended["t"]);
    b.close().await;
    let _ = stop_page.send(());
    srv.stop().await;
}

/// One look at `/stats`: when it was asked, when it answered, and POST /chat's error row.
struct Look {
    sent_ms: u64,
    answered_ms: u64,
    chat: Option<Value>,
}

async fn look(addr: SocketAddr) -> Look {
    let sent_ms = now_ms();
    let s = stats(addr).await;
    let answered_ms = now_ms();
    let rows: Vec<&Value> = s["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "POST /chat")
        .collect();
    assert!(rows.len() <= 1, "chats fail one way here: {rows:?}");
    Look {
        sent_ms,
        answered_ms,
        chat: rows.first().map(|r| (*r).clone()),
    }
}

fn failed_chats(l: &Look) -> u64 {
    l.chat.as_ref().map_or(0, |r| r["count"].as_u64().unwrap())
}

/// Issue 22 item 3: "last errors" carry when each kind was first and last seen, by the recorder,
/// not the time of the poll that noticed it. Chats fail only between two phase changes of the
/// mock, `/stats` is read every 100 ms meanwhile, and each time must lie between the last look
/// that did not yet count the failure and the first look that did: the first failure after the
/// first look with none, the last before the first look with the final count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_carry_when_they_were_first_and_last_seen() {
    let healthy = r#"{"LoginSuccess": 1, "StartupSuccess": 1, "ChatSuccess": 1,
        "PrefGetSuccess": 1, "PrefUpdateSuccess": 1}"#;
    let phase = mock_server::Phase::workshop_default()
        .merged(healthy.as_bytes())
        .unwrap();
    let srv = TestServer::with_phase(phase, mock_server::LatencyMode::Record).await;
    let (addr, stop_page) = page(&["--host", &srv.url(""), "--wait", "10ms..30ms"]).await;
    let (status, reply) = http(addr, "POST", "/swarm", r#"{"users":4,"spawn_rate":100}"#).await;
    assert_eq!(status, 200, "{reply}");
    wait_stats(addr, "requests", |s| {
        s["total"]["requests"].as_u64() > Some(20)
    })
    .await;
    assert_eq!(
        failed_chats(&look(addr).await),
        0,
        "a healthy mock fails no chat"
    );

    let phase_ms = now_ms();
    let (status, reply) = http(srv.addr, "POST", "/phase", r#"{"ChatSuccess": 0}"#).await;
    assert_eq!(status, 200, "{reply}");
    let mut looks = Vec::new();
    let deadline = tokio::time::Instant::now() + LIMIT;
    while looks.last().is_none_or(|l| failed_chats(l) < 30) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed chats within {LIMIT:?}"
        );
        looks.push(look(addr).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, reply) = http(srv.addr, "POST", "/phase", healthy).await;
    assert_eq!(status, 200, "{reply}");
    let healed_ms = now_ms();
    for _ in 0..10 {
        looks.push(look(addr).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(http(addr, "POST", "/stop", "").await.0, 200);
    wait_stats(addr, "the stop", |s| s["state"] == "stopped").await;
    looks.push(look(addr).await);

    let last = looks.last().unwrap();
    let row = last.chat.clone().expect("the failed chats' row");
    let total = failed_chats(last);
    let first_seen = row["first_seen_ms"].as_u64().expect("first seen");
    let last_seen = row["last_seen_ms"].as_u64().expect("last seen");
    let counted = looks.iter().position(|l| failed_chats(l) > 0).unwrap();
    let lower = if counted == 0 {
        phase_ms
    } else {
        looks[counted - 1].sent_ms
    };
    assert!(
        (lower..=looks[counted].answered_ms).contains(&first_seen),
        "first seen {first_seen}: after {lower} (no failure counted yet), by {} (one was)",
        looks[counted].answered_ms
    );
    let all = looks.iter().position(|l| failed_chats(l) == total).unwrap();
    assert!(all > 0, "the first look with failures cannot hold them all");
    assert!(
        (looks[all - 1].sent_ms..=looks[all].answered_ms).contains(&last_seen),
        "last seen {last_seen}: after {} ({} of {total} counted), by {} (all were)",
        looks[all - 1].sent_ms,
        failed_chats(&looks[all - 1]),
        looks[all].answered_ms
    );
    // None before the mock broke; and the times are the failures' own, not a poll's: the
    // looks after the healing (ten, over a second) kept finding the same last time.
    assert!(first_seen >= phase_ms && last_seen >= first_seen);
    for l in looks.iter().filter(|l| l.sent_ms > last_seen) {
        let r = l.chat.as_ref().unwrap();
        assert_eq!(r["last_seen_ms"].as_u64(), Some(last_seen), "{r}");
        assert_eq!(r["first_seen_ms"].as_u64(), Some(first_seen), "{r}");
    }
    assert!(
        looks.iter().filter(|l| l.sent_ms > healed_ms).count() >= 10,
        "ten looks after the healing"
    );
    let _ = stop_page.send(());
    srv.stop().await;
}

/// What a mock has received of the journey's requests: those it answered (`http_requests_total`
/// without its own `/metrics` and `/phase`) and the chats it holds (it counts a chat when it
/// arrives, and answers it after its latency).
async fn received(mock: &TestServer) -> (u64, u64) {
    let metrics = parse_metrics(&http(mock.addr, "GET", "/metrics", "").await.1);
    let mut answered = 0;
    let mut chats_answered = 0;
    for (series, value) in &metrics {
        if !series.starts_with("http_requests_total{") {
            continue;
        }
        match label(series, "route") {
            Some("/metrics" | "/phase") => {}
            Some("/chat") => {
                answered += *value as u64;
                chats_answered += *value as u64;
            }
            _ => answered += *value as u64,
        }
    }
    let holding = sample(&metrics, "movieguru_chat_calls_total") as u64 - chats_answered;
    (answered + holding, holding)
}

/// Issue 22 item 3: `POST /split` answers with each target's requests at the change. Both mocks
/// answer at once until their chats turn slow (30 s); each of the four users then blocks in its
/// next chat. Once the mocks together hold four chats, every user is waiting and nothing moves
/// (a user has one request out at a time, and a held chat stays held for its 30 s), so the
/// answer's counts must be what each mock received, exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_answer_counts_the_requests_sent_before_the_change() {
    const USERS: u64 = 4;
    let fast = br#"{"ChatLatencyMinMS": 0, "ChatLatencyMaxMS": 0,
        "LoginLatencyMinMS": 0, "LoginLatencyMaxMS": 0,
        "StartupLatencyMinMS": 0, "StartupLatencyMaxMS": 0,
        "PrefGetLatencyMinMS": 0, "PrefGetLatencyMaxMS": 0,
        "PrefUpdateLatencyMinMS": 0, "PrefUpdateLatencyMaxMS": 0}"#;
    let mock = || async {
        let phase = mock_server::Phase::workshop_default().merged(fast).unwrap();
        TestServer::with_phase(phase, mock_server::LatencyMode::Sleep).await
    };
    let (good, canary) = (mock().await, mock().await);
    let (addr, stop_page) = page(&[
        "--target",
        &format!("good={}", good.url("")),
        "--target",
        &format!("canary={}", canary.url("")),
        "--split",
        "good=50",
        "--users",
        &USERS.to_string(),
        "--spawn-rate",
        "100",
        "--wait",
        "1ms..5ms",
    ])
    .await;
    let (status, reply) = http(addr, "POST", "/swarm", "").await;
    assert_eq!(status, 200, "{reply}");
    wait_stats(addr, "a few hundred requests", |s| {
        s["total"]["requests"].as_u64() > Some(300)
    })
    .await;
    for m in [&good, &canary] {
        let slow = r#"{"ChatLatencyMinMS": 30000, "ChatLatencyMaxMS": 30000}"#;
        let (status, reply) = http(m.addr, "POST", "/phase", slow).await;
        assert_eq!(status, 200, "{reply}");
    }
    // Two looks alike, both holding a chat per user: a fast chat from before the change still
    // out at the first look would have been answered by the second, and its user moved on.
    let deadline = tokio::time::Instant::now() + LIMIT;
    let mut last = None;
    loop {
        let (g, c) = (received(&good).await, received(&canary).await);
        let now = (g.0, c.0, g.1 + c.1);
        if now.2 == USERS && last == Some(now) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mocks hold {} chats, not {USERS}, after {LIMIT:?}",
            now.2
        );
        last = Some(now);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, reply) = http(addr, "POST", "/split", r#"{"good":100}"#).await;
    assert_eq!(status, 200, "{reply}");
    let answer: Value = serde_json::from_str(&reply).unwrap();
    let before = &answer["event"]["requests_before"];
    let sent = (received(&good).await.0, received(&canary).await.0);
    assert_eq!(
        (before["good"].as_u64(), before["canary"].as_u64()),
        (Some(sent.0), Some(sent.1)),
        "the answer's counts vs what each mock received: {answer}"
    );
    assert!(sent.0 + sent.1 > 300, "{sent:?}");
    assert_eq!(http(addr, "POST", "/stop", "").await.0, 200);
    wait_stats(addr, "the stop", |s| s["state"] == "stopped").await;
    let _ = stop_page.send(());
    good.stop().await;
    canary.stop().await;
}
