//! What a worker records on the hot path, and how workers' records merge.
//!
//! Everything here is fixed-size once allocated: HdrHistograms in microseconds with 3 significant
//! digits, a status-code array and an error-kind array. Recording never allocates, so memory does
//! not grow with the number of requests, and merging two records is exact.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::failure::{ErrorKind, Failure};

/// Significant digits kept by every latency histogram (0.1% relative error).
pub const SIGFIG: u8 = 3;

/// Status codes are counted in a flat array indexed by code; hyper accepts 100..=999 and rejects
/// anything else before we see it.
pub const STATUS_SLOTS: usize = 1000;

/// Running min / max / sum of one stage of a request (DNS, dial, write, wait, read), in
/// microseconds. (Not the mock's phase: a stage is part of one request's time.)
/// hey reports only average, fastest and slowest for these, so a histogram would be waste.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageStats {
    pub count: u64,
    pub sum_us: u64,
    pub min_us: u64,
    pub max_us: u64,
}

impl Default for StageStats {
    fn default() -> Self {
        StageStats {
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
        }
    }
}

impl StageStats {
    pub fn record(&mut self, us: u64) {
        self.count += 1;
        self.sum_us += us;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
    }

    /// Saturates rather than wraps: only a damaged report file can get near 2^64, and a
    /// wrapped sum would read as a plausible small mean.
    pub fn merge(&mut self, other: &StageStats) {
        self.count = self.count.saturating_add(other.count);
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn mean_us(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count as f64
        }
    }

    /// Fastest, or 0 when nothing was recorded (hey prints 0 too).
    pub fn min_or_zero(&self) -> u64 {
        if self.count == 0 { 0 } else { self.min_us }
    }
}

/// The stages of one request, in microseconds, as hey breaks them down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    /// DNS lookup plus TCP connect; 0 on a reused connection, as in hey.
    pub dns_dialup: StageStats,
    pub dns: StageStats,
    /// From sending until the request was written to the socket.
    pub req_write: StageStats,
    /// From the request written until the response head arrived.
    pub resp_wait: StageStats,
    /// From the response head until the body's last byte.
    pub resp_read: StageStats,
}

impl Stages {
    pub fn merge(&mut self, o: &Stages) {
        self.dns_dialup.merge(&o.dns_dialup);
        self.dns.merge(&o.dns);
        self.req_write.merge(&o.req_write);
        self.resp_wait.merge(&o.resp_wait);
        self.resp_read.merge(&o.resp_read);
    }
}

/// Everything recorded for one target (by one worker, or merged over workers).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency from when the request was due; equals `service` unless the run has an open-model
    /// rate, where it is corrected for coordinated omission.
    pub latency: Histogram<u64>,
    /// Latency from when the request was actually sent. Recorded only when it can differ from
    /// `latency` (an open-model rate): empty means "the same as `latency`", which saves a
    /// histogram record per request in the closed loop hey runs.
    pub service: Histogram<u64>,
    /// Responses by status code.
    pub status: Box<[u64; STATUS_SLOTS]>,
    /// Failures by kind.
    pub errors: [u64; ErrorKind::ALL.len()],
    /// Response body bytes received.
    pub bytes: u64,
    /// Requests sent later than the schedule allows (see `schedule::late_threshold`).
    pub late: u64,
    /// Requests resent once on a fresh connection after the server closed a reused one.
    pub retries: u64,
    /// Requests sent whose answer never came: in flight when a stop's grace ran out. The server
    /// counted them, so they are kept apart from `requests()` to reconcile with it.
    pub abandoned: u64,
    pub stages: Stages,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: new_histogram(),
            service: new_histogram(),
            status: Box::new([0; STATUS_SLOTS]),
            errors: [0; ErrorKind::ALL.len()],
            bytes: 0,
            late: 0,
            retries: 0,
            abandoned: 0,
            stages: Stages::default(),
        }
    }
}

/// An auto-resizing histogram: it only grows to cover the largest latency seen, so a 20 ms run
/// does not pay for an hour of range, and its size never depends on the request count.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant figures is a valid precision")
}

/// Records into an auto-resizing histogram. `record` grows the histogram as needed, whereas
/// `saturating_record` would clamp to its current (initially tiny) range; clamping is only the
/// fallback for values beyond any range.
fn record(h: &mut Histogram<u64>, us: u64) {
    let us = us.max(1);
    if h.record(us).is_err() {
        h.saturating_record(us);
    }
}

impl Stats {
    /// Counts one response. `service_us` is `None` when it equals `latency_us` (closed loop).
    pub fn record_response(
        &mut self,
        status: u16,
        latency_us: u64,
        service_us: Option<u64>,
        bytes: u64,
    ) {
        record(&mut self.latency, latency_us);
        if let Some(us) = service_us {
            record(&mut self.service, us);
        }
        if let Some(slot) = self.status.get_mut(usize::from(status)) {
            *slot += 1;
        }
        self.bytes += bytes;
    }

    pub fn record_error(&mut self, kind: ErrorKind) {
        self.errors[kind.index()] += 1;
    }

    pub fn responses(&self) -> u64 {
        self.status.iter().sum()
    }

    pub fn failures(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Requests that got a response or failed without one.
    pub fn requests(&self) -> u64 {
        self.responses() + self.failures()
    }

    /// Failed requests as journeys count them: no response, or a status of 400 or more.
    pub fn failed_requests(&self) -> u64 {
        self.failures() + self.status[400..].iter().sum::<u64>()
    }

    /// Failed requests by kind, in a stable order: statuses ascending (`http_500`), then
    /// transport kinds (`reset`, ...).
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

    /// The service-time histogram, which is `latency` itself when nothing set it apart.
    pub fn service_or_latency(&self) -> &Histogram<u64> {
        if self.service.is_empty() {
            &self.latency
        } else {
            &self.service
        }
    }

    /// Adds another record into this one. Exact: histograms add bucket by bucket.
    pub fn merge(&mut self, o: &Stats) {
        self.latency
            .add(&o.latency)
            .expect("auto-resizing histograms always add");
        self.service
            .add(&o.service)
            .expect("auto-resizing histograms always add");
        for (a, b) in self.status.iter_mut().zip(o.status.iter()) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(o.errors.iter()) {
            *a += b;
        }
        self.bytes += o.bytes;
        self.late += o.late;
        self.retries += o.retries;
        self.abandoned += o.abandoned;
        self.stages.merge(&o.stages);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Merging two workers' records equals recording everything into one.
        #[test]
        fn merge_equals_single_record(a in prop::collection::vec(1u64..10_000_000, 0..200),
                                      b in prop::collection::vec(1u64..10_000_000, 0..200)) {
            let mut one = Stats::default();
            let mut left = Stats::default();
            let mut right = Stats::default();
            for &v in &a { one.record_response(200, v, Some(v), 1); left.record_response(200, v, None, 1); }
            for &v in &b { one.record_response(503, v, Some(v), 2); right.record_response(503, v, None, 2); }
            left.merge(&right);
            prop_assert_eq!(left.latency.len(), one.latency.len());
            for q in [0.5, 0.9, 0.99, 1.0] {
                prop_assert_eq!(left.latency.value_at_quantile(q), one.latency.value_at_quantile(q));
            }
            prop_assert_eq!(&left.status[..], &one.status[..]);
            prop_assert_eq!(left.bytes, one.bytes);
        }
    }
}
