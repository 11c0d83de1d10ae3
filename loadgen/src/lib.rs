//! loadgen: a hey-compatible HTTP load generator that measures accurately (HdrHistograms,
//! coordinated-omission correction under `--rate`) in constant memory, splits traffic between
//! named targets and gates CI on SLOs.
//!
//! The flow is one way: `cli::Cli` (as typed) -> `plan::Plan` (validated, `TryFrom`) ->
//! [`run`] (measures, returns a `report::Report`) -> `render` (text, JSON) and `exit_code`.

pub mod canary;
pub mod cli;
pub mod client_metrics;
pub mod conn;
pub mod gate;
pub mod h1;
pub mod journey;
pub mod merge;
pub mod phase_cmd;
pub mod plan;
pub mod progress;
pub mod render;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod slo_cmd;
pub mod stats;
pub mod tls;
pub mod worker;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::plan::Plan;
use crate::report::{PacingReport, Report, TargetReport};
use crate::schedule::Schedule;
use crate::stats::Stats;
use crate::worker::Shared;

/// How long in-flight requests may finish after an interrupt before they are abandoned.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

/// Exit codes of the binary.
pub mod exit {
    pub const OK: i32 = 0;
    /// The run could not be carried out (e.g. output could not be written).
    pub const FAILED: i32 = 1;
    /// Bad arguments (EX_USAGE).
    pub const USAGE: i32 = 64;
    /// `loadgen canary` rolled the canary back.
    pub const ROLLED_BACK: i32 = 98;
    /// An `--slo` gate broke; under `--expect-breach`, no gate broke.
    pub const SLO: i32 = 99;
    /// Interrupted by Ctrl-C (128 + SIGINT); a partial report was printed.
    pub const INTERRUPTED: i32 = 130;
}

/// A failure of the run itself (not of the system under test: those are counted, not raised).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a worker task failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot encode the report: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Where a run's live output goes.
#[derive(Default)]
pub struct Sinks {
    /// Receives hey's CSV rows as they happen (`-o csv`), header first.
    pub csv: Option<Box<dyn Write + Send>>,
    /// Draw a progress bar on stderr (only if stderr is a terminal).
    pub progress: bool,
}

/// Runs the plan to its end or until `shutdown` resolves, and returns the report.
/// On shutdown, scheduling stops, in-flight requests get `INTERRUPT_GRACE` to finish, and the
/// report (marked `interrupted`) covers what completed.
pub async fn run(
    plan: Plan,
    sinks: Sinks,
    shutdown: impl Future<Output = ()>,
) -> Result<Report, Error> {
    let csv = match sinks.csv {
        Some(mut w) => {
            w.write_all(b"response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset\n")?;
            Some(Arc::new(Mutex::new(w)))
        }
        None => None,
    };
    let start = Instant::now();
    let schedule = Schedule::new(start, plan.pacing, plan.stop);
    let shared = Arc::new(Shared::new(plan, schedule, csv.clone()));
    let workers: Vec<_> = (0..shared.plan.concurrency)
        .map(|id| tokio::spawn(worker::run(shared.clone(), id)))
        .collect();
    let bar = progress::Bar::start(shared.clone(), sinks.progress);

    let mut joined = Box::pin(async move {
        let mut out = Vec::with_capacity(workers.len());
        for w in workers {
            out.push(w.await?);
        }
        Ok::<_, Error>(out)
    });
    let (finished, interrupted) = tokio::select! {
        r = &mut joined => (r?, false),
        () = shutdown => {
            shared.schedule.stop();
            let r = match tokio::time::timeout(INTERRUPT_GRACE, &mut joined).await {
                Ok(r) => r?,
                Err(_) => {
                    shared.cancel();
                    joined.await?
                }
            };
            (r, true)
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish();
    if let Some(csv) = csv {
        csv.lock().unwrap_or_else(|p| p.into_inner()).flush()?;
    }

    let plan = &shared.plan;
    let per_target = shared.take_stats();
    let abandoned = finished.iter().map(|f| f.abandoned).sum();
    let mut total = Stats::default();
    for s in &per_target {
        total.merge(s);
    }
    let targets = plan
        .targets
        .iter()
        .zip(per_target)
        .map(|(t, s)| {
            TargetReport::from_stats(&t.name, Some(t.url.to_string()), Some(t.weight), s, elapsed)
        })
        .collect();
    let mut report = Report {
        schema_version: report::SCHEMA_VERSION,
        duration_secs: elapsed,
        pacing: PacingReport::new(plan.pacing),
        interrupted,
        abandoned,
        total: TargetReport::from_stats("total", None, None, total, elapsed),
        targets,
        slo: Vec::new(),
        peak_rss_kib: None,
    };
    report.slo = plan.gates.iter().map(|g| g.judge(&report)).collect();
    report.peak_rss_kib = report::peak_rss_kib();
    Ok(report)
}

/// The exit code a finished report calls for.
pub fn exit_code(report: &Report, expect_breach: bool) -> i32 {
    let broke = report.slo.iter().any(|o| !o.held);
    if report.interrupted {
        exit::INTERRUPTED
    } else if broke != expect_breach {
        exit::SLO
    } else {
        exit::OK
    }
}
