//! The swarm page's charts, kept by loadgen rather than by the browser: once a second a task reads
//! the run's recorder into a fixed-size ring of points (`webui`'s ring, the one the mock's console
//! keeps its hour in), so a page opened mid-run, reopened, or opened after the run draws the
//! whole history at once, then asks only for the points it has not seen (`GET /history`).
//!
//! Cost: one snapshot of the recorder a second while a run goes on, page open or not, into
//! memory allocated whole when loadgen starts ([`CAPACITY`] points of 56 bytes, under 400 KiB).

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use webui::ring::Ring;

use crate::web::window::now_ms;
use engine::report::series::Delta;
use engine::report::stats::Stats;

/// How often the run is sampled: one chart point each.
pub const EVERY: Duration = Duration::from_secs(1);
/// Points kept: two hours at one a second. A longer run's page shows its last two hours.
pub const CAPACITY: usize = 7200;
/// The last point of a run that ended sooner than this after the previous one is left out: a
/// rate over a few milliseconds would be noise.
const MIN_LAST_SECS: f64 = 0.5;

/// One chart point: the second before `t_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point {
    /// Wall-clock end of the interval, ms since the epoch (the charts' x).
    pub t_ms: u64,
    pub rps: f64,
    pub fail_per_sec: f64,
    /// Percentiles of the responses in the interval, ms; 0 when none came back.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub users: u32,
}

/// The points of the current (or last) run since its start or its reset.
pub struct History {
    ring: Ring<Point>,
    delta: Delta,
    /// Where the intervals' seconds count from.
    since: Instant,
    /// Changes with every new run and every reset, so a page knows its points are another
    /// series' and starts again.
    epoch: u64,
}

impl Default for History {
    fn default() -> History {
        History::with_capacity(CAPACITY)
    }
}

impl History {
    pub fn with_capacity(capacity: usize) -> History {
        History {
            ring: Ring::new(capacity),
            delta: Delta::default(),
            since: Instant::now(),
            epoch: 0,
        }
    }

    /// Starts a new series (a new run, a reset of the stats): the old points are gone.
    pub fn restart(&mut self) {
        self.ring.clear();
        self.delta = Delta::default();
        self.since = Instant::now();
        self.epoch += 1;
    }

    /// Adds the point of the interval since the last sample, given the run's record now.
    pub fn sample(&mut self, total: &Stats, users: usize) {
        self.sample_at_least(total, users, 0.0);
    }

    /// The run's last point, with no users: left out when the interval is too short to rate.
    pub fn finish(&mut self, total: &Stats) {
        self.sample_at_least(total, 0, MIN_LAST_SECS);
    }

    fn sample_at_least(&mut self, total: &Stats, users: usize, min_secs: f64) {
        let t = self.since.elapsed().as_secs_f64();
        if let Some(p) = self.delta.point(t, total, min_secs) {
            self.ring.push(Point {
                t_ms: now_ms(),
                rps: p.rps,
                fail_per_sec: p.failures_per_sec,
                p50_ms: p.p50_ms,
                p95_ms: p.p95_ms,
                p99_ms: p.p99_ms,
                users: u32::try_from(users).unwrap_or(u32::MAX),
            });
        }
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// The document `GET /history` answers: the points after `after` when the page already
    /// holds this series (`epoch` matches), otherwise the whole series.
    pub fn doc(&self, since: Since) -> HistoryDoc {
        let whole = since.epoch != Some(self.epoch);
        let after = if whole { None } else { since.after_ms };
        // Newest first until the page's last point, then back in order: a poll reads one point.
        let mut points: Vec<&Point> = self
            .ring
            .iter()
            .rev()
            .take_while(|p| after.is_none_or(|a| p.t_ms > a))
            .collect();
        points.reverse();
        let pct = |v: f64| (v > 0.0).then_some(v);
        HistoryDoc {
            epoch: self.epoch,
            whole,
            capacity: self.ring.capacity(),
            every_ms: u64::try_from(EVERY.as_millis()).unwrap_or(u64::MAX),
            t: points.iter().map(|p| p.t_ms).collect(),
            rps: points.iter().map(|p| p.rps).collect(),
            fail_per_sec: points.iter().map(|p| p.fail_per_sec).collect(),
            p50_ms: points.iter().map(|p| pct(p.p50_ms)).collect(),
            p95_ms: points.iter().map(|p| pct(p.p95_ms)).collect(),
            p99_ms: points.iter().map(|p| pct(p.p99_ms)).collect(),
            users: points.iter().map(|p| p.users).collect(),
        }
    }
}

/// What the page already holds: `GET /history?epoch=3&after=1733350000000`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Since {
    pub epoch: Option<u64>,
    /// The time of the page's newest point, ms since the epoch.
    pub after_ms: Option<u64>,
}

impl Since {
    /// Reads the query string; a value that is not a whole number names its field.
    pub fn parse(query: Option<&str>) -> Result<Since, String> {
        let mut since = Since::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match k.as_ref() {
                "epoch" => &mut since.epoch,
                "after" => &mut since.after_ms,
                _ => continue,
            };
            *slot = Some(v.parse().map_err(|_| {
                format!(
                    "{k} must be a whole number (the page's series and its last point's time in ms)"
                )
            })?);
        }
        Ok(since)
    }
}

/// The charts' series, column by column, as the page draws them.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryDoc {
    pub epoch: u64,
    /// The points are the whole series (the page starts again), not only the new ones.
    pub whole: bool,
    /// The most points the series holds; older ones are dropped first.
    pub capacity: usize,
    pub every_ms: u64,
    pub t: Vec<u64>,
    pub rps: Vec<f64>,
    pub fail_per_sec: Vec<f64>,
    /// None where no response came back in the interval.
    pub p50_ms: Vec<Option<f64>>,
    pub p95_ms: Vec<Option<f64>>,
    pub p99_ms: Vec<Option<f64>>,
    pub users: Vec<u32>,
}

/// Calls `sample` every [`EVERY`] from `started` on, until it answers false (the run ended or
/// another took its place; the run's end adds its last point itself).
pub(crate) async fn every_tick(started: Instant, mut sample: impl FnMut() -> bool) {
    let mut tick = tokio::time::interval_at(started + EVERY, EVERY);
    // On the run's own schedule: a stall skips the ticks it missed rather than bunching them
    // into points a few milliseconds apart, whose rates would be noise.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if !sample() {
            return;
        }
    }
}

/// Every slot's record in one.
pub(crate) fn merged(slots: &[Stats]) -> Stats {
    let mut total = Stats::default();
    for s in slots {
        total.merge(s);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::{History, Since};
    use engine::report::stats::Stats;

    fn record(requests: u64) -> Stats {
        let mut s = Stats::default();
        for _ in 0..requests {
            s.record_response(200, 2_000, None, 0);
        }
        s
    }

    #[tokio::test(start_paused = true)]
    async fn the_ring_keeps_its_newest_points_and_never_more() {
        let mut h = History::with_capacity(5);
        for i in 1..=12u64 {
            tokio::time::advance(super::EVERY).await;
            h.sample(&record(i * 10), 3);
        }
        assert_eq!(h.len(), 5, "the ring holds its capacity, not every sample");
        let doc = h.doc(Since::default());
        assert!(doc.whole);
        assert_eq!(doc.capacity, 5);
        // Ten requests a second, each 2 ms, for the last five of the twelve seconds.
        assert_eq!(doc.rps, [10.0; 5]);
        assert!(
            doc.p50_ms
                .iter()
                .all(|p| p.is_some_and(|v| (v - 2.0).abs() < 0.01))
        );
        assert_eq!(doc.users, [3; 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_page_that_holds_the_series_gets_only_new_points_and_a_restart_resends_all() {
        let mut h = History::with_capacity(100);
        for i in 1..=4u64 {
            tokio::time::advance(super::EVERY).await;
            h.sample(&record(i), 1);
        }
        let all = h.doc(Since::default());
        assert_eq!(all.t.len(), 4);
        let last = *all.t.last().unwrap();
        let held = Since {
            epoch: Some(all.epoch),
            after_ms: Some(last),
        };
        let none = h.doc(held);
        assert!(!none.whole && none.t.is_empty(), "{none:?}");
        h.restart();
        let again = h.doc(held);
        assert!(again.whole && again.t.is_empty() && again.epoch != all.epoch);
        // An interval with no responses has no percentiles (not 0 ms).
        tokio::time::advance(super::EVERY).await;
        h.sample(&Stats::default(), 1);
        assert_eq!(h.doc(Since::default()).p99_ms, [None]);
    }

    #[test]
    fn the_query_names_a_bad_field() {
        assert_eq!(Since::parse(None), Ok(Since::default()));
        assert_eq!(
            Since::parse(Some("epoch=2&after=17&x=y")),
            Ok(Since {
                epoch: Some(2),
                after_ms: Some(17)
            })
        );
        let e = Since::parse(Some("after=soon")).unwrap_err();
        assert!(e.starts_with("after must be a whole number"), "{e}");
    }
}
