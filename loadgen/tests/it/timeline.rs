//! `loadgen scenario run`: a three-step timeline against a real mock-server. Each step's phase
//! is in force during that step (the server's `GET /phase` after it was applied, and the success
//! share of the step's own requests), and a bad step is refused before anything runs.

use loadgen::cli::ScenarioCommand;
use loadgen::cli::{Cli, Command};
use loadgen::scenario::{self, ScenarioOptions};
use mock_server::testing::{assert_binomial, value};

use super::journey::endpoint;
use super::mock::Mock;
use super::{CPU, file};
use loadgen::exit::Exit;

/// Writes `JOURNEY` and a timeline of `steps` (where `{journey}` stands for its path) to a
/// fresh folder: the folder (kept while the test runs) and the timeline's path.
fn with_journey(steps: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let journey = file(&dir, "j.toml", JOURNEY);
    let timeline = file(&dir, "t.toml", &steps.replace("{journey}", &journey));
    (dir, timeline)
}

const JOURNEY: &str = r#"
wait = "1ms..3ms"
[[task]]
name = "startup"
weight = 3
[[task.request]]
path = "/startup"
[[task]]
name = "login"
weight = 1
[[task.request]]
method = "POST"
path = "/login"
"#;

pub fn scenario_args(args: &[&str]) -> ScenarioOptions {
    let argv = ["loadgen", "scenario", "run"].iter().chain(args).copied();
    let cli = <Cli as clap::Parser>::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("{args:?} should parse: {e}"));
    let Some(Command::Scenario(ScenarioCommand::Run(a))) = cli.command else {
        panic!("not scenario run")
    };
    ScenarioOptions::from(&a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_phase_takes_effect_in_its_step() {
    let _cpu = CPU.read().await;
    let token = "s3cret";
    let mock = Mock::start(Some(token)).await;
    let (_dir, timeline) = with_journey(
        r#"
            [[step]]
            name = "healthy"
            phase = { StartupSuccess = 1.0, LoginSuccess = 1.0 }
            duration = "1500ms"
            load = { users = 4, journey = "{journey}" }
            [[step]]
            name = "startup failing"
            phase = { StartupSuccess = 0.3 }
            duration = "1500ms"
            [[step]]
            name = "fixed"
            phase = { StartupSuccess = 0.9 }
            duration = "1500ms"
            load = { users = 2 }
            "#,
    );
    let url = mock.url();
    let args = scenario_args(&[&timeline, "--host", &url, "--token", token]);
    let steps = scenario::plan(&args).unwrap();
    let mut seen = Vec::new();
    let reports = scenario::run(
        steps,
        &args,
        engine::Live::default(),
        |i, s| seen.push((i, s.name.clone())),
        std::future::pending(),
    )
    .await
    .unwrap();
    let m = mock.metrics().await;
    mock.stop().await;

    assert_eq!(
        seen.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        ["healthy", "startup failing", "fixed"]
    );
    assert_eq!(value(&m, "mockserver_phase_changes_total"), 3);
    let mut startups = 0;
    for (step, ratio, users) in [(0, 1.0, 4), (1, 0.3, 4), (2, 0.9, 2)] {
        let s = &reports[step];
        let phase = &s.phase_in_force.as_ref().unwrap()["CurrentProbMetrics"];
        assert_eq!(
            phase["StartupSuccess"].as_f64(),
            Some(ratio),
            "{}: GET /phase",
            s.name
        );
        assert_eq!(
            phase["LoginSuccess"].as_f64(),
            Some(1.0),
            "{}: merged, not replaced",
            s.name
        );
        assert_eq!(s.load.users, users, "{}: load carried or changed", s.name);
        let r = s.report.as_ref().unwrap();
        let e = endpoint(r, "GET /startup");
        eprintln!(
            "{}: {} startups, {} failed (ratio {ratio})",
            s.name, e.requests, e.failures
        );
        assert!(
            e.requests >= 200,
            "{}: only {} startups",
            s.name,
            e.requests
        );
        assert_binomial(&s.name, e.requests - e.failures, e.requests, ratio, 4.0);
        assert_eq!(endpoint(r, "POST /login").failures, 0, "{}", s.name);
        startups += e.requests;
    }
    assert_eq!(value(&m, "movieguru_startup_attempts_total"), startups);
}

#[test]
fn bad_loads_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    for (load, words) in [
        ("{ users = -1 }", "users must be"),
        ("{ rate = 0 }", "rate must be"),
        ("{ wait = \"2s..1s\" }", "MIN..MAX"),
        ("{ journey = \"nope\" }", "no journey named"),
        ("{ user = 3 }", "unknown key \"user\""),
    ] {
        let t = file(
            &dir,
            "bad.toml",
            &format!("[[step]]\nname = \"a\"\nduration = \"1s\"\nload = {load}\n"),
        );
        let args = scenario_args(&[&t, "--host", "http://127.0.0.1:9/"]);
        let e = scenario::plan(&args).unwrap_err();
        assert!(e.to_string().contains(words), "{load}: {e}");
        assert_eq!(e.exit_code(), 64, "{load}");
    }
}

/// Every shipped timeline plans (the `rate` load of chat-latency-breach included).
#[test]
fn shipped_timelines_plan() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/timelines");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().display().to_string();
        let args = scenario_args(&[&path, "--host", "http://127.0.0.1:9/"]);
        scenario::plan(&args).unwrap_or_else(|e| panic!("{path}: {e}"));
        n += 1;
    }
    assert!(n >= 5, "{n} timelines");
}

/// Issue 15, item 5: a shipped timeline's name works where its file does, from any directory.
#[test]
fn scenario_run_takes_a_shipped_timeline_name() {
    let args = scenario_args(&["chat-latency-breach", "--host", "http://127.0.0.1:9/"]);
    let steps = scenario::plan(&args).unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["healthy", "bad change", "fixed"]);
    assert_eq!(
        steps[1].phase.as_deref(),
        Some(scenarios::preset("bad-change").unwrap())
    );
}

/// An unknown name is a usage error that lists the shipped timelines.
#[test]
fn an_unknown_timeline_name_lists_the_shipped_ones() {
    let args = scenario_args(&["chat-breach", "--host", "http://127.0.0.1:9/"]);
    let e = scenario::plan(&args).unwrap_err();
    assert_eq!(e.exit_code(), 64);
    let msg = e.to_string();
    assert!(msg.contains("\"chat-breach\""), "{msg}");
    for (name, _) in scenarios::TIMELINES {
        assert!(msg.contains(name), "{msg}");
    }
}

/// A step's `split` weighs the `--target`s: each server gets its share of the tasks, the
/// phase reaches both, and the report's per-target counts are each server's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steps_split_weighs_the_targets() {
    let _cpu = CPU.read().await;
    let (good, next) = (Mock::start(None).await, Mock::start(None).await);
    let (_dir, timeline) = with_journey(
        r#"
            [[step]]
            name = "canary at 25%"
            phase = { StartupSuccess = 1.0 }
            duration = "1500ms"
            load = { users = 4, journey = "{journey}" }
            split = { good = 3, next = 1 }
            "#,
    );
    let (g, n) = (
        format!("good={}", good.url()),
        format!("next={}", next.url()),
    );
    let args = scenario_args(&[&timeline, "--target", &g, "--target", &n]);
    let reports = scenario::run(
        scenario::plan(&args).unwrap(),
        &args,
        engine::Live::default(),
        |_, _| {},
        std::future::pending(),
    )
    .await
    .unwrap();
    let (mg, mn) = (good.metrics().await, next.metrics().await);
    good.stop().await;
    next.stop().await;

    let r = reports[0].report.as_ref().unwrap();
    let count = |target: &str| {
        r.endpoints
            .iter()
            .find(|e| e.target == target && e.name == "GET /startup")
            .map_or(0, |e| e.requests)
    };
    let (to_good, to_next) = (count("good"), count("next"));
    assert_eq!(value(&mg, "movieguru_startup_attempts_total"), to_good);
    assert_eq!(value(&mn, "movieguru_startup_attempts_total"), to_next);
    assert_eq!(
        value(&mg, "mockserver_phase_changes_total"),
        1,
        "the phase reached good"
    );
    assert_eq!(
        value(&mn, "mockserver_phase_changes_total"),
        1,
        "the phase reached next"
    );
    eprintln!("split 3:1: {to_good} startups to good, {to_next} to next");
    // Logins go by the same split; judge the share over every request.
    let total: u64 = r.endpoints.iter().map(|e| e.requests).sum();
    let next_all: u64 = r
        .endpoints
        .iter()
        .filter(|e| e.target == "next")
        .map(|e| e.requests)
        .sum();
    assert!(total >= 400, "only {total} requests");
    assert_binomial("next's share", next_all, total, 0.25, 4.0);
}
