//! The `loadgen` binary: parse, run, print, exit with a code that says how it went.
//! Exit codes: see `loadgen::exit` (0 ok, 1 failed, 64 usage, 99 SLO, 130 interrupted).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use loadgen::canary::{CanaryOutput, CanaryPlan};
use loadgen::cli::{Cli, Command, OutputKind};
use loadgen::plan::Plan;
use loadgen::{Sinks, exit, render};

mod commands;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(loadgen::cli::normalize(std::env::args())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return code(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let result = match cli.command {
        Some(Command::Merge(m)) => merge(m),
        Some(Command::Journey(a)) => commands::journey(a),
        Some(Command::Phase(a)) => commands::phase(a),
        Some(Command::Scenario(a)) => commands::scenario(a),
        Some(Command::Slo(a)) => commands::slo(a),
        Some(Command::Alerts(a)) => commands::alerts(a),
        Some(Command::Canary(args)) => match CanaryPlan::try_from(args) {
            Ok(plan) => canary(plan),
            Err(e) => {
                eprintln!("loadgen canary: {e}");
                return code(exit::USAGE);
            }
        },
        None => match Plan::try_from(cli.hey) {
            Ok(plan) => hey(plan),
            Err(e) => {
                eprintln!("loadgen: {e}");
                return code(exit::USAGE);
            }
        },
    };
    match result {
        Ok(c) => code(c),
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            code(exit::FAILED)
        }
    }
}

fn canary(plan: CanaryPlan) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let result = runtime.block_on(plan.run())?;
    match plan.output {
        CanaryOutput::Text => print!("{}", loadgen::canary::render_text(&result)),
        CanaryOutput::Json => println!("{}", serde_json::to_string_pretty(&result)?),
    }
    Ok(if result.promoted {
        exit::OK
    } else {
        exit::ROLLED_BACK
    })
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(u8::try_from(c).unwrap_or(1))
}

fn hey(plan: Plan) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.cpus)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let output = plan.output;
    let gates = plan.gates.clone();
    let expect_breach = plan.expect_breach;
    let sinks = Sinks {
        csv: (output == OutputKind::Csv)
            .then(|| Box::new(std::io::stdout()) as Box<dyn Write + Send>),
        progress: plan.progress && std::io::stderr().is_terminal(),
    };
    let shutdown = async {
        // If the handler cannot be installed, run to the end rather than stopping at once.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let report = runtime.block_on(loadgen::run(plan, sinks, shutdown))?;
    let mut out = std::io::stdout().lock();
    match output {
        OutputKind::Summary => render::summary(&mut out, &report, &gates)?,
        OutputKind::Json => render::json(&mut out, &report)?,
        // hey prints only the rows in CSV mode; gates still decide the exit code.
        OutputKind::Csv => {}
    }
    out.flush()?;
    Ok(loadgen::exit_code(&report, expect_breach))
}

fn merge(m: loadgen::cli::MergeArgs) -> anyhow::Result<i32> {
    let report = loadgen::merge::merge_files(&m.reports)?;
    let mut out = std::io::stdout().lock();
    match m.output {
        OutputKind::Json => render::json(&mut out, &report)?,
        OutputKind::Summary | OutputKind::Csv => render::summary(&mut out, &report, &[])?,
    }
    Ok(exit::OK)
}
