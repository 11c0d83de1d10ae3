//! What the swarm page's previous poll saw, and the figures derived between two polls: rates,
//! the window's percentiles, and the failures that appeared. Shared by the swarm's state (which
//! resets it) and `GET /stats` (which advances it).

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::time::Instant;

use engine::report::stats::Stats;

/// Polls closer together than this reuse the last rates (two tabs must not halve the window).
pub(super) const MIN_WINDOW: Duration = Duration::from_millis(800);
/// How many recent error records the page keeps.
const RECENT: usize = 50;

/// What the previous poll saw, and the figures derived from it.
#[derive(Default)]
pub struct Window {
    pub(super) prev: Option<(Instant, Vec<Stats>)>,
    pub(super) current: Current,
    pub(super) recent: VecDeque<RecentErrors>,
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

/// Failures of one kind at one endpoint that appeared between two polls.
#[derive(Debug, Clone, Serialize)]
pub struct RecentErrors {
    pub time_ms: u64,
    pub target: String,
    pub name: String,
    pub kind: String,
    pub count: u64,
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

/// Appends the failure kinds whose counts rose since `prev`, newest last, keeping `RECENT`.
pub(super) fn record_recent(
    recent: &mut VecDeque<RecentErrors>,
    endpoints: &[engine::journey::spec::Endpoint],
    names: &[String],
    now: &[Stats],
    prev: &[Stats],
) {
    let time_ms = now_ms();
    let n = endpoints.len().max(1);
    for (i, (s, p)) in now.iter().zip(prev).enumerate() {
        if s.failed_requests() == p.failed_requests() {
            continue;
        }
        let before: std::collections::BTreeMap<String, u64> =
            p.failure_kinds().into_iter().collect();
        for (kind, count) in s.failure_kinds() {
            let rose = count.saturating_sub(before.get(&kind).copied().unwrap_or(0));
            if rose > 0 {
                recent.push_back(RecentErrors {
                    time_ms,
                    target: names.get(i / n).cloned().unwrap_or_default(),
                    name: endpoints
                        .get(i % n)
                        .map(|e| e.name.clone())
                        .unwrap_or_default(),
                    kind,
                    count: rose,
                });
            }
        }
    }
    while recent.len() > RECENT {
        recent.pop_front();
    }
}
