//! A window on a running load for `--web`'s run page (hey mode with `-z`, `scenario run`): the
//! engine attaches a way to read its cumulative per-target records, the timeline names its
//! current step, and the page reads a [`RunSnapshot`] only when it asks. Nothing is added per
//! request: with no page open, nobody reads.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::time::Instant;

use crate::load::live_split::{LiveSplit, SplitDoc};
use crate::report::stats::{Stats, new_histogram};

/// Reads the records of the part of the run going on: one cumulative `Stats` per target.
pub type Source = Arc<dyn Fn() -> Vec<Stats> + Send + Sync>;

/// Polls closer together than this reuse the last rates (two tabs must not halve the window).
const MIN_WINDOW: Duration = Duration::from_millis(800);

/// The step of a timeline going on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepInfo {
    /// 1-based.
    pub index: usize,
    pub count: usize,
    pub name: String,
    /// The phase the step applied, on one line (a shipped name, or the document cut short);
    /// none keeps the last.
    pub phase: Option<String>,
}

/// One row of the per-target table; counts and percentiles since the start, rates over the last
/// poll.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetRow {
    pub target: String,
    pub requests: u64,
    /// No response, or a status of 400 or more.
    pub failures: u64,
    pub rps: f64,
    pub failures_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Whether the load is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Finished,
}

/// The document `GET /stats` answers on the run page.
#[derive(Debug, Clone, Serialize)]
pub struct RunSnapshot {
    pub state: RunState,
    /// What runs: "hey" or "scenario NAME".
    pub title: String,
    pub elapsed_secs: f64,
    /// Wall-clock time of this document (ms since the epoch), the charts' x.
    pub time_ms: u64,
    pub step: Option<StepInfo>,
    pub targets: Vec<TargetRow>,
    pub total: TargetRow,
    /// Over the last poll: the charts' points.
    pub total_rps: f64,
    pub total_fail_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// With several targets and a live split: the weights in force and the changes so far.
    pub split: Option<SplitDoc>,
}

/// The run page's view of one run, shared by the run and the page's server.
pub struct RunView {
    title: String,
    names: Vec<String>,
    split: Option<LiveSplit>,
    inner: Mutex<Inner>,
}

struct Inner {
    started: Option<Instant>,
    ended: Option<Instant>,
    step: Option<StepInfo>,
    source: Option<Source>,
    /// What the parts of the run that ended recorded (a timeline's earlier steps).
    done: Vec<Stats>,
    prev: Option<(Instant, Vec<Stats>)>,
    rates: (Vec<(f64, f64)>, f64, f64),
    window: [Option<f64>; 3],
}

impl std::fmt::Debug for RunView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunView")
            .field("title", &self.title)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl RunView {
    /// A view of a run over `names` (its targets, in order); `split` is what `POST /split`
    /// changes.
    pub fn new(title: String, names: Vec<String>, split: Option<LiveSplit>) -> Arc<RunView> {
        let done = names.iter().map(|_| Stats::default()).collect();
        Arc::new(RunView {
            title,
            names,
            split,
            inner: Mutex::new(Inner {
                started: None,
                ended: None,
                step: None,
                source: None,
                done,
                prev: None,
                rates: (Vec::new(), 0.0, 0.0),
                window: [None; 3],
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The split the page changes, if the run has one.
    pub fn split(&self) -> Option<&LiveSplit> {
        self.split.as_ref()
    }

    /// The run's target names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Marks the run's start (the first call counts).
    pub fn started(&self, at: Instant) {
        self.lock().started.get_or_insert(at);
    }

    /// The part of the run now going on reads its records through `source`.
    pub fn attach(&self, source: Source) {
        self.lock().source = Some(source);
    }

    /// The part going on ended: its last records join the run's.
    pub fn detach(&self) {
        let mut inner = self.lock();
        if let Some(source) = inner.source.take() {
            for (acc, s) in inner.done.iter_mut().zip(source()) {
                acc.merge(&s);
            }
        }
    }

    /// A timeline's step began.
    pub fn step(&self, step: StepInfo) {
        self.lock().step = Some(step);
    }

    /// The whole run ended: the page shows it finished, with its final counts.
    pub fn finished(&self) {
        self.detach();
        self.lock().ended.get_or_insert_with(Instant::now);
    }

    /// Everything recorded so far, per target.
    fn records(inner: &Inner) -> Vec<Stats> {
        let mut all = inner.done.clone();
        if let Some(source) = &inner.source {
            for (acc, s) in all.iter_mut().zip(source()) {
                acc.merge(&s);
            }
        }
        all
    }

    /// The document `GET /stats` answers; rates are those since the previous poll.
    pub fn snapshot(&self) -> RunSnapshot {
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let now = Instant::now();
        let mut inner = self.lock();
        let records = RunView::records(&inner);
        let elapsed = match (inner.started, inner.ended) {
            (Some(s), Some(e)) => e.duration_since(s),
            (Some(s), None) => now.duration_since(s),
            _ => Duration::ZERO,
        };
        let ended = inner.ended.is_some();
        match inner.prev.take() {
            _ if ended => {
                inner.rates = (vec![(0.0, 0.0); records.len()], 0.0, 0.0);
                inner.window = [None; 3];
            }
            Some((at, prev)) if now.duration_since(at) < MIN_WINDOW => {
                inner.prev = Some((at, prev));
            }
            prev => {
                let (at, prev) = prev.unwrap_or_else(|| {
                    let start = inner.started.unwrap_or(now);
                    (start, Vec::new())
                });
                let secs = now.duration_since(at).as_secs_f64().max(1e-3);
                let zero = Stats::default();
                let per: Vec<(f64, f64)> = records
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let p = prev.get(i).unwrap_or(&zero);
                        (
                            s.requests().saturating_sub(p.requests()) as f64 / secs,
                            s.failed_requests().saturating_sub(p.failed_requests()) as f64 / secs,
                        )
                    })
                    .collect();
                let rps = per.iter().map(|r| r.0).sum();
                let fps = per.iter().map(|r| r.1).sum();
                inner.rates = (per, rps, fps);
                inner.window = window_percentiles(&records, &prev);
                inner.prev = Some((now, records.clone()));
            }
        }
        let row = |target: String, s: &Stats, (rps, fps): (f64, f64)| {
            let q = |p: f64| {
                (!s.latency.is_empty()).then(|| s.latency.value_at_quantile(p) as f64 / 1000.0)
            };
            TargetRow {
                target,
                requests: s.requests(),
                failures: s.failed_requests(),
                rps,
                failures_per_sec: fps,
                p50_ms: q(0.5),
                p95_ms: q(0.95),
                p99_ms: q(0.99),
            }
        };
        let targets = self
            .names
            .iter()
            .zip(&records)
            .enumerate()
            .map(|(i, (n, s))| {
                let r = inner.rates.0.get(i).copied().unwrap_or((0.0, 0.0));
                row(n.clone(), s, r)
            })
            .collect();
        let mut all = Stats::default();
        for s in &records {
            all.merge(s);
        }
        let (total_rps, total_fps) = (inner.rates.1, inner.rates.2);
        let [p50_ms, p95_ms, p99_ms] = inner.window;
        RunSnapshot {
            state: if ended {
                RunState::Finished
            } else {
                RunState::Running
            },
            title: self.title.clone(),
            elapsed_secs: elapsed.as_secs_f64(),
            time_ms,
            step: inner.step.clone(),
            targets,
            total: row("Aggregated".into(), &all, (total_rps, total_fps)),
            total_rps,
            total_fail_per_sec: total_fps,
            p50_ms,
            p95_ms,
            p99_ms,
            split: self.split.as_ref().map(LiveSplit::doc),
        }
    }

    /// Whether the run has ended.
    pub fn is_finished(&self) -> bool {
        self.lock().ended.is_some()
    }
}

/// p50/p95/p99 (ms) of the responses between `prev` and `now` (all of `now` when `prev` is
/// empty); none when there were none.
fn window_percentiles(now: &[Stats], prev: &[Stats]) -> [Option<f64>; 3] {
    let mut h = new_histogram();
    for s in now {
        let _ = h.add(&s.latency);
    }
    let mut before = new_histogram();
    for s in prev {
        let _ = before.add(&s.latency);
    }
    if h.subtract(&before).is_err() || h.is_empty() {
        return [None; 3];
    }
    [0.5, 0.95, 0.99].map(|p| Some(h.value_at_quantile(p) as f64 / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(ok: u64, bad: u64, us: u64) -> Stats {
        let mut s = Stats::default();
        for _ in 0..ok {
            s.latency.record(us).unwrap();
            s.status[200] += 1;
        }
        for _ in 0..bad {
            s.latency.record(us).unwrap();
            s.status[500] += 1;
        }
        s
    }

    #[test]
    fn steps_add_up_and_a_finished_run_keeps_its_counts() {
        let v = RunView::new("t".into(), vec!["a".into(), "b".into()], None);
        v.started(Instant::now());
        v.attach(Arc::new(|| vec![stats(3, 1, 2000), stats(2, 0, 4000)]));
        let s = v.snapshot();
        assert_eq!(s.state, RunState::Running);
        assert_eq!((s.targets[0].requests, s.targets[0].failures), (4, 1));
        // The histogram keeps 3 significant digits.
        let p50 = s.targets[1].p50_ms.unwrap();
        assert!((p50 - 4.0).abs() < 0.01, "{p50}");
        v.detach();
        v.attach(Arc::new(|| vec![stats(1, 0, 2000), Stats::default()]));
        v.step(StepInfo {
            index: 2,
            count: 2,
            name: "second".into(),
            phase: None,
        });
        let s = v.snapshot();
        assert_eq!(s.targets[0].requests, 5);
        assert_eq!(s.total.requests, 7);
        assert_eq!(s.step.unwrap().name, "second");
        v.finished();
        let s = v.snapshot();
        assert_eq!(s.state, RunState::Finished);
        assert_eq!(s.total.requests, 7);
        assert_eq!(s.total.failures, 1);
        assert_eq!(s.total_rps, 0.0);
    }
}
