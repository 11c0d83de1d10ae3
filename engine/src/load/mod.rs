//! The engine's entry: runs a `Plan` to its end (or until shutdown) with one task per worker,
//! and turns the workers' merged records into a `Report`. It neither parses flags nor judges
//! gates nor prints: the runner above does those.

pub mod live_split;
pub mod progress;
pub mod run_view;
pub mod schedule;
pub mod worker;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::load::live_split::LiveSplit;
use crate::load::run_view::RunView;
use crate::load::schedule::Schedule;
use crate::load::worker::{CsvOut, CsvSink, Finished, Shared};
use crate::plan::Plan;
use crate::report::series::Sampler;
use crate::report::stats::Stats;
use crate::report::{PacingReport, RateWindow, Report, TargetReport};
use crate::{report, stop};

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

/// What a run is connected to while it runs, for every kind of run (hey mode, a journey, a
/// timeline's steps): where its live output goes, its client metrics, the split that can change
/// under it, its page, and whether to record it second by second. A kind of run reads the parts
/// it has: hey mode `csv` and `progress`, journeys `table` and `metrics`.
#[derive(Default)]
pub struct Live {
    /// Receives hey's CSV rows as they happen (`-o csv`), header first.
    pub csv: Option<Box<dyn Write + Send>>,
    /// Draw hey's progress bar on stderr (only if stderr is a terminal).
    pub progress: bool,
    /// Receives a journey's stats table every `interval`.
    pub table: Option<Box<dyn Write + Send>>,
    pub interval: Option<Duration>,
    /// Client-side metrics a journey records into (`--metrics-addr`).
    pub metrics: Option<Arc<crate::client_metrics::ClientMetrics>>,
    /// The split, changeable while the run goes on (`--web`'s pages); `None` keeps
    /// the plan's weights for the whole run.
    pub split: Option<LiveSplit>,
    /// Record the run second by second (the reports' `series`), for the HTML report's charts.
    pub series: bool,
    /// `--web`'s run page: it reads the workers' records when it polls, never otherwise.
    pub view: Option<Arc<RunView>>,
}

/// Runs the plan to its end or until `shutdown` resolves, and returns the report.
/// On shutdown, scheduling stops, in-flight requests get `stop::INTERRUPT_GRACE` to finish, and the
/// report (marked `interrupted`) covers what completed.
pub async fn run(
    plan: Plan,
    live: Live,
    shutdown: impl Future<Output = ()>,
) -> Result<Report, Error> {
    let csv = open_csv(live.csv)?;
    let split = live.split;
    let start = Instant::now();
    if let Some(s) = &split {
        s.started(start);
    }
    let schedule = Schedule::new(start, plan.pacing, plan.stop);
    let shared = Arc::new(Shared::new(plan, schedule, csv.clone(), split.clone()));
    let workers: Vec<_> = (0..shared.plan.concurrency)
        .map(|id| tokio::spawn(worker::run(shared.clone(), id)))
        .collect();
    let bar = progress::Bar::start(shared.clone(), live.progress);
    if let Some(v) = &live.view {
        v.started(start);
        let shared = shared.clone();
        v.attach(Arc::new(move || shared.take_stats()));
    }
    let sampling = live.series.then(|| spawn_sampler(shared.clone(), start));

    let (finished, interrupted) = wait(workers, &shared, shutdown).await?;
    let last_answer = start.elapsed();
    bar.finish();
    if let Some(v) = &live.view {
        v.detach();
    }
    if let Some((task, _)) = &sampling {
        task.abort();
    }
    if let Some(csv) = csv {
        close_csv(&csv)?;
    }
    let sampler = sampling.map(|(_, s)| s);
    Ok(report_of(
        &shared,
        &finished,
        interrupted,
        last_answer,
        sampler,
        split,
    ))
}

/// How often `Live::series` samples the run.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The `-o csv` sink, its header already written.
fn open_csv(out: Option<Box<dyn Write + Send>>) -> Result<Option<CsvSink>, Error> {
    let Some(mut w) = out else {
        return Ok(None);
    };
    w.write_all(b"response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset\n")?;
    Ok(Some(Arc::new(Mutex::new(CsvOut {
        out: w,
        error: None,
    }))))
}

/// Rows that could not be written fail the run, as a summary that cannot be printed does.
fn close_csv(csv: &CsvSink) -> Result<(), Error> {
    let mut csv = csv.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = csv.error.take() {
        return Err(Error::Output(e));
    }
    csv.out.flush()?;
    Ok(())
}

/// Samples the run every `SAMPLE_EVERY` for `Report::series`.
fn spawn_sampler(shared: Arc<Shared>, start: Instant) -> (JoinHandle<()>, Arc<Mutex<Sampler>>) {
    let sampler = Arc::new(Mutex::new(Sampler::default()));
    let s = sampler.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(start + SAMPLE_EVERY, SAMPLE_EVERY);
        loop {
            tick.tick().await;
            let total = merged(&shared.take_stats());
            let t = start.elapsed().as_secs_f64();
            s.lock()
                .unwrap_or_else(|p| p.into_inner())
                .sample(t, &total);
        }
    });
    (task, sampler)
}

/// Waits for every worker to end, or for the `-z` bound or `shutdown` and then the drain;
/// returns what the workers handed back and whether the run was interrupted.
async fn wait(
    workers: Vec<JoinHandle<Finished>>,
    shared: &Shared,
    shutdown: impl Future<Output = ()>,
) -> Result<(Vec<Finished>, bool), Error> {
    let mut joined = Box::pin(async move {
        let mut out = Vec::with_capacity(workers.len());
        for w in workers {
            out.push(w.await?);
        }
        Ok::<_, Error>(out)
    });
    // `-z` bounds the run: at the bound, what is in flight gets the same grace as after Ctrl-C.
    let bound = async {
        match shared.schedule.deadline() {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    Ok(tokio::select! {
        r = &mut joined => (r?, false),
        () = bound => {
            let r = stop::drain(&mut joined, || shared.schedule.stop(), || shared.cancel()).await?;
            (r, false)
        }
        () = shutdown => {
            let r = stop::drain(&mut joined, || shared.schedule.stop(), || shared.cancel()).await?;
            (r, true)
        }
    })
}

/// The report of an ended run, from the workers' merged records; `last_answer` is from the
/// start to when the last worker ended (or was abandoned).
fn report_of(
    shared: &Shared,
    finished: &[Finished],
    interrupted: bool,
    last_answer: Duration,
    sampler: Option<Arc<Mutex<Sampler>>>,
    split: Option<LiveSplit>,
) -> Report {
    let elapsed = last_answer.as_secs_f64();
    let plan = &shared.plan;
    let (window, window_secs) = rate_window(shared, last_answer, interrupted);
    let per_target = shared.take_stats();
    let abandoned = finished.iter().map(|f| f.abandoned).sum();
    let total = merged(&per_target);
    let series = match sampler {
        Some(s) => {
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *s).finish(elapsed, &total)
        }
        None => Vec::new(),
    };
    let targets = plan
        .targets
        .iter()
        .zip(per_target)
        .map(|(t, s)| {
            TargetReport::from_stats(
                &t.name,
                Some(t.url.to_string()),
                Some(t.weight),
                s,
                window_secs,
            )
        })
        .collect();
    let mut report = Report {
        schema_version: report::SCHEMA_VERSION,
        run_id: report::new_run_id(),
        duration_secs: elapsed,
        pacing: PacingReport::new(plan.pacing),
        window,
        window_secs,
        interrupted,
        abandoned,
        not_sent: shared.schedule.not_sent(),
        total: TargetReport::from_stats("total", None, None, total, window_secs),
        targets,
        // Gates are the runner's to judge (`HeyRun::gates`), not the engine's.
        slo: Vec::new(),
        peak_rss_kib: None,
        split_events: split.map(|s| s.events()).unwrap_or_default(),
        series,
    };
    report.peak_rss_kib = report::peak_rss_kib();
    report
}

/// Every target's record in one.
fn merged(per_target: &[Stats]) -> Stats {
    let mut total = Stats::default();
    for s in per_target {
        total.merge(s);
    }
    total
}

/// The window Requests/sec is counted over: the `-z` bound, or the end of the last paced slot
/// (`-q`, `--rate`: a request sent at the start of its slot stands for the whole slot), or the
/// last answer, whichever is latest. An interrupted run's bound is where it was stopped.
fn rate_window(shared: &Shared, last_answer: Duration, interrupted: bool) -> (RateWindow, f64) {
    let bound = shared
        .schedule
        .deadline()
        .filter(|_| !interrupted)
        .map(|at| at - shared.schedule.start);
    let candidates = [
        (RateWindow::LastAnswer, Some(last_answer)),
        (RateWindow::Bound, bound),
        (RateWindow::PacingSlot, shared.schedule.slot_end()),
    ];
    let (kind, secs) = candidates
        .into_iter()
        .filter_map(|(k, d)| d.map(|d| (k, d)))
        .max_by_key(|(_, d)| *d)
        .unwrap_or((RateWindow::LastAnswer, last_answer));
    (kind, secs.as_secs_f64())
}
