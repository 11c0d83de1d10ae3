//! loadgen's integration tests: one binary (links once), one module per concern. Every test
//! drives real HTTP over loopback against the server in `server`.

mod accuracy;
mod binary;
mod canary;
mod cli;
mod client_metrics;
mod conn_policy;
mod connect_time;
mod errors;
mod flags;
mod golden;
mod hardening;
mod html;
mod journey;
mod journey_memory;
mod journey_wire;
mod live_split;
mod memory;
mod mock;
mod parsers;
mod phase;
mod readme_ci;
mod reconcile;
mod rehearse;
mod report;
mod run_page;
mod server;
mod slo_cmd;
mod split;
mod split_rule;
mod stall;
mod timeline;

use clap::Parser;
use engine::plan::Plan;
use engine::report::Report;
use loadgen::cli::{Cli, HeyRun, normalize};

/// Parses a command line as the binary does (hey's one-dash flags included).
pub fn parse(args: &[&str]) -> Cli {
    let argv = std::iter::once("loadgen").chain(args.iter().copied());
    Cli::try_parse_from(normalize(argv)).unwrap_or_else(|e| panic!("{args:?} should parse: {e}"))
}

pub fn plan(args: &[&str]) -> Plan {
    Plan::try_from(parse(args).hey).unwrap_or_else(|e| panic!("{args:?} should make a plan: {e}"))
}

/// The whole hey-mode run: the plan plus the runner's choices (output, gates, threads).
pub fn hey_run(args: &[&str]) -> HeyRun {
    HeyRun::try_from(parse(args).hey).unwrap_or_else(|e| panic!("{args:?} should make a run: {e}"))
}

/// Load tests share 2 cores. Runs hold this for reading; a test whose assertion is about timing
/// precision holds it for writing, so no other load competes for the CPU while it measures.
pub static CPU: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Runs a command line in-process to completion.
pub async fn run(args: &[&str]) -> Report {
    let _shared = CPU.read().await;
    run_alone(args).await
}

/// Runs without taking the `CPU` lock (the caller holds it).
pub async fn run_alone(args: &[&str]) -> Report {
    engine::run(plan(args), engine::Live::default(), std::future::pending())
        .await
        .unwrap()
}

/// The summary text of a report.
pub fn text(r: &Report) -> String {
    let mut out = Vec::new();
    loadgen::output::hey::summary(&mut out, r, &[]).unwrap();
    String::from_utf8(out).unwrap()
}

pub fn status(r: &engine::report::TargetReport, code: &str) -> u64 {
    r.status_codes.get(code).copied().unwrap_or(0)
}

/// The checked-in schema of hey mode's (and timelines') JSON report.
pub const REPORT_SCHEMA: &str = include_str!("../../schema/report.schema.json");

/// The checked-in schema of a journey's JSON report.
pub const JOURNEY_SCHEMA: &str = include_str!("../../schema/journey-report.schema.json");

/// Fails, listing every error and the document, unless `json` matches `schema` (its text).
pub fn assert_schema(schema: &str, json: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(schema).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{json:#}");
}

/// A command line written as one line: test arguments hold no spaces, so no quoting is needed.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Writes `text` to `name` in `dir`; its path, as command lines take it.
pub fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A journey of one task, `GET /startup` every 10-20 ms: the split tests count its requests on
/// each server.
pub const STARTUP_JOURNEY: &str = "wait = \"10ms..20ms\"\n[[task]]\nname = \"open\"\nweight = 1\n\
                                   [[task.request]]\npath = \"/startup\"\n";

/// A one-step timeline, "half and half", of `duration` with 4 users of `journey`, split 50/50
/// between the targets `good` and `canary`.
pub fn half_and_half(journey: &str, duration: &str) -> String {
    format!(
        "[[step]]\nname = \"half and half\"\nduration = \"{duration}\"\nload = {{ users = 4, journey = \"{journey}\" }}\nsplit = {{ good = 50, canary = 50 }}\n"
    )
}

/// A rollback from 50/50 to good=100 agrees with both servers' own `counter`: the good one
/// served what loadgen sent it before and after the change, the canary what it got before and
/// nothing after.
pub fn assert_rollback_reconciles(
    e: &engine::report::SplitEvent,
    good: &std::collections::BTreeMap<String, f64>,
    canary: &std::collections::BTreeMap<String, f64>,
    counter: &str,
) {
    use mock_server::testing::value;
    let (served_good, served_canary) = (value(good, counter), value(canary, counter));
    assert_eq!(
        served_good,
        e.requests_before["good"] + e.requests_after["good"],
        "{e:?}"
    );
    assert_eq!(served_canary, e.requests_before["canary"], "{e:?}");
    assert_eq!(e.requests_after["canary"], 0, "{e:?}");
    assert!(e.requests_before["canary"] > 0, "{e:?}");
}

/// A one-step canary of 300 ms, both sides `url`, checked every 100 ms: the quickest whole run
/// of `loadgen canary`, for tests about its output rather than its judgement.
pub fn quick_canary(url: &str) -> String {
    format!(
        "canary --stable {url} --canary {url} --steps 100 --step-duration 300ms \
         --check-every 100ms --gate error_rate<1% --min-requests 1"
    )
}

/// Sends SIGINT to `child` (as Ctrl-C would) and returns its output; bounded at 30 s so a hang
/// fails the test instead of stalling the suite.
pub async fn interrupt(child: tokio::process::Child) -> std::process::Output {
    let pid = child.id().expect("the child is running").to_string();
    let kill = tokio::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
    tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("exited after SIGINT")
        .unwrap()
}
