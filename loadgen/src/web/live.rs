//! `GET /stats`: the document the swarm page polls. Counts and latency figures are cumulative
//! (since the start or the last reset), rates and the p50/p95/p99 of the charts are those since
//! the previous poll, as Locust's "current" figures are. The recorder is only read here, when a
//! page asks: with no page open the run does no work for it.

use serde::Serialize;

use crate::web::swarm_state::{self, Status, SwarmForm, Web};
use crate::web::window::{RecentErrors, now_ms};
use engine::journey::report::{self, EndpointReport};
use engine::load::live_split::{LiveSplit, SplitDoc};

/// One row of the failures tab.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    pub target: String,
    pub name: String,
    pub kind: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatsDoc {
    pub state: Status,
    pub user_count: usize,
    pub target_users: usize,
    pub spawn_rate: f64,
    pub elapsed_secs: f64,
    /// Wall-clock time of this document (ms since the epoch), the charts' x.
    pub time_ms: u64,
    pub total_rps: f64,
    pub total_fail_per_sec: f64,
    /// Failed requests over all requests since the start or the reset.
    pub fail_ratio: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub stats: Vec<EndpointReport>,
    pub total: EndpointReport,
    pub errors: Vec<ErrorRow>,
    pub recent_errors: Vec<RecentErrors>,
    /// The run's form (or the command line's, before the first run).
    pub form: SwarmForm,
    /// Targets by name, URL and weight; several mean the host field is read-only.
    pub targets: Vec<(String, String, u32)>,
    pub journeys: Vec<String>,
    /// With several targets: the weights in force and the changes so far.
    pub split: Option<SplitDoc>,
}

impl Web {
    /// The document `GET /stats` answers.
    pub fn stats(&self) -> StatsDoc {
        let time_ms = now_ms();
        let mut inner = self.lock();
        let state = swarm_state::status(&inner);
        let inner = &mut *inner;
        let Some(run) = inner.run.as_ref() else {
            return self.idle_stats(state, time_ms);
        };
        let elapsed = swarm_state::elapsed(run);
        let names = &run.handle.names;
        let slots = run.handle.recorder.snapshot();
        let (stats, total) =
            report::build(&run.journey, names, &slots, None, elapsed.as_secs_f64());
        let ended = run.ended.is_some();
        let w = &mut inner.window;
        w.advance(&run.journey, names, slots, (&stats, &total), ended);
        let (stats, total) = w.apply_rates(stats, total);
        let errors = error_rows(&stats);
        let target = run.handle.swarm.target();
        StatsDoc {
            state,
            user_count: if ended { 0 } else { run.handle.swarm.users() },
            target_users: target.users,
            spawn_rate: target.spawn_rate,
            elapsed_secs: elapsed.as_secs_f64(),
            time_ms,
            total_rps: w.current.total_rps,
            total_fail_per_sec: w.current.total_fail_per_sec,
            fail_ratio: if total.requests == 0 {
                0.0
            } else {
                total.failures as f64 / total.requests as f64
            },
            p50_ms: w.current.p50,
            p95_ms: w.current.p95,
            p99_ms: w.current.p99,
            stats,
            total,
            errors,
            recent_errors: w.recent.iter().rev().cloned().collect(),
            form: run.form.clone(),
            targets: self.targets(),
            journeys: self.journeys(),
            split: run.handle.split.as_ref().map(LiveSplit::doc),
        }
    }

    /// Before the first run: the journey's endpoints, all zero, and the command line's form.
    fn idle_stats(&self, state: Status, time_ms: u64) -> StatsDoc {
        let (stats, total) = report::build(&self.base_journey(), &[], &[], None, 1.0);
        StatsDoc {
            state,
            user_count: 0,
            target_users: 0,
            spawn_rate: 0.0,
            elapsed_secs: 0.0,
            time_ms,
            total_rps: 0.0,
            total_fail_per_sec: 0.0,
            fail_ratio: 0.0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            stats,
            total,
            errors: Vec::new(),
            recent_errors: Vec::new(),
            form: self.defaults(),
            targets: self.targets(),
            journeys: self.journeys(),
            split: None,
        }
    }
}

/// One row per endpoint and kind of failure, as Locust's failures table.
fn error_rows(stats: &[EndpointReport]) -> Vec<ErrorRow> {
    stats
        .iter()
        .flat_map(|e| {
            e.failures_by_kind.iter().map(|(kind, n)| ErrorRow {
                target: e.target.clone(),
                name: e.name.clone(),
                kind: kind.clone(),
                count: *n,
            })
        })
        .collect()
}
