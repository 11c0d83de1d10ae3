//! The binary's side of `journey`, `phase` and `scenario`: a runtime, Ctrl-C, what goes to
//! stdout and stderr, and the exit code. Usage errors print their message and return 64.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use loadgen::client_metrics::ClientMetrics;
use loadgen::exit;
use loadgen::journey::plan::{JourneyArgs, JourneyPlan, ReportFormat};
use loadgen::journey::{self, Live, report};
use loadgen::phase_cmd::PhaseArgs;
use loadgen::scenario::{self, ScenarioCommand};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // A thousand users hold a thousand sockets: lift the soft descriptor limit if it is lower.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Starts the client-side metrics server when asked for; it lives as long as the runtime.
async fn metrics(addr: Option<std::net::SocketAddr>) -> anyhow::Result<Option<Arc<ClientMetrics>>> {
    let Some(addr) = addr else { return Ok(None) };
    let m = ClientMetrics::new()?;
    let listener = ClientMetrics::bind(addr).await?;
    eprintln!(
        "loadgen: client metrics on http://{}/metrics",
        listener.local_addr()?
    );
    tokio::spawn(m.clone().serve(listener, std::future::pending()));
    Ok(Some(m))
}

pub fn journey(args: JourneyArgs) -> anyhow::Result<i32> {
    let plan = match JourneyPlan::try_from(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("loadgen journey: {e}");
            return Ok(exit::USAGE);
        }
    };
    let rt = runtime()?;
    let report = rt.block_on(async {
        let metrics = metrics(plan.metrics_addr).await?;
        let live = Live {
            sink: Some(Box::new(std::io::stderr())),
            interval: plan.stats_interval,
            metrics,
        };
        anyhow::Ok(journey::run(plan.run.clone(), live, ctrl_c()).await?)
    })?;
    let mut out = std::io::stdout().lock();
    match plan.output {
        ReportFormat::Text => report::text(&mut out, &report)?,
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        ReportFormat::Csv => report::csv(&mut out, &report)?,
    }
    out.flush()?;
    if let Some(path) = &plan.csv {
        let mut f = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        report::csv(&mut f, &report)?;
    }
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else {
        exit::OK
    })
}

pub fn phase(args: PhaseArgs) -> anyhow::Result<i32> {
    let rt = runtime()?;
    match rt.block_on(loadgen::phase_cmd::execute(&args.command)) {
        Ok(doc) => {
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("loadgen phase: {e}");
            Ok(e.exit_code())
        }
    }
}

pub fn scenario(cmd: ScenarioCommand) -> anyhow::Result<i32> {
    let ScenarioCommand::Run(args) = cmd;
    let steps = match scenario::plan(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadgen scenario: {e}");
            return Ok(e.exit_code());
        }
    };
    let total = steps.len();
    let rt = runtime()?;
    let json = args.json;
    let result = rt.block_on(async {
        let metrics = metrics(args.metrics_addr).await?;
        let on_step = |i: usize, s: &scenario::StepReport| {
            if json {
                return;
            }
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "\n== step {}/{total}: {} ==", i + 1, s.name);
            if let Some(r) = &s.report {
                let _ = report::table(&mut out, &r.endpoints, &r.total);
            }
        };
        anyhow::Ok(scenario::run(steps, &args, metrics, on_step, ctrl_c()).await)
    })?;
    let reports = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen scenario: {e}");
            return Ok(e.exit_code());
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &reports)?;
        writeln!(out)?;
    } else {
        writeln!(out, "\nSummary per step:")?;
        scenario::summary(&mut out, &reports)?;
    }
    let interrupted = reports
        .iter()
        .any(|s| s.report.as_ref().is_some_and(|r| r.interrupted));
    Ok(if interrupted {
        exit::INTERRUPTED
    } else {
        exit::OK
    })
}

/// `loadgen slo ...`: prints what the command produced; bad specs are usage errors.
pub fn slo(cmd: loadgen::slo_cmd::SloCommand) -> anyhow::Result<i32> {
    print_outcome(runtime()?.block_on(loadgen::slo_cmd::slo(cmd)))
}

/// `loadgen alerts wait ...`: 0 when the alert reached the state in time, 1 when not.
pub fn alerts(cmd: loadgen::slo_cmd::AlertsCommand) -> anyhow::Result<i32> {
    print_outcome(runtime()?.block_on(loadgen::slo_cmd::alerts(cmd)))
}

fn print_outcome(
    outcome: Result<(String, i32), loadgen::slo_cmd::SloCmdError>,
) -> anyhow::Result<i32> {
    match outcome {
        Ok((text, code)) => {
            println!("{}", text.trim_end());
            Ok(code)
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            Ok(e.exit_code())
        }
    }
}
