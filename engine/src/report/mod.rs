//! The result of a run, separate from how it is shown: built from the workers' merged `Stats`,
//! serialised as the JSON report (schema: `schema/report.schema.json`), rendered as text by
//! `render`, and merged across shards by `merge`.
//!
//! Each latency summary carries its full histogram (HdrHistogram V2 serialisation, base64), so
//! shard reports combine exactly.

pub mod gate;
pub mod merge;
pub mod series;
pub mod stats;

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::failure::ErrorKind;
use crate::plan::Pacing;
use crate::report::series::Point;
use crate::report::stats::{Stages, Stats};

/// Version of the JSON layout; bump on incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// A random id per run, so `merge` can refuse a run given twice; a merged report carries
    /// its parts' ids joined by `+`. Empty in reports of older loadgens.
    #[serde(default)]
    pub run_id: String,
    /// Wall time from the first scheduled request to the last completion, in seconds.
    pub duration_secs: f64,
    /// What bounds the window that `rps` is counted over.
    #[serde(default)]
    pub window: RateWindow,
    /// The window `rps` is counted over, in seconds (0 in reports of older loadgens: then
    /// `duration_secs`).
    #[serde(default)]
    pub window_secs: f64,
    pub pacing: PacingReport,
    /// The run was cut short by Ctrl-C or SIGTERM; the figures cover what completed.
    pub interrupted: bool,
    /// Requests abandoned in flight when the grace period after the `-z` bound or an interrupt
    /// ran out.
    pub abandoned: u64,
    /// Under `--rate`: requests due before the run ended but not sent by then ("not sent, run
    /// over"): the server could not keep up with the rate.
    #[serde(default)]
    pub not_sent: u64,
    pub total: TargetReport,
    pub targets: Vec<TargetReport>,
    pub slo: Vec<GateOutcome>,
    /// Peak resident memory of the process (Linux VmHWM), when known.
    pub peak_rss_kib: Option<u64>,
    /// Changes of the split while the run went on (`--web`'s pages); absent if none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_events: Vec<SplitEvent>,
    /// The run second by second, when it was recorded (`--html`); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Point>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PacingReport {
    pub mode: PacingMode,
    /// Requests per second asked for: per worker for "per_worker", in total for "open".
    pub rate: Option<f64>,
    /// A request sent later than this after its due time counts as late ("open" only).
    pub late_threshold_secs: Option<f64>,
}

/// What ends the window `rps` is counted over: the latest of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateWindow {
    /// The last answer (hey's "Total"): runs with `-n` and no pacing.
    #[default]
    LastAnswer,
    /// The `-z` bound.
    Bound,
    /// The end of the last `-q`/`--rate` slot that was sent.
    PacingSlot,
}

impl RateWindow {
    pub fn describe(self) -> &'static str {
        match self {
            RateWindow::LastAnswer => "to the last answer",
            RateWindow::Bound => "the -z bound",
            RateWindow::PacingSlot => "to the end of the last -q/--rate slot",
        }
    }
}

/// A gate judged against a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateOutcome {
    pub gate: String,
    /// The measured value, in the gate's base unit.
    pub actual: f64,
    pub threshold: f64,
    pub held: bool,
}

/// One change of the split, as the reports show it. Request counts are by pick: a request
/// counts for the split it was routed by, even if it completed after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitEvent {
    /// Seconds from the start of the run to the change.
    pub at_secs: f64,
    pub weights_before: BTreeMap<String, u32>,
    pub weights_after: BTreeMap<String, u32>,
    /// Requests routed to each target before this change (since the start of the run).
    pub requests_before: BTreeMap<String, u64>,
    /// Requests routed to each target after this change (to the end of the run, or so far).
    pub requests_after: BTreeMap<String, u64>,
}

/// How requests were paced; serialised as "closed", "per_worker" or "open".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacingMode {
    Closed,
    PerWorker,
    Open,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetReport {
    /// Target name; "total" for the whole run.
    pub name: String,
    pub url: Option<String>,
    pub weight: Option<u32>,
    /// Responses plus failures.
    pub requests: u64,
    pub responses: u64,
    /// Requests that got no response, by kind.
    pub failures: u64,
    /// (failures + responses with status >= 400) / requests.
    pub error_rate: f64,
    /// Requests completed per second of the run's window (`Report::window_secs`).
    pub rps: f64,
    pub bytes: u64,
    /// Requests not sent on schedule (see `pacing.late_threshold_secs`).
    pub late: u64,
    /// Requests resent once on a fresh connection because the server closed their reused
    /// keep-alive connection before any byte of the answer (idempotent methods only).
    #[serde(default)]
    pub retries: u64,
    /// From due time: corrected for coordinated omission under an open-model rate.
    pub latency: Latency,
    /// From send time: the uncorrected service time.
    pub service: Latency,
    pub status_codes: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    /// Kept as "phases" in JSON: the report format predates the name.
    #[serde(rename = "phases")]
    pub stages: Stages,
}

/// A latency distribution: headline figures in seconds, plus the histogram they came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    pub p10: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub p99_99: f64,
    /// HdrHistogram V2 serialisation in base64, values in microseconds.
    #[serde(with = "histogram_b64")]
    pub histogram: Histogram<u64>,
}

impl Latency {
    pub fn from_histogram(h: Histogram<u64>) -> Latency {
        let secs = |us: u64| us as f64 / 1e6;
        let q = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                secs(h.value_at_quantile(q))
            }
        };
        Latency {
            count: h.len(),
            min: if h.is_empty() { 0.0 } else { secs(h.min()) },
            mean: if h.is_empty() { 0.0 } else { h.mean() / 1e6 },
            max: secs(h.max()),
            p10: q(0.10),
            p25: q(0.25),
            p50: q(0.50),
            p75: q(0.75),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            p99_9: q(0.999),
            p99_99: q(0.9999),
            histogram: h,
        }
    }
}

impl TargetReport {
    pub fn from_stats(
        name: &str,
        url: Option<String>,
        weight: Option<u32>,
        s: Stats,
        secs: f64,
    ) -> TargetReport {
        let responses = s.responses();
        let failures = s.failures();
        let requests = responses + failures;
        let bad_status: u64 = s.status[400..].iter().sum();
        let status_codes = s
            .status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| (code.to_string(), *n))
            .collect();
        let errors = ErrorKind::ALL
            .iter()
            .filter(|k| s.errors[k.index()] > 0)
            .map(|k| (k.key().to_string(), s.errors[k.index()]))
            .collect();
        TargetReport {
            name: name.to_string(),
            url,
            weight,
            requests,
            responses,
            failures,
            error_rate: if requests == 0 {
                0.0
            } else {
                (failures + bad_status) as f64 / requests as f64
            },
            rps: if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            },
            bytes: s.bytes,
            late: s.late,
            retries: s.retries,
            service: Latency::from_histogram(s.service_or_latency().clone()),
            latency: Latency::from_histogram(s.latency),
            status_codes,
            errors,
            stages: s.stages,
        }
    }
}

impl PacingReport {
    pub fn new(p: Pacing) -> PacingReport {
        let late = crate::plan::late_threshold(p).map(|d| d.as_secs_f64());
        match p {
            Pacing::Closed => PacingReport {
                mode: PacingMode::Closed,
                rate: None,
                late_threshold_secs: late,
            },
            Pacing::PerWorker { qps } => PacingReport {
                mode: PacingMode::PerWorker,
                rate: Some(qps),
                late_threshold_secs: late,
            },
            Pacing::Open { rate } => PacingReport {
                mode: PacingMode::Open,
                rate: Some(rate),
                late_threshold_secs: late,
            },
        }
    }

    pub fn is_open(&self) -> bool {
        self.mode == PacingMode::Open
    }
}

/// Peak resident set size of this process, from /proc (Linux only).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

mod histogram_b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hdrhistogram::Histogram;
    use hdrhistogram::serialization::{Deserializer as HdrDe, Serializer as _, V2Serializer};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

    pub fn serialize<S: Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        V2Serializer::new()
            .serialize(h, &mut buf)
            .map_err(|e| S::Error::custom(format!("{e:?}")))?;
        s.serialize_str(&STANDARD.encode(buf))
    }

    /// HdrHistogram's V2 header: cookie, payload length, offset, digits, lowest, highest, ratio.
    const HEADER: usize = 40;
    /// Counts array bound: 64 buckets of half a sub-bucket each, 8 bytes per count. loadgen's
    /// 3-digit histograms stay under 1 MiB; 16 MiB leaves room for 4 digits.
    const MAX_COUNTS_BYTES: u64 = 16 << 20;

    /// Checks what the header declares before the deserializer allocates it: a 3.6 KB report
    /// claiming a 4 GiB payload would otherwise be allocated first and refused after.
    fn check_header(bytes: &[u8]) -> Result<(), String> {
        let be32 = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        if bytes.len() < HEADER {
            return Err(format!(
                "histogram is {} bytes, shorter than its header",
                bytes.len()
            ));
        }
        // Only the plain V2 form loadgen writes: a compressed one would hide its real header.
        if be32(0) != 0x1c84_9313 {
            return Err("histogram is not an uncompressed HdrHistogram V2 serialisation".into());
        }
        let payload = u64::from(be32(4));
        let present = (bytes.len() - HEADER) as u64;
        if payload != present {
            return Err(format!(
                "histogram declares a {payload}-byte payload but carries {present} bytes"
            ));
        }
        let digits = be32(12);
        if digits > 5 {
            return Err(format!(
                "histogram declares {digits} significant digits (at most 5)"
            ));
        }
        let sub_buckets = (2 * 10u64.pow(digits)).next_power_of_two();
        let counts_bytes = 64 * (sub_buckets / 2) * 8;
        if counts_bytes > MAX_COUNTS_BYTES {
            return Err(format!(
                "histogram declares {digits} significant digits: up to {} MiB of counts, over the {} MiB bound",
                counts_bytes >> 20,
                MAX_COUNTS_BYTES >> 20
            ));
        }
        Ok(())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD.decode(text).map_err(D::Error::custom)?;
        check_header(&bytes).map_err(D::Error::custom)?;
        let mut h: Histogram<u64> = HdrDe::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| D::Error::custom(format!("{e:?}")))?;
        // Deserialised histograms come back fixed-size; merging needs them to grow.
        h.auto(true);
        Ok(h)
    }
}

/// A fresh run id: 128 random bits in hex.
pub fn new_run_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}
