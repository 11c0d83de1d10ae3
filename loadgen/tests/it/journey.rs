//! `loadgen journey` against a real mock-server: the workshop swarm's task weights come out in
//! the shares Locust's would, and the server counted exactly what the users sent.

use engine::Live;
use engine::journey;
use engine::journey::report::{EndpointReport, JourneyReport};
use loadgen::cli::JourneyPlan;
use loadgen::cli::{Cli, Command};
use mock_server::testing::{assert_binomial, parse_metrics, value};

use super::CPU;
use super::mock::Mock;

/// Parses `loadgen journey ARGS` as the binary does and checks it into a plan.
pub fn journey_plan(args: &[&str]) -> JourneyPlan {
    let argv = ["loadgen", "journey"].iter().chain(args).copied();
    let cli = <Cli as clap::Parser>::try_parse_from(loadgen::cli::normalize(argv))
        .unwrap_or_else(|e| panic!("{args:?} should parse: {e}"));
    let Some(Command::Journey(a)) = cli.command else {
        panic!("not a journey command")
    };
    JourneyPlan::try_from(a).unwrap_or_else(|e| panic!("{args:?} should make a plan: {e}"))
}

pub fn endpoint<'a>(r: &'a JourneyReport, name: &str) -> &'a EndpointReport {
    r.endpoints
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no endpoint {name:?} in {:?}",
                r.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>()
            )
        })
}

pub fn requests(r: &JourneyReport, name: &str) -> u64 {
    r.endpoints
        .iter()
        .find(|e| e.name == name)
        .map_or(0, |e| e.requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workshop_swarm_matches_weights_and_server_counts_exactly() {
    let _cpu = CPU.read().await;
    let mock = Mock::start(None).await;
    let url = mock.url();
    let plan = journey_plan(&[
        "--host",
        &url,
        "--users",
        "20",
        "--spawn-rate",
        "1000",
        "--wait",
        "0ms..2ms",
        "--tasks",
        "5000",
        "--stats-interval",
        "0s",
    ]);
    let report = journey::run(plan.run, Live::default(), std::future::pending())
        .await
        .unwrap();
    let m = mock.metrics().await;
    mock.stop().await;

    let tasks: u64 = report.tasks.values().sum();
    assert_eq!(
        tasks, 5000,
        "exactly --tasks tasks start: {:?}",
        report.tasks
    );
    assert_eq!(report.abandoned, 0);
    // Shares of tasks and of endpoints, against Locust's weights (sum 14), within 4 sd.
    for (task, weight) in [
        ("chat", 6.0),
        ("preferences", 3.0),
        ("login", 1.0),
        ("logout", 1.0),
        ("delete history", 1.0),
        ("get history", 1.0),
        ("startup", 1.0),
    ] {
        assert_binomial(task, report.tasks[task], tasks, weight / 14.0, 4.0);
    }
    for (name, task) in [
        ("POST /chat", "chat"),
        ("POST /preferences", "preferences"),
        ("GET /preferences", "preferences"),
        ("POST /login", "login"),
        ("POST /logout", "logout"),
        ("POST /history", "delete history"),
        ("GET /history", "get history"),
        ("GET /startup", "startup"),
    ] {
        assert_eq!(
            requests(&report, name),
            report.tasks[task],
            "{name}: one request per {task} task"
        );
    }
    // No transport failures: every failure is a status the phase injected.
    for e in &report.endpoints {
        for kind in e.failures_by_kind.keys() {
            assert!(
                kind.starts_with("http_5"),
                "{}: unexpected failure kind {kind}",
                e.name
            );
        }
    }

    // The server counted exactly what the client sent, request for request, and failed
    // exactly the requests the client saw fail.
    for (name, attempts, success) in [
        (
            "POST /chat",
            "movieguru_chat_calls_total",
            "movieguru_chat_calls_success_total",
        ),
        (
            "POST /login",
            "movieguru_login_attempts_total",
            "movieguru_login_success_total",
        ),
        (
            "POST /preferences",
            "movieguru_prefUpdate_attempts_total",
            "movieguru_prefUpdate_success_total",
        ),
        (
            "GET /preferences",
            "movieguru_prefGet_attempts_total",
            "movieguru_prefGet_success_total",
        ),
        (
            "GET /startup",
            "movieguru_startup_attempts_total",
            "movieguru_startup_success_total",
        ),
    ] {
        let e = endpoint(&report, name);
        eprintln!(
            "{name}: client {} requests, {} failures; server {} attempts, {} successes",
            e.requests,
            e.failures,
            value(&m, attempts),
            value(&m, success)
        );
        assert_eq!(value(&m, attempts), e.requests, "{name}: {attempts}");
        assert_eq!(
            value(&m, attempts) - value(&m, success),
            e.failures,
            "{name}: failures"
        );
    }
    // Locust's POST /logout and POST /history count nothing in movieguru_*, but do per route.
    assert_eq!(value(&m, "movieguru_Logout_attempts_total"), 0);
    for (name, route, method) in [
        ("POST /logout", "/logout", "POST"),
        ("POST /history", "/history", "POST"),
        ("GET /history", "/history", "GET"),
    ] {
        let series =
            format!(r#"http_requests_total{{code="200",method="{method}",route="{route}"}}"#);
        assert_eq!(value(&m, &series), requests(&report, name), "{series}");
    }
}

/// The swarm moves toward its target at the spawn rate, up and down, on tokio's paused clock:
/// at every moment, the users started (or stopped) since the target was set are at most
/// 1 + elapsed x rate, and the count reaches the target. The target is a closed loopback port
/// with a 1 s think time, so users cost nothing and the clock is the test's.
#[tokio::test(start_paused = true)]
async fn the_swarm_ramps_up_and_down_at_the_spawn_rate() {
    use std::sync::Arc;
    use std::time::Duration;

    use engine::journey::stats::Recorder;
    use engine::journey::swarm::{Swarm, SwarmSize};
    use engine::journey::user::Ctx;
    use tokio::time::Instant;

    let plan = journey_plan(&["--host", "http://127.0.0.1:1", "--wait", "1s..1s"]).run;
    let slots = plan.journey.endpoints.len();
    let recorder = Arc::new(Recorder::new(slots, plan.journey.tasks.len(), None));
    let start = Instant::now();
    let ctx = Arc::new(Ctx::new(plan, recorder, start, None));
    let rate = 10.0;
    let (swarm, joined) = Swarm::start(
        ctx.clone(),
        SwarmSize {
            users: 8,
            spawn_rate: rate,
        },
    );
    let bound = |since: Instant| 1 + (since.elapsed().as_secs_f64() * rate).floor() as usize;
    let mut last = 0;
    while swarm.users() < 8 {
        let n = swarm.users();
        assert!(n <= bound(start), "{n} users after {:?}", start.elapsed());
        assert!(n >= last, "users went down while ramping up: {last} -> {n}");
        last = n;
        assert!(start.elapsed() < Duration::from_secs(5), "never reached 8");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(700),
        "8 users at 10/s need 0.7 s, took {:?}",
        start.elapsed()
    );
    let changed = Instant::now();
    swarm.set(SwarmSize {
        users: 3,
        spawn_rate: rate,
    });
    while swarm.users() > 3 {
        let n = swarm.users();
        assert!(
            8 - n <= bound(changed),
            "{n} users {:?} after the change",
            changed.elapsed()
        );
        assert!(
            changed.elapsed() < Duration::from_secs(5),
            "never came down to 3"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(swarm.users(), 3, "the count stays at the target");
    ctx.stop.send_replace(true);
    let abandoned = tokio::time::timeout(Duration::from_secs(30), joined)
        .await
        .expect("the swarm ends after its stop")
        .unwrap()
        .unwrap();
    assert_eq!(abandoned, 0);
    assert_eq!(swarm.users(), 0);
}

/// A mock that sleeps its latencies: each of login, startup, chat, preferences (get) and
/// preferences (update) takes exactly the milliseconds given, in that order, over the
/// workshop's defaults.
async fn sleeping_mock(ms: [u64; 5]) -> mock_server::testing::TestServer {
    let fields = ["Login", "Startup", "Chat", "PrefGet", "PrefUpdate"]
        .iter()
        .zip(ms)
        .map(|(e, ms)| format!(r#""{e}LatencyMinMS": {ms}, "{e}LatencyMaxMS": {ms}"#));
    let json = format!("{{{}}}", fields.collect::<Vec<_>>().join(", "));
    let phase = mock_server::Phase::workshop_default()
        .merged(json.as_bytes())
        .unwrap();
    mock_server::testing::TestServer::with_phase(phase, mock_server::LatencyMode::Sleep).await
}

/// Issue 22 item 3: a `--rate` the users cannot give is said, with the rate reached; a rate
/// they can give is not. The slow run: one user against a mock that holds login, startup, chat
/// and preferences 100 ms each, asked for 50 tasks/s: 11 of the workshop journey's 14 task
/// weights wait at least 100 ms (logout and history answer at once), so a task takes 79 ms on
/// average at the least and one user starts at most about 13 a second. The quiet run: two
/// users asked for 10 tasks/s of a mock that answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_the_users_cannot_give_is_said_with_the_rate_reached() {
    let _cpu = CPU.read().await;
    let slow = sleeping_mock([100, 100, 100, 100, 100]).await;
    let fast = Mock::start(None).await;
    // The quiet run is longer: a run loses the task slots of any stall of the machine, and
    // only stalls adding up to 10% of the run (0.6 s in 6 s) would make it warn.
    let run = |url: String, users: &'static str, rate: &'static str, secs: &'static str| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "journey",
                "--host",
                &url,
                "--users",
                users,
                "--spawn-rate",
                "1000",
            ])
            .args(["--rate", rate, "--run-time", secs, "--stats-interval", "0s"])
            .output()
            .await
            .unwrap()
    };
    let out = run(slow.url(""), "1", "50", "3s").await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("asked for 50 tasks/s, reached "))
        .unwrap_or_else(|| panic!("no shortfall warning: {err}"));
    let reached: f64 = line
        .split("reached ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(reached > 0.0 && reached < 25.0, "{line}");

    let out = run(fast.url(), "2", "10", "6s").await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("tasks/s, reached"), "{err}");
    slow.stop().await;
    fast.stop().await;
}

/// Issue 22 item 2: a journey cut by `--run-time` with slow chats in flight. The chats
/// abandoned after the grace are in no row of the report, but the server counted them (it
/// counts a chat when it arrives): the text says how many, and POST /chat's row plus that
/// number is the server's count exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_abandoned_at_the_end_are_said_and_reconcile_with_the_server() {
    let _cpu = CPU.read().await;
    // Chats take 5 s, past the run's 1 s and its 1 s grace; everything else answers at once
    // (logout borrows login's latency), so only chats are in flight at the end.
    let mock = sleeping_mock([0, 0, 5000, 0, 0]).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("stats.csv");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["journey", "--host", &mock.url(""), "--users", "20"])
        .args([
            "--spawn-rate",
            "1000",
            "--wait",
            "0ms..1ms",
            "--run-time",
            "1s",
        ])
        .args(["--stats-interval", "0s", "--csv"])
        .arg(&csv)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let abandoned: u64 = text
        .lines()
        .find_map(|l| l.strip_suffix(" requests in flight at the end were abandoned; the server counted them (they are in no row above)."))
        .unwrap_or_else(|| panic!("no abandoned line: {text}"))
        .trim()
        .parse()
        .unwrap();
    // 20 users each end in a chat (6 of 14 task weights) within a few tasks of the start.
    assert!(abandoned > 0, "{text}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    let chats: u64 = rows
        .lines()
        .find(|l| l.contains(",POST /chat,"))
        .and_then(|l| l.split(',').nth(2))
        .map_or(0, |n| n.parse().unwrap());
    let url = mock.url("/metrics");
    let m = parse_metrics(
        &mock_server::testing::http::call("GET", &url, &[], "")
            .await
            .body,
    );
    assert_eq!(
        chats + abandoned,
        value(&m, "movieguru_chat_calls_total"),
        "{text}\n{rows}"
    );
    mock.stop().await;
}

/// Issue 22 item 3: a run whose users were edited while it went on says so in its final report,
/// with the users reached: "3 users" alone would misreport a swarm edited to 6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_final_report_names_each_edit_of_the_users_and_the_users_reached() {
    let _cpu = CPU.read().await;
    let mock = Mock::start(None).await;
    let url = mock.url();
    let plan = journey_plan(&[
        "--host",
        &url,
        "--users",
        "3",
        "--spawn-rate",
        "1000",
        "--wait",
        "20ms..50ms",
        "--run-time",
        "2s",
    ]);
    let (handle_tx, handle_rx) = tokio::sync::oneshot::channel();
    let edit = tokio::spawn(async move {
        let handle: journey::Handle = handle_rx.await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        handle.swarm.set(journey::swarm::SwarmSize {
            users: 6,
            spawn_rate: 1000.0,
        });
    });
    let report = journey::run_with(plan.run, Live::default(), std::future::pending(), |h| {
        let _ = handle_tx.send(h);
    })
    .await
    .unwrap();
    edit.await.unwrap();
    mock.stop().await;
    let story = report.users_story.as_ref().expect("the users were edited");
    assert_eq!(story.reached, 6, "{story:?}");
    assert_eq!(story.edits.len(), 1, "{story:?}");
    let e = story.edits[0];
    assert_eq!((e.from, e.to), (3, 6));
    // Set after a 500 ms sleep, within the 2 s run.
    assert!((0.5..2.0).contains(&e.at_secs), "{e:?}");
    let mut text = Vec::new();
    loadgen::output::journey::text(&mut text, &report).unwrap();
    let text = String::from_utf8(text).unwrap();
    let line = format!("Users: 3 -> 6 at {:.1} s; 6 reached.", e.at_secs);
    assert!(text.lines().any(|l| l == line), "{line:?} not in {text}");
    // The JSON carries it and still matches its schema.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["users_story"]["edits"][0]["to"], 6);
    super::assert_schema(super::JOURNEY_SCHEMA, &json);
}
