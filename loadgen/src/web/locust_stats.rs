//! Locust's statistics documents, as Locust 2.47 writes them, of the swarm's current or last
//! run: `GET /stats/requests` ([`RequestsDoc`]) and the requests and failures CSVs, with
//! Locust's keys, headers and row order (by name, then method; `Aggregated` last).
//!
//! Each row is one (target, endpoint) of the journey: `method` is its method and `name` its
//! path (the journey's `name` when it gave one), prefixed `target: ` when the run has several
//! targets. Counts and latencies are cumulative since the start or the reset; `current_*`
//! figures are those since the previous poll (the swarm page's window, shared with `GET
//! /stats`), where Locust averages the last ~10 s; `total_*` rates are over the whole run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde::Serialize;

use crate::web::swarm_state::{self, Status, Web};
use engine::journey::report::EndpointReport;
use engine::journey::spec::Journey;
use engine::journey::stats::Seen;
use engine::report::stats::Stats;

/// Locust's percentiles of the requests CSV, as its header names them.
const CSV_PERCENTILES: [(f64, &str); 11] = [
    (0.5, "50%"),
    (0.66, "66%"),
    (0.75, "75%"),
    (0.8, "80%"),
    (0.9, "90%"),
    (0.95, "95%"),
    (0.98, "98%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
    (1.0, "100%"),
];

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
struct Recorded {
    journey: Arc<Journey>,
    names: Vec<String>,
    slots: Vec<Stats>,
    seen: Vec<Vec<Seen>>,
    secs: f64,
}

/// One row of the journey, as Locust names it.
struct Row<'a> {
    method: String,
    name: String,
    target: &'a str,
    stats: &'a Stats,
    seen: &'a [Seen],
    /// The report's name of the row (`POST /chat`), the key of the page's window rates.
    ours: &'a str,
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

    /// `GET /stats/requests/csv`: Locust's requests CSV, whole-run rates.
    pub fn locust_requests_csv(&self) -> String {
        let rec = self.recorded();
        let merged = merged(&rec.slots);
        let mut out = String::new();
        let pct: Vec<&str> = CSV_PERCENTILES.iter().map(|(_, h)| *h).collect();
        line(
            &mut out,
            &format!(
                "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
                 Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,{}",
                pct.join(",")
            ),
        );
        let rows = rows(&rec);
        let total = [("", "Aggregated", &merged)];
        let all = rows
            .iter()
            .map(|r| (r.method.as_str(), r.name.as_str(), r.stats))
            .chain(total);
        for (method, name, s) in all {
            let l = Latency::of(s);
            let n = s.requests();
            let mut row = format!(
                "{},{},{n},{},{},{},{},{},{},{},{}",
                csv_field(method),
                csv_field(name),
                s.failed_requests(),
                l.median,
                l.mean,
                l.min,
                l.max,
                content_length(s),
                n as f64 / rec.secs,
                s.failed_requests() as f64 / rec.secs,
            );
            for (q, _) in CSV_PERCENTILES {
                match n {
                    0 => row.push_str(",N/A"),
                    _ => {
                        let _ = write!(row, ",{}", quantile_ms(s, q));
                    }
                }
            }
            line(&mut out, &row);
        }
        out
    }

    /// `GET /stats/failures/csv`: one row per kind of failure at each row.
    pub fn locust_failures_csv(&self) -> String {
        let rec = self.recorded();
        let mut out = String::new();
        line(
            &mut out,
            "Method,Name,Error,Occurrences,First Seen,Last Seen",
        );
        for e in rows(&rec).iter().flat_map(error_entries) {
            let at = |t: Option<f64>| t.map(utc).unwrap_or_default();
            line(
                &mut out,
                &format!(
                    "{},{},{},{},{},{}",
                    csv_field(&e.method),
                    csv_field(&e.name),
                    csv_field(&e.error),
                    e.occurrences,
                    at(e.first_seen),
                    at(e.last_seen)
                ),
            );
        }
        out
    }

    /// The current or last run's record; before the first run, the journey with nothing in it.
    fn recorded(&self) -> Recorded {
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
fn rows(rec: &Recorded) -> Vec<Row<'_>> {
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
fn error_entries(r: &Row<'_>) -> Vec<ErrorEntry> {
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
struct Latency {
    mean: f64,
    min: f64,
    max: f64,
    median: u64,
}

impl Latency {
    fn of(s: &Stats) -> Latency {
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
fn quantile_ms(s: &Stats, q: f64) -> u64 {
    (s.latency.value_at_quantile(q) as f64 / 1000.0).round() as u64
}

/// Mean body bytes per request, as Locust divides it.
fn content_length(s: &Stats) -> f64 {
    match s.requests() {
        0 => 0.0,
        n => s.bytes as f64 / n as f64,
    }
}

fn merged(slots: &[Stats]) -> Stats {
    let mut total = Stats::default();
    for s in slots {
        total.merge(s);
    }
    total
}

fn epoch(t: std::time::SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `2026-12-04T20:44:10Z`, Locust's `format_utc_timestamp`.
fn utc(secs: f64) -> String {
    let secs = secs as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// One CSV line, ended as Python's `csv` module ends it.
fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push_str("\r\n");
}

/// A field quoted as Python's `csv` module quotes it (when it holds a comma, quote or newline).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_timestamps_read_as_locust_writes_them() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400.5), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_417_050.0), "2026-12-04T20:44:10Z");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("/chat"), "/chat");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
