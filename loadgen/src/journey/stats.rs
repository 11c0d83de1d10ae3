//! What simulated users record, shared by all of them: one fixed-size slot per (target,
//! endpoint), an HdrHistogram and counters each, so memory never grows with the run's length.
//!
//! Users lock a slot for a few counter updates per request (thousands of requests a second, not
//! millions), which keeps one histogram per endpoint instead of one per user: a thousand users
//! with a histogram each would cost hundreds of megabytes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;

use crate::client_metrics::EndpointMetrics;
use crate::stats::{ErrorKind, STATUS_SLOTS, new_histogram};

/// Why a request failed, counted in an array: a status of 400 or more, or no response at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Status(u16),
    Transport(ErrorKind),
}

impl Failure {
    /// The name used in reports and in the `kind` label: `http_500`, `reset`, ...
    pub fn key(self) -> String {
        match self {
            Failure::Status(code) => format!("http_{code}"),
            Failure::Transport(kind) => kind.key().to_owned(),
        }
    }
}

/// One (target, endpoint)'s record, cumulative over the run.
#[derive(Debug, Clone)]
pub struct SlotStats {
    /// Microseconds from send to the response's last byte, for requests that got a response.
    pub latency: Histogram<u64>,
    pub requests: u64,
    pub failures: u64,
    pub status: Box<[u64; STATUS_SLOTS]>,
    pub errors: [u64; ErrorKind::ALL.len()],
}

impl Default for SlotStats {
    fn default() -> Self {
        SlotStats {
            latency: new_histogram(),
            requests: 0,
            failures: 0,
            status: Box::new([0; STATUS_SLOTS]),
            errors: [0; ErrorKind::ALL.len()],
        }
    }
}

impl SlotStats {
    pub fn merge(&mut self, o: &SlotStats) {
        self.latency
            .add(&o.latency)
            .expect("auto-resizing histograms always add");
        self.requests += o.requests;
        self.failures += o.failures;
        for (a, b) in self.status.iter_mut().zip(o.status.iter()) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(o.errors.iter()) {
            *a += b;
        }
    }

    /// Failures by kind, in a stable order: statuses ascending, then transport kinds.
    pub fn failure_kinds(&self) -> Vec<(String, u64)> {
        let statuses = (400..STATUS_SLOTS)
            .filter(|&c| self.status[c] > 0)
            .map(|c| (Failure::Status(c as u16).key(), self.status[c]));
        let transport = ErrorKind::ALL
            .into_iter()
            .filter(|k| self.errors[k.index()] > 0)
            .map(|k| (k.key().to_owned(), self.errors[k.index()]));
        statuses.chain(transport).collect()
    }
}

/// A slot plus its live client-side metrics handles.
struct Slot {
    stats: Mutex<SlotStats>,
    metrics: Option<EndpointMetrics>,
}

/// The shared recorder of one run (or one timeline step).
pub struct Recorder {
    slots: Vec<Slot>,
    tasks: Vec<AtomicU64>,
}

impl Recorder {
    /// `metrics[i]` are the Prometheus handles of slot `i`, when `--metrics-addr` is on.
    pub fn new(slots: usize, tasks: usize, metrics: Option<Vec<EndpointMetrics>>) -> Recorder {
        let mut metrics = metrics.map(Vec::into_iter);
        Recorder {
            slots: (0..slots)
                .map(|_| Slot {
                    stats: Mutex::new(SlotStats::default()),
                    metrics: metrics.as_mut().and_then(Iterator::next),
                })
                .collect(),
            tasks: (0..tasks).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn task_started(&self, task: usize) {
        self.tasks[task].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one request's outcome; returns whether it failed.
    pub fn record(&self, slot: usize, outcome: Result<(u16, u64), ErrorKind>) -> bool {
        let s = &self.slots[slot];
        let failure = match outcome {
            Ok((status, _)) if status >= 400 => Some(Failure::Status(status)),
            Ok(_) => None,
            Err(kind) => Some(Failure::Transport(kind)),
        };
        {
            let mut st = s.stats.lock().unwrap_or_else(|p| p.into_inner());
            st.requests += 1;
            match outcome {
                Ok((status, us)) => {
                    let us = us.max(1);
                    if st.latency.record(us).is_err() {
                        st.latency.saturating_record(us);
                    }
                    if let Some(c) = st.status.get_mut(usize::from(status)) {
                        *c += 1;
                    }
                }
                Err(kind) => st.errors[kind.index()] += 1,
            }
            if failure.is_some() {
                st.failures += 1;
            }
        }
        if let Some(m) = &s.metrics {
            m.observe(outcome.ok().map(|(_, us)| us), failure);
        }
        failure.is_some()
    }

    /// A copy of every slot's record so far.
    pub fn snapshot(&self) -> Vec<SlotStats> {
        self.slots
            .iter()
            .map(|s| s.stats.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    pub fn tasks(&self) -> Vec<u64> {
        self.tasks
            .iter()
            .map(|t| t.load(Ordering::Relaxed))
            .collect()
    }
}
