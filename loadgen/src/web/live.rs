//! `GET /stats`: the document the swarm page polls. Counts and latency figures are cumulative
//! (since the start or the last reset), rates and the p50/p95/p99 of the charts are those since
//! the previous poll, as Locust's "current" figures are. The recorder is read here only when a
//! page asks; the charts' history is `history`'s, sampled once a second whether a page is open
//! or not, so a page opened late still draws the whole run.

use serde::Serialize;

use crate::web::swarm_state::{self, Status, SwarmForm, Web};
use crate::web::window::now_ms;
use engine::journey::report::{self, EndpointReport};
use engine::journey::spec::Journey;
use engine::journey::stats::Seen;
use engine::load::live_split::{LiveSplit, SplitDoc};
use engine::report::stats::Stats;

/// One row of the failures tab: a kind of failure at one endpoint, how often, and when the
/// recorder saw it first and last (since the start or the reset).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    pub target: String,
    pub name: String,
    pub kind: String,
    pub count: u64,
    /// Wall-clock times, ms since the epoch; none only for a kind the recorder has no time of.
    pub first_seen_ms: Option<u64>,
    pub last_seen_ms: Option<u64>,
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
        let errors = error_rows(&run.journey, names, &slots, &run.handle.recorder.seen());
        let (stats, total) =
            report::build(&run.journey, names, &slots, None, elapsed.as_secs_f64());
        let ended = run.ended.is_some();
        let w = &mut inner.window;
        w.advance(&run.journey, names, slots, (&stats, &total), ended);
        let (stats, total) = w.apply_rates(stats, total);
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
            form: run.form.clone(),
            targets: self.targets(),
            journeys: self.journeys(),
            split: run.handle.split.as_ref().map(LiveSplit::doc),
        }
    }

    /// The charts' points `GET /history` answers, after what the page holds.
    pub fn history(&self, since: crate::web::history::Since) -> crate::web::history::HistoryDoc {
        self.lock().history.doc(since)
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
            form: self.defaults(),
            targets: self.targets(),
            journeys: self.journeys(),
            split: None,
        }
    }
}

/// One row per endpoint and kind of failure, as Locust's failures table, with the recorder's
/// first and last time for each. Slots are (target, endpoint), target-major.
fn error_rows(
    journey: &Journey,
    names: &[String],
    slots: &[Stats],
    seen: &[Vec<Seen>],
) -> Vec<ErrorRow> {
    let n = journey.endpoints.len().max(1);
    let ms = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok())
    };
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.failed_requests() > 0)
        .flat_map(|(i, s)| {
            let seen = seen.get(i).map_or(&[][..], Vec::as_slice);
            s.failure_kinds().into_iter().map(move |(kind, count)| {
                let at = seen.iter().find(|x| x.failure.key() == kind);
                ErrorRow {
                    target: names.get(i / n).cloned().unwrap_or_default(),
                    name: journey
                        .endpoints
                        .get(i % n)
                        .map(|e| e.name.clone())
                        .unwrap_or_default(),
                    kind,
                    count,
                    first_seen_ms: at.and_then(|x| ms(x.first)),
                    last_seen_ms: at.and_then(|x| ms(x.last)),
                }
            })
        })
        .collect()
}
