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
