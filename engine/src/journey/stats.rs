//! What simulated users record, shared by all of them: one fixed-size slot per (target,
//! endpoint), each the same `Stats` the load records into (an HdrHistogram and fixed counters),
//! so memory never grows with the run's length and both count failures alike.
//!
//! Users lock a slot for a few counter updates per request (thousands of requests a second, not
//! millions), which keeps one histogram per endpoint instead of one per user: a thousand users
//! with a histogram each would cost hundreds of megabytes.
//!
//! Each slot also keeps when each kind of failure was first and last seen (wall-clock, as
//! Locust's `/stats/requests` errors say it): one entry per kind, written in place, so a run of
//! failures allocates nothing after the first of its kind.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use tokio::time::Instant;

use crate::client_metrics::EndpointMetrics;
use crate::failure::{ErrorKind, Failure};
use crate::report::stats::Stats;

/// A slot plus its live client-side metrics handles.
struct Slot {
    stats: Mutex<Stats>,
    metrics: Option<EndpointMetrics>,
    seen: Mutex<Vec<Seen>>,
}

/// A request that got an answer: its status, latency and body size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub latency_us: u64,
    pub body_bytes: u64,
}

/// When one kind of failure was first and last seen at one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub failure: Failure,
    pub first: SystemTime,
    pub last: SystemTime,
}

/// The shared recorder of one run (or one timeline step).
pub struct Recorder {
    slots: Vec<Slot>,
    tasks: Vec<AtomicU64>,
    /// When the stats were last reset, if ever: the report's rates count from there.
    reset_at: Mutex<Option<Instant>>,
}

impl Recorder {
    /// `metrics[i]` are the Prometheus handles of slot `i`, when `--metrics-addr` is on.
    pub fn new(slots: usize, tasks: usize, metrics: Option<Vec<EndpointMetrics>>) -> Recorder {
        let mut metrics = metrics.map(Vec::into_iter);
        Recorder {
            slots: (0..slots)
                .map(|_| Slot {
                    stats: Mutex::new(Stats::default()),
                    metrics: metrics.as_mut().and_then(Iterator::next),
                    seen: Mutex::new(Vec::new()),
                })
                .collect(),
            tasks: (0..tasks).map(|_| AtomicU64::new(0)).collect(),
            reset_at: Mutex::new(None),
        }
    }

    pub fn task_started(&self, task: usize) {
        self.tasks[task].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one request's outcome; returns whether it failed.
    pub fn record(&self, slot: usize, outcome: Result<Answer, ErrorKind>) -> bool {
        let s = &self.slots[slot];
        let failure = match outcome {
            Ok(a) if a.status >= 400 => Some(Failure::Status(a.status)),
            Ok(_) => None,
            Err(kind) => Some(Failure::Transport(kind)),
        };
        {
            let mut st = s.stats.lock().unwrap_or_else(|p| p.into_inner());
            match outcome {
                Ok(a) => st.record_response(a.status, a.latency_us, None, a.body_bytes),
                Err(kind) => st.record_error(kind),
            }
        }
        if let Some(f) = failure {
            let now = SystemTime::now();
            let mut seen = s.seen.lock().unwrap_or_else(|p| p.into_inner());
            match seen.iter_mut().find(|x| x.failure == f) {
                Some(x) => x.last = now,
                None => seen.push(Seen {
                    failure: f,
                    first: now,
                    last: now,
                }),
            }
        }
        if let Some(m) = &s.metrics {
            m.observe(outcome.ok().map(|a| a.latency_us), failure);
        }
        failure.is_some()
    }

    /// Counts a request to `slot` abandoned in flight (the stop's grace ran out): sent, so the
    /// server counted it, but with no outcome to record.
    pub fn abandon(&self, slot: usize) {
        self.slots[slot]
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abandoned += 1;
    }

    /// Per slot, when each kind of failure was first and last seen (since the last reset).
    pub fn seen(&self) -> Vec<Vec<Seen>> {
        self.slots
            .iter()
            .map(|s| s.seen.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// A copy of every slot's record so far.
    pub fn snapshot(&self) -> Vec<Stats> {
        self.slots
            .iter()
            .map(|s| s.stats.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// Forgets everything recorded so far (`--web`'s "reset stats"); client-side Prometheus
    /// counters are cumulative and stay as they are.
    pub fn reset(&self) {
        for s in &self.slots {
            *s.stats.lock().unwrap_or_else(|p| p.into_inner()) = Stats::default();
            s.seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        for t in &self.tasks {
            t.store(0, Ordering::Relaxed);
        }
        *self.reset_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// When the stats were last reset, if they were.
    pub fn since(&self) -> Option<Instant> {
        *self.reset_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn tasks(&self) -> Vec<u64> {
        self.tasks
            .iter()
            .map(|t| t.load(Ordering::Relaxed))
            .collect()
    }
}
