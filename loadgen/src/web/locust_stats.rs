//! Locust's statistics document, as Locust 2.47 writes it, of the swarm's current or last run:
//! `GET /stats/requests` ([`RequestsDoc`]), with Locust's keys and row order (by name, then
//! method; `Aggregated` last); and the rows it and the CSVs (`locust_csv`) are made of.
//!
//! Each row is one (target, endpoint) of the journey: `method` is its method and `name` its
//! path (the journey's `name` when it gave one), prefixed `target: ` when the run has several
//! targets. Counts and latencies are cumulative since the start or the reset; `current_*`
//! figures are those since the previous poll (the swarm page's window, shared with `GET
//! /stats`), where Locust averages the last ~10 s; `total_*` rates are over the whole run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde::Serialize;

use crate::web::history::merged;
use crate::web::swarm_state::{self, Status, Web};
use engine::journey::report::EndpointReport;
use engine::journey::spec::Journey;
use engine::journey::stats::Seen;
use engine::report::stats::Stats;

/// `GET /stats/requests`: Locust's top-level keys.
#[derive(Debug, Clone, Serialize)]
pub struct RequestsDoc {
    pub stats: Vec<Entry>,
    pub errors: Vec<ErrorEntry>,
    pub current_rps: f64,
    pub current_fail_per_sec: f64,
    pub total_rps: f64,
    pub total_fail_per_sec: f64,
    pub fail_ratio: f64,
    /// `response_time_percentile_0.5` and `_0.95` (ms) since the previous poll; 0 when none.
    pub current_response_time_percentiles: BTreeMap<String, u64>,
    pub state: Status,
    pub user_count: usize,
}

/// One row of `stats`, Locust's `StatsEntry.to_dict()`; `target` is ours.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub method: String,
    pub name: String,
    pub num_requests: u64,
    pub num_failures: u64,
    pub min_response_time: f64,
    pub max_response_time: f64,
    pub current_rps: f64,
    pub current_fail_per_sec: f64,
    pub avg_response_time: f64,
    /// Whole milliseconds, as Locust rounds it.
    pub median_response_time: u64,
    pub total_rps: f64,
    pub total_fail_per_sec: f64,
    #[serde(rename = "response_time_percentile_0.95")]
    pub p95: u64,
    #[serde(rename = "response_time_percentile_0.99")]
    pub p99: u64,
    /// Mean response body size in bytes.
    pub avg_content_length: f64,
    pub target: String,
}

/// One entry of `errors`: a kind of failure at one row, with when it was first and last seen
/// (seconds since the epoch).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEntry {
    pub method: String,
    pub name: String,
    /// Our failure kind: `http_500`, `timeout`, `reset`, ...
    pub error: String,
    pub occurrences: u64,
    pub first_seen: Option<f64>,
    pub last_seen: Option<f64>,
    pub target: String,
}

/// What the documents are made of, read under one lock: the run's journey and targets, each
/// slot's record, when its failures were seen, and the seconds the rates count over.
pub(super) struct Recorded {
    pub(super) journey: Arc<Journey>,
    pub(super) names: Vec<String>,
    pub(super) slots: Vec<Stats>,
    pub(super) seen: Vec<Vec<Seen>>,
    pub(super) secs: f64,
}

/// One row of the journey, as Locust names it.
pub(super) struct Row<'a> {
    pub(super) method: String,
    pub(super) name: String,
    pub(super) target: &'a str,
    pub(super) stats: &'a Stats,
    pub(super) seen: &'a [Seen],
    /// The report's name of the row (`POST /chat`), the key of the page's window rates.
    pub(super) ours: &'a str,
}

impl Web {
    /// The document `GET /stats/requests` answers.
    pub fn locust_requests(&self) -> RequestsDoc {
        // The page's own document advances the shared window: its rates are the current ones.
        let doc = self.stats();
        let rec = self.recorded();
        let rows = rows(&rec);
        let current = |target: &str, name: &str| {
            doc.stats
                .iter()
                .find(|e| e.target == target && e.name == name)
                .map_or((0.0, 0.0), |e| (e.rps, e.failures_per_sec))
        };
        let mut stats: Vec<Entry> = rows
            .iter()
            .map(|r| entry(r, current(r.target, r.ours), rec.secs))
            .collect();
        let merged = merged(&rec.slots);
        let total_row = Row {
            method: String::new(),
            name: "Aggregated".into(),
            target: "",
            stats: &merged,
            seen: &[],
            ours: "Aggregated",
        };
        let total = entry(&total_row, rates(&doc.total), rec.secs);
        let ms = |v: Option<f64>| v.map_or(0, |v| v.round() as u64);
        let percentiles = BTreeMap::from([
            ("response_time_percentile_0.5".to_owned(), ms(doc.p50_ms)),
            ("response_time_percentile_0.95".to_owned(), ms(doc.p95_ms)),
        ]);
        let errors = rows.iter().flat_map(error_entries).collect();
        let (current_rps, current_fail_per_sec) = (total.current_rps, total.current_fail_per_sec);
        let (total_rps, total_fail_per_sec) = (total.total_rps, total.total_fail_per_sec);
        stats.push(total);
        RequestsDoc {
            stats,
            errors,
            current_rps,
            current_fail_per_sec,
            total_rps,
            total_fail_per_sec,
            fail_ratio: match merged.requests() {
                0 => 0.0,
                n => merged.failed_requests() as f64 / n as f64,
            },
            current_response_time_percentiles: percentiles,
            state: doc.state,
            user_count: doc.user_count,
        }
    }

    /// The current or last run's record; before the first run, the journey with nothing in it.
    pub(super) fn recorded(&self) -> Recorded {
        let inner = self.lock();
        match inner.run.as_ref() {
            Some(run) => Recorded {
                journey: run.journey.clone(),
                names: run.handle.names.to_vec(),
                slots: run.handle.recorder.snapshot(),
                seen: run.handle.recorder.seen(),
                secs: swarm_state::elapsed(run).as_secs_f64().max(1e-9),
            },
            None => Recorded {
                journey: self.base_journey(),
                names: Vec::new(),
                slots: Vec::new(),
                seen: Vec::new(),
                secs: 1.0,
            },
        }
    }
}

/// The rows that sent a request, in Locust's order: by name, then method.
pub(super) fn rows(rec: &Recorded) -> Vec<Row<'_>> {
    let n = rec.journey.endpoints.len().max(1);
    let several = rec.names.len() > 1;
    let mut rows: Vec<Row<'_>> = rec
        .slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.requests() > 0)
        .filter_map(|(i, s)| {
            let e = rec.journey.endpoints.get(i % n)?;
            let target = rec.names.get(i / n)?;
            // A journey's default name is "METHOD /path": Locust's name is the path alone.
            let name = if e.name == format!("{} {}", e.method, e.path) {
                e.path.clone()
            } else {
                e.name.clone()
            };
            Some(Row {
                method: e.method.to_string(),
                name: if several {
                    format!("{target}: {name}")
                } else {
                    name
                },
                target,
                stats: s,
                seen: rec.seen.get(i).map_or(&[], Vec::as_slice),
                ours: &e.name,
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    rows
}

fn rates(e: &EndpointReport) -> (f64, f64) {
    (e.rps, e.failures_per_sec)
}

fn entry(r: &Row<'_>, (current_rps, current_fail_per_sec): (f64, f64), secs: f64) -> Entry {
    let s = r.stats;
    let l = Latency::of(s);
    Entry {
        method: r.method.clone(),
        name: r.name.clone(),
        num_requests: s.requests(),
        num_failures: s.failed_requests(),
        min_response_time: l.min,
        max_response_time: l.max,
        current_rps,
        current_fail_per_sec,
        avg_response_time: l.mean,
        median_response_time: l.median,
        total_rps: s.requests() as f64 / secs,
        total_fail_per_sec: s.failed_requests() as f64 / secs,
        p95: quantile_ms(s, 0.95),
        p99: quantile_ms(s, 0.99),
        avg_content_length: content_length(s),
        target: r.target.to_owned(),
    }
}

/// A row's failures by kind, with when each was first and last seen.
pub(super) fn error_entries(r: &Row<'_>) -> Vec<ErrorEntry> {
    r.stats
        .failure_kinds()
        .into_iter()
        .map(|(kind, occurrences)| {
            let seen = r.seen.iter().find(|s| s.failure.key() == kind);
            ErrorEntry {
                method: r.method.clone(),
                name: r.name.clone(),
                error: kind,
                occurrences,
                first_seen: seen.map(|s| epoch(s.first)),
                last_seen: seen.map(|s| epoch(s.last)),
                target: r.target.to_owned(),
            }
        })
        .collect()
}

/// A row's latency figures in milliseconds, of the requests that got a response.
pub(super) struct Latency {
    pub(super) mean: f64,
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) median: u64,
}

impl Latency {
    pub(super) fn of(s: &Stats) -> Latency {
        let h = &s.latency;
        if h.is_empty() {
            return Latency {
                mean: 0.0,
                min: 0.0,
                max: 0.0,
                median: 0,
            };
        }
        Latency {
            mean: h.mean() / 1000.0,
            min: h.min() as f64 / 1000.0,
            max: h.max() as f64 / 1000.0,
            median: (h.value_at_quantile(0.5) as f64 / 1000.0).round() as u64,
        }
    }
}

/// The `q` quantile in whole milliseconds, as Locust's percentiles are.
pub(super) fn quantile_ms(s: &Stats, q: f64) -> u64 {
    (s.latency.value_at_quantile(q) as f64 / 1000.0).round() as u64
}

/// Mean body bytes per request, as Locust divides it.
pub(super) fn content_length(s: &Stats) -> f64 {
    match s.requests() {
        0 => 0.0,
        n => s.bytes as f64 / n as f64,
    }
}

fn epoch(t: std::time::SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
