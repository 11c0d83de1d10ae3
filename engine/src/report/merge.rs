//! `loadgen merge`: combines the JSON reports of shards that ran side by side into one report.
//! Exact, because every latency summary carries its histogram: the merged percentiles are those
//! of all requests together, not an average of percentiles.

use std::collections::BTreeMap;
use std::path::Path;

use crate::report::{Latency, Report, SCHEMA_VERSION, TargetReport};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a loadgen JSON report: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "{path} has report schema version {found}; this loadgen reads version {SCHEMA_VERSION}"
    )]
    Version { path: String, found: u32 },
    #[error(
        "{path} holds run {run_id}, which is already among the reports to merge: a run given twice would count twice"
    )]
    Duplicate { path: String, run_id: String },
    #[error("{0}")]
    Histogram(String),
    #[error(
        "{path} has no run_id: without one a run given twice cannot be told apart (reports of loadgens before run ids cannot be merged)"
    )]
    NoRunId { path: String },
    #[error("{path} is inconsistent, so it was not written by loadgen as it is: {what}")]
    Inconsistent { path: String, what: String },
    #[error("the merged {what} of {target} exceeds 2^64-1")]
    Overflow { target: String, what: &'static str },
}

/// Reads and merges report files.
pub fn merge_files(paths: &[impl AsRef<Path>]) -> Result<Report, MergeError> {
    let mut reports = Vec::with_capacity(paths.len());
    for p in paths {
        let path = p.as_ref().display().to_string();
        let text = scenarios::read_text(p.as_ref(), scenarios::REPORT_LIMIT).map_err(|source| {
            MergeError::Read {
                path: path.clone(),
                source,
            }
        })?;
        let r: Report = scenarios::json::from_str(&text).map_err(|source| MergeError::Parse {
            path: path.clone(),
            source,
        })?;
        if r.schema_version != SCHEMA_VERSION {
            return Err(MergeError::Version {
                path,
                found: r.schema_version,
            });
        }
        if run_ids(&r).next().is_none() {
            return Err(MergeError::NoRunId { path });
        }
        for t in std::iter::once(&r.total).chain(&r.targets) {
            consistent(t).map_err(|what| MergeError::Inconsistent {
                path: path.clone(),
                what: format!("{}: {what}", t.name),
            })?;
        }
        for id in run_ids(&r) {
            if reports
                .iter()
                .any(|seen: &Report| run_ids(seen).any(|s| s == id))
            {
                return Err(MergeError::Duplicate {
                    path,
                    run_id: id.to_owned(),
                });
            }
        }
        reports.push(r);
    }
    merge(reports)
}

/// The runs a report covers (a merged report covers several); none for reports of older
/// loadgens, which had no id.
fn run_ids(r: &Report) -> impl Iterator<Item = &str> {
    r.run_id.split('+').filter(|id| !id.is_empty())
}

/// Merges reports of shards that ran at the same time: counts add, histograms add (per target:
/// the same name and URL), the duration
/// and the rate window are the longest shard's, and rates are recomputed over the window.
pub fn merge(reports: Vec<Report>) -> Result<Report, MergeError> {
    let mut it = reports.into_iter();
    let Some(mut acc) = it.next() else {
        return Err(MergeError::Histogram("nothing to merge".into()));
    };
    for r in it {
        acc.duration_secs = acc.duration_secs.max(r.duration_secs);
        acc.interrupted |= r.interrupted;
        let over = |what| MergeError::Overflow {
            target: "the run".into(),
            what,
        };
        acc.abandoned =
            (acc.abandoned.checked_add(r.abandoned)).ok_or_else(|| over("abandoned"))?;
        acc.not_sent = (acc.not_sent.checked_add(r.not_sent)).ok_or_else(|| over("not_sent"))?;
        if r.window_secs > acc.window_secs {
            acc.window_secs = r.window_secs;
            acc.window = r.window;
        }
        acc.peak_rss_kib = acc.peak_rss_kib.max(r.peak_rss_kib);
        if let (Some(a), Some(b)) = (acc.pacing.rate, r.pacing.rate) {
            if acc.pacing.is_open() && r.pacing.is_open() {
                acc.pacing.rate = Some(a + b);
            }
        }
        acc.run_id = [acc.run_id.as_str(), r.run_id.as_str()]
            .iter()
            .filter(|id| !id.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("+");
        // Each shard changed its own split; its events stay as it recorded them.
        acc.split_events.extend(r.split_events);
        add(&mut acc.total, r.total)?;
        // A target is its name and URL: reports of other URLs (a /login run beside a
        // /startup run) stay separate targets rather than being counted as the first's.
        for t in r.targets {
            match acc
                .targets
                .iter_mut()
                .find(|a| a.name == t.name && a.url == t.url)
            {
                Some(a) => add(a, t)?,
                None => acc.targets.push(t),
            }
        }
    }
    // Gates were judged per shard; the merged report is judged again by whoever reads it.
    acc.slo.clear();
    // Older reports have no window: their rate was over the duration.
    let secs = if acc.window_secs > 0.0 {
        acc.window_secs
    } else {
        acc.duration_secs
    };
    for t in std::iter::once(&mut acc.total).chain(acc.targets.iter_mut()) {
        t.rps = if secs > 0.0 {
            t.requests as f64 / secs
        } else {
            0.0
        };
        let bad: u64 = t
            .status_codes
            .iter()
            .filter(|(c, _)| c.parse::<u16>().is_ok_and(|c| c >= 400))
            .map(|(_, n)| n)
            .sum();
        t.error_rate = if t.requests == 0 {
            0.0
        } else {
            (t.failures + bad) as f64 / t.requests as f64
        };
    }
    Ok(acc)
}

/// The counts a report of loadgen's always agree on; a file that breaks one was edited or
/// damaged, and merging it would spread the damage into every figure.
fn consistent(t: &TargetReport) -> Result<(), String> {
    let sum = |m: &BTreeMap<String, u64>| m.values().try_fold(0u64, |a, n| a.checked_add(*n));
    let responses = sum(&t.status_codes).ok_or("its status counts overflow")?;
    let failures = sum(&t.errors).ok_or("its error counts overflow")?;
    if responses != t.responses {
        return Err(format!(
            "responses is {} but its status counts add to {responses}",
            t.responses
        ));
    }
    if failures != t.failures {
        return Err(format!(
            "failures is {} but its error counts add to {failures}",
            t.failures
        ));
    }
    if t.responses.checked_add(t.failures) != Some(t.requests) {
        return Err(format!(
            "requests is {} but responses + failures is {} + {}",
            t.requests, t.responses, t.failures
        ));
    }
    if t.latency.histogram.len() != t.responses || t.latency.count != t.responses {
        return Err(format!(
            "its latency histogram counts {} responses, not {}",
            t.latency.histogram.len(),
            t.responses
        ));
    }
    if !(0.0..=1.0).contains(&t.error_rate) {
        return Err(format!(
            "error_rate {} is not between 0 and 1",
            t.error_rate
        ));
    }
    Ok(())
}

fn add(a: &mut TargetReport, b: TargetReport) -> Result<(), MergeError> {
    let target = a.name.clone();
    let sum = |x: u64, y: u64, what: &'static str| {
        x.checked_add(y).ok_or_else(|| MergeError::Overflow {
            target: target.clone(),
            what,
        })
    };
    a.requests = sum(a.requests, b.requests, "requests")?;
    a.responses = sum(a.responses, b.responses, "responses")?;
    a.failures = sum(a.failures, b.failures, "failures")?;
    a.bytes = sum(a.bytes, b.bytes, "bytes")?;
    a.late = sum(a.late, b.late, "late count")?;
    a.retries = sum(a.retries, b.retries, "retries")?;
    for (into, from, what) in [
        (&mut a.status_codes, b.status_codes, "status count"),
        (&mut a.errors, b.errors, "error count"),
    ] {
        for (k, n) in from {
            let slot = into.entry(k).or_default();
            *slot = sum(*slot, n, what)?;
        }
    }
    a.latency = add_latency(&a.latency, &b.latency)?;
    a.service = add_latency(&a.service, &b.service)?;
    a.stages.merge(&b.stages);
    Ok(())
}

fn add_latency(a: &Latency, b: &Latency) -> Result<Latency, MergeError> {
    let mut h = a.histogram.clone();
    h.add(&b.histogram)
        .map_err(|e| MergeError::Histogram(format!("cannot add histograms: {e:?}")))?;
    Ok(Latency::from_histogram(h))
}
