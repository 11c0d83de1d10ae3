//! What the swarm page's previous poll saw, and the figures derived between two polls: rates and
//! the window's percentiles. Shared by the swarm's state (which resets it) and `GET /stats`
//! (which advances it). When failures happened is the recorder's (`Recorder::seen`), not a poll's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::time::Instant;

use engine::journey::report::{self, EndpointReport};
use engine::journey::spec::Journey;
use engine::report::stats::Stats;

/// Polls closer together than this reuse the last rates (two tabs must not halve the window).
pub(super) const MIN_WINDOW: Duration = Duration::from_millis(800);

/// What the previous poll saw, and the figures derived from it.
#[derive(Default)]
pub struct PollWindow {
    pub(super) prev: Option<(Instant, Vec<Stats>)>,
    pub(super) current: Current,
}

impl PollWindow {
    /// Moves the window on to this poll's `slots`: rates and percentiles over the time since
    /// the previous poll once at least [`MIN_WINDOW`] has passed (the first poll reads the run
    /// so far, `so_far`). An ended run has no rates.
    pub(super) fn advance(
        &mut self,
        journey: &Journey,
        names: &[String],
        slots: Vec<Stats>,
        so_far: (&[EndpointReport], &EndpointReport),
        ended: bool,
    ) {
        let now = Instant::now();
        let rates = |rows: &[EndpointReport]| {
            rows.iter()
                .map(|e| (e.target.clone(), e.name.clone(), e.rps, e.failures_per_sec))
                .collect()
        };
        match self.prev.take() {
            _ if ended => self.current = Current::default(),
            Some((at, prev)) if now.duration_since(at) < MIN_WINDOW => {
                self.prev = Some((at, prev));
            }
            Some((at, prev)) => {
                let secs = now.duration_since(at).as_secs_f64();
                let (rows, tot) = report::build(journey, names, &slots, Some(&prev), secs);
                self.current = Current {
                    rates: rates(&rows),
                    total_rps: tot.rps,
                    total_fail_per_sec: tot.failures_per_sec,
                    ..window_percentiles(&slots, &prev)
                };
                self.prev = Some((now, slots));
            }
            None => {
                let (stats, total) = so_far;
                self.current = Current {
                    rates: rates(stats),
                    total_rps: total.rps,
                    total_fail_per_sec: total.failures_per_sec,
                    ..window_percentiles(&slots, &[])
                };
                self.prev = Some((now, slots));
            }
        }
    }

    /// The run's rows and total with the window's rates in place of the whole run's.
    pub(super) fn apply_rates(
        &self,
        stats: Vec<EndpointReport>,
        mut total: EndpointReport,
    ) -> (Vec<EndpointReport>, EndpointReport) {
        let stats = stats
            .into_iter()
            .map(|mut e| {
                let r = self
                    .current
                    .rates
                    .iter()
                    .find(|r| r.0 == e.target && r.1 == e.name);
                (e.rps, e.failures_per_sec) = r.map_or((0.0, 0.0), |r| (r.2, r.3));
                e
            })
            .collect();
        total.rps = self.current.total_rps;
        total.failures_per_sec = self.current.total_fail_per_sec;
        (stats, total)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Current {
    /// Per row of `stats` (target, name): requests and failures per second.
    pub(super) rates: Vec<(String, String, f64, f64)>,
    pub(super) total_rps: f64,
    pub(super) total_fail_per_sec: f64,
    pub(super) p50: Option<f64>,
    pub(super) p95: Option<f64>,
    pub(super) p99: Option<f64>,
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// p50/p95/p99 (ms) of the responses between `prev` and `now` (all of `now` when `prev` is
/// empty); none when there were none.
pub(super) fn window_percentiles(now: &[Stats], prev: &[Stats]) -> Current {
    let mut h = engine::report::stats::new_histogram();
    for s in now {
        let _ = h.add(&s.latency);
    }
    let mut before = engine::report::stats::new_histogram();
    for s in prev {
        let _ = before.add(&s.latency);
    }
    // A reset between the two polls makes `prev` larger than `now`: no window then.
    if h.subtract(&before).is_err() || h.is_empty() {
        return Current::default();
    }
    let q = |p: f64| Some(h.value_at_quantile(p) as f64 / 1000.0);
    Current {
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        ..Current::default()
    }
}
