//! A journey run's report, built from the recorder's slots: per endpoint and in total, requests,
//! failures by kind, median / p95 / p99 / mean, rates (its JSON schema:
//! `schema/journey-report.schema.json`). Also Locust's console table, which the engine prints
//! live while users run; loadgen's `output` layer renders the finished report (text, JSON,
//! CSV, HTML) and prints the same table in it, so the two never drift apart.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::journey::spec::Journey;
use crate::report::SplitEvent;
use crate::report::stats::Stats;

/// 2: each endpoint says what it `abandoned`.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JourneyReport {
    pub schema_version: u32,
    /// Seconds from the start of the run to the last user's end.
    pub duration_secs: f64,
    pub users: usize,
    /// Cut short by Ctrl-C.
    pub interrupted: bool,
    /// Requests abandoned in flight when the stop's grace period ran out (each endpoint's
    /// `abandoned` together).
    pub abandoned: u64,
    /// Tasks started, by task name.
    pub tasks: BTreeMap<String, u64>,
    /// One entry per target and endpoint that sent at least one request (answered or not).
    pub endpoints: Vec<EndpointReport>,
    /// Every endpoint together (Locust's "Aggregated").
    pub total: EndpointReport,
    /// Peak resident memory of the process (Linux VmHWM), when known.
    pub peak_rss_kib: Option<u64>,
    /// Changes of the split while the run went on; absent if none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_events: Vec<SplitEvent>,
    /// The users reached and each change of them (`--web`'s edits); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_story: Option<UsersStory>,
    /// The run second by second, when it was recorded (`--html`); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<crate::report::series::Point>,
    /// Every response's latency in one histogram, for the HTML report (not in the JSON).
    #[serde(skip)]
    pub latency: Option<hdrhistogram::Histogram<u64>>,
}

/// How the users moved in a run whose user count was edited while it went on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersStory {
    /// The most users that ran at once.
    pub reached: usize,
    pub edits: Vec<UsersEdit>,
}

/// One change of the users' target: when (seconds from the start), from how many, to how many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UsersEdit {
    pub at_secs: f64,
    pub from: usize,
    pub to: usize,
}

/// A `--rate` the users could not give: tasks per second asked for, and reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateShortfall {
    pub asked: f64,
    pub reached: f64,
}

impl JourneyReport {
    /// Whether a run paced at `pacing` by `users` users, started `spawn_rate` a second, fell
    /// short of its rate. The rate it should reach counts the ramp-up: user i starts at
    /// i / spawn_rate and then starts its share of tasks evenly, so over a run of D seconds the
    /// users together start r·(D − (users − 1) / (2·spawn_rate)) tasks. Falling under 90% of
    /// that is a shortfall worth a warning (a run that ended early by Ctrl-C is not judged).
    pub fn rate_shortfall(
        &self,
        pacing: crate::journey::plan::TaskPacing,
        users: usize,
        spawn_rate: f64,
    ) -> Option<RateShortfall> {
        let crate::journey::plan::TaskPacing::Rate(asked) = pacing else {
            return None;
        };
        let secs = self.duration_secs;
        if self.interrupted || secs <= 0.0 {
            return None;
        }
        let ramp = if spawn_rate.is_finite() && spawn_rate > 0.0 {
            users.saturating_sub(1) as f64 / (2.0 * spawn_rate)
        } else {
            0.0
        };
        let expected = asked * (1.0 - ramp / secs).max(0.0);
        let reached = self.tasks.values().sum::<u64>() as f64 / secs;
        (reached < 0.9 * expected).then_some(RateShortfall { asked, reached })
    }

    /// No request got an HTTP answer of any status: the service is down or unreachable, which
    /// every mode reports as a failed run (exit 1), so CI never passes against a dead host.
    pub fn nothing_answered(&self) -> bool {
        self.total.latency_ms.count == 0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointReport {
    pub target: String,
    /// The request's `name` in the journey ("POST /chat" unless named); "Aggregated" in total.
    pub name: String,
    pub requests: u64,
    /// Responses with status >= 400 plus requests with no response.
    pub failures: u64,
    /// By kind: `http_<status>` or the transport error (`reset`, `timeout`, ...).
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Requests sent and abandoned in flight at the end, in no other count here: the server
    /// counted them, so `requests + abandoned` is what it saw.
    #[serde(default)]
    pub abandoned: u64,
    /// Requests per second over the period reported.
    pub rps: f64,
    pub failures_per_sec: f64,
    /// Latency of requests that got a response, in milliseconds.
    pub latency_ms: LatencyMs,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct LatencyMs {
    pub count: u64,
    pub mean: f64,
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl LatencyMs {
    fn of(s: &Stats) -> LatencyMs {
        let h = &s.latency;
        if h.is_empty() {
            return LatencyMs::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        LatencyMs {
            count: h.len(),
            mean: h.mean() / 1000.0,
            min: ms(h.min()),
            median: ms(h.value_at_quantile(0.5)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

/// The report of `slots` (indexed as the recorder's) over `secs` seconds; `prev` (an earlier
/// snapshot) makes the rates those of the interval since it, for the live table.
pub fn build(
    journey: &Journey,
    target_names: &[String],
    slots: &[Stats],
    prev: Option<&[Stats]>,
    secs: f64,
) -> (Vec<EndpointReport>, EndpointReport) {
    let n = journey.endpoints.len();
    let secs = secs.max(1e-9);
    let mut total = Stats::default();
    let mut total_prev = (0u64, 0u64);
    let mut out = Vec::new();
    for (i, s) in slots.iter().enumerate() {
        total.merge(s);
        let (pr, pf) = prev.map_or((0, 0), |p| (p[i].requests(), p[i].failed_requests()));
        total_prev.0 += pr;
        total_prev.1 += pf;
        if s.requests() == 0 && s.abandoned == 0 {
            continue;
        }
        out.push(entry(
            &target_names[i / n],
            &journey.endpoints[i % n].name,
            s,
            (pr, pf),
            secs,
        ));
    }
    let total = entry("", "Aggregated", &total, total_prev, secs);
    (out, total)
}

fn entry(target: &str, name: &str, s: &Stats, prev: (u64, u64), secs: f64) -> EndpointReport {
    let (requests, failures) = (s.requests(), s.failed_requests());
    EndpointReport {
        target: target.to_owned(),
        name: name.to_owned(),
        requests,
        failures,
        failures_by_kind: s.failure_kinds().into_iter().collect(),
        abandoned: s.abandoned,
        rps: (requests - prev.0.min(requests)) as f64 / secs,
        failures_per_sec: (failures - prev.1.min(failures)) as f64 / secs,
        latency_ms: LatencyMs::of(s),
    }
}

/// Locust's console table: one row per endpoint, then the aggregate. The live table and the
/// final report's both come from here.
pub fn table(
    w: &mut dyn Write,
    endpoints: &[EndpointReport],
    total: &EndpointReport,
) -> io::Result<()> {
    let several = endpoints.iter().any(|e| e.target != endpoints[0].target);
    let label = |e: &EndpointReport| {
        if several && !e.target.is_empty() {
            format!("{}: {}", e.target, e.name)
        } else {
            e.name.clone()
        }
    };
    let width = endpoints
        .iter()
        .map(|e| label(e).len())
        .max()
        .unwrap_or(0)
        .max(10);
    writeln!(
        w,
        "{:<width$} {:>8} {:>14} | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>10}",
        "Name", "# reqs", "# fails", "Med ms", "95% ms", "99% ms", "Avg ms", "req/s", "failures/s"
    )?;
    writeln!(w, "{}", "-".repeat(width + 94))?;
    for e in endpoints.iter().chain(std::iter::once(total)) {
        if std::ptr::eq(e, total) {
            writeln!(w, "{}", "-".repeat(width + 94))?;
        }
        let pct = if e.requests == 0 {
            0.0
        } else {
            100.0 * e.failures as f64 / e.requests as f64
        };
        let l = &e.latency_ms;
        writeln!(
            w,
            "{:<width$} {:>8} {:>6}({:>5.2}%) | {:>8.1} {:>8.1} {:>8.1} {:>8.1} | {:>8.2} {:>10.2}",
            label(e),
            e.requests,
            e.failures,
            pct,
            l.median,
            l.p95,
            l.p99,
            l.mean,
            e.rps,
            e.failures_per_sec
        )?;
    }
    Ok(())
}
