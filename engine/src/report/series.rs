//! A run over time, one point a second, for the HTML report's charts: requests and failures per
//! second and p50/p95/p99 of the requests that completed in each second. Built from cumulative
//! records (`Stats`) sampled once a second, by difference, so nothing is added per request and
//! it is collected only when a chart will be drawn (`--html`).

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::report::stats::{Stats, new_histogram};

/// One interval of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// End of the interval, in seconds from the start of the run.
    pub t_secs: f64,
    /// Requests completed per second over the interval.
    pub rps: f64,
    /// Failed requests (no response, or status >= 400) per second over the interval.
    pub failures_per_sec: f64,
    /// Latency percentiles of the requests completed in the interval, in milliseconds (0 when
    /// none completed).
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// The run's record at the last sample: the next interval's point is the difference from it.
/// The HTML report's [`Sampler`] keeps every point; `journey --web` keeps its own in a ring.
#[derive(Debug)]
pub struct Delta {
    t: f64,
    requests: u64,
    failed: u64,
    latency: Histogram<u64>,
}

impl Default for Delta {
    fn default() -> Delta {
        Delta {
            t: 0.0,
            requests: 0,
            failed: 0,
            latency: new_histogram(),
        }
    }
}

impl Delta {
    /// The point of the interval from the last sample to `t_secs`, given everything recorded
    /// by then; none for an interval shorter than `min_secs` (or empty), which stays unsampled.
    pub fn point(&mut self, t_secs: f64, total: &Stats, min_secs: f64) -> Option<Point> {
        let secs = t_secs - self.t;
        if secs <= 0.0 || secs < min_secs {
            return None;
        }
        let (requests, failed) = counts(total);
        let mut interval = total.latency.clone();
        // Cumulative records only grow, so the difference is exactly this interval's.
        if interval.subtract(&self.latency).is_err() {
            interval = new_histogram();
        }
        let q = |q: f64| {
            if interval.is_empty() {
                0.0
            } else {
                interval.value_at_quantile(q) as f64 / 1000.0
            }
        };
        let point = Point {
            t_secs,
            rps: requests.saturating_sub(self.requests) as f64 / secs,
            failures_per_sec: failed.saturating_sub(self.failed) as f64 / secs,
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
        };
        self.t = t_secs;
        self.requests = requests;
        self.failed = failed;
        self.latency = total.latency.clone();
        Some(point)
    }
}

/// Turns cumulative samples into points.
#[derive(Debug, Default)]
pub struct Sampler {
    delta: Delta,
    points: Vec<Point>,
}

/// Requests and failed requests (no response, or status >= 400) in a record.
pub fn counts(s: &Stats) -> (u64, u64) {
    let bad_status: u64 = s.status[400..].iter().sum();
    (s.responses() + s.failures(), s.failures() + bad_status)
}

impl Sampler {
    /// Adds the interval from the last sample to `t_secs`, given everything recorded by then.
    pub fn sample(&mut self, t_secs: f64, total: &Stats) {
        self.points.extend(self.delta.point(t_secs, total, 0.0));
    }

    /// The run's last sample: an interval shorter than half a second (the few milliseconds
    /// between the last tick and the end) is left out, as a rate over it would be noise.
    pub fn finish(mut self, t_secs: f64, total: &Stats) -> Vec<Point> {
        self.points.extend(self.delta.point(t_secs, total, 0.5));
        self.points
    }
}

#[cfg(test)]
mod tests {
    use super::Sampler;
    use crate::failure::ErrorKind;
    use crate::report::stats::Stats;

    #[test]
    fn points_are_the_differences_of_cumulative_samples() {
        let mut s = Stats::default();
        let mut sampler = Sampler::default();
        for _ in 0..10 {
            s.record_response(200, 1_000, None, 0);
        }
        sampler.sample(1.0, &s);
        for _ in 0..4 {
            s.record_response(500, 9_000, None, 0);
        }
        s.record_error(ErrorKind::Timeout);
        sampler.sample(1.5, &s);
        sampler.sample(1.5, &s);
        let p = sampler.finish(1.7, &s);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].rps, p[0].failures_per_sec), (10.0, 0.0));
        assert!((p[0].p99_ms - 1.0).abs() < 0.01, "{:?}", p[0]);
        // 5 requests in half a second, all failed; the latencies are the four 9 ms answers.
        assert_eq!((p[1].rps, p[1].failures_per_sec), (10.0, 10.0));
        assert!((p[1].p50_ms - 9.0).abs() < 0.01, "{:?}", p[1]);
    }
}
