//! hey mode's report (and `loadgen merge`'s): hey's summary (same sections and layout, plus
//! p99.9, p99.99 and max, and the corrected/uncorrected pair under `--rate`), the JSON report
//! (schema: `loadgen/schema/report.schema.json`), the HTML page; and the split-change lines
//! every report with a live split prints.

use std::io::{self, Write};

use engine::failure::ErrorKind;
use engine::report::gate::Gate;
use engine::report::stats::StageStats;
use engine::report::{Latency, Report, SplitEvent, TargetReport};

/// hey's percentiles, plus the tail it leaves out.
/// Reads one figure out of a latency summary.
type Figure = fn(&Latency) -> f64;

const QUANTILES: [(&str, Figure); 9] = [
    ("10", |l| l.p10),
    ("25", |l| l.p25),
    ("50", |l| l.p50),
    ("75", |l| l.p75),
    ("90", |l| l.p90),
    ("95", |l| l.p95),
    ("99", |l| l.p99),
    ("99.9", |l| l.p99_9),
    ("99.99", |l| l.p99_99),
];

/// Writes the summary: one block per target when traffic was split, then the whole run, then
/// the SLO gates.
pub fn summary(w: &mut dyn Write, r: &Report, gates: &[Gate]) -> io::Result<()> {
    if r.interrupted {
        let not_sent = if r.not_sent > 0 {
            format!(", {} due requests not sent", r.not_sent)
        } else {
            String::new()
        };
        writeln!(
            w,
            "\nInterrupted: partial report ({} requests abandoned in flight{not_sent}).",
            r.abandoned
        )?;
    } else if r.not_sent > 0 || r.abandoned > 0 {
        writeln!(
            w,
            "\nRun over at the -z bound: {} requests not sent, {} abandoned in flight.",
            r.not_sent, r.abandoned
        )?;
    }
    if r.targets.len() > 1 {
        for t in &r.targets {
            writeln!(
                w,
                "\n=== Target {} ({}, {}) ===",
                t.name,
                t.url.as_deref().unwrap_or("?"),
                weight_text(t, &r.split_events)
            )?;
            target(w, r, t)?;
        }
        writeln!(w, "\n=== All targets ===")?;
    }
    target(w, r, &r.total)?;
    split_events(w, &r.split_events)?;
    if !r.slo.is_empty() {
        writeln!(w, "\nSLO gates:")?;
        for (o, g) in r
            .slo
            .iter()
            .zip(gates.iter().map(Some).chain(std::iter::repeat(None)))
        {
            let fmt = |v: f64| g.map_or(format!("{v}"), |g| g.format_value(v));
            let verdict = if o.held { "held " } else { "BROKE" };
            writeln!(w, "  [{verdict}] {}\t(actual {})", o.gate, fmt(o.actual))?;
        }
    }
    Ok(())
}

/// One target's blocks (or the whole run's), in hey's order.
fn target(w: &mut dyn Write, r: &Report, t: &TargetReport) -> io::Result<()> {
    target_summary(w, r, t)?;
    writeln!(w, "\nResponse time histogram:")?;
    histogram(w, &t.latency)?;
    latency_distribution(w, r, t)?;
    let p = &t.stages;
    writeln!(w, "\nDetails (average, fastest, slowest):")?;
    phase(w, "DNS+dialup", &p.dns_dialup)?;
    phase(w, "DNS-lookup", &p.dns)?;
    phase(w, "req write", &p.req_write)?;
    phase(w, "resp wait", &p.resp_wait)?;
    phase(w, "resp read", &p.resp_read)?;
    outcomes(w, t)
}

/// Under an open-model rate, the service time (from the send) beside a latency counted from
/// the due time; nothing otherwise.
fn uncorrected(open: bool, v: f64) -> String {
    if open {
        format!(" (uncorrected {v:4.4} secs)")
    } else {
        String::new()
    }
}

/// hey's "Summary:" block: total time, slowest, fastest, average, rates and data.
fn target_summary(w: &mut dyn Write, r: &Report, t: &TargetReport) -> io::Result<()> {
    let open = r.pacing.is_open();
    let lat = &t.latency;
    let svc = |v: f64| uncorrected(open, v);
    writeln!(w, "\nSummary:")?;
    writeln!(w, "  Total:\t{:4.4} secs", r.duration_secs)?;
    writeln!(w, "  Slowest:\t{:4.4} secs{}", lat.max, svc(t.service.max))?;
    writeln!(w, "  Fastest:\t{:4.4} secs{}", lat.min, svc(t.service.min))?;
    writeln!(
        w,
        "  Average:\t{:4.4} secs{}",
        lat.mean,
        svc(t.service.mean)
    )?;
    if t.responses == 0 {
        // A rate of failures is not a throughput: say what happened instead.
        writeln!(w, "  Requests/sec:\tnone: no request got an answer")?;
    } else {
        writeln!(w, "  Requests/sec:\t{:4.4}", t.rps)?;
    }
    if t.retries > 0 {
        writeln!(
            w,
            "  Retries:\t{} (resent once on a fresh connection: the server closed a reused one before answering)",
            t.retries
        )?;
    }
    if r.window_secs > 0.0 {
        writeln!(
            w,
            "  Rate window:\t{:4.4} secs ({})",
            r.window_secs,
            r.window.describe()
        )?;
    }
    if let (true, Some(rate)) = (open, r.pacing.rate) {
        writeln!(
            w,
            "  Target rate:\t{rate:4.4} (latency counted from each request's due time)"
        )?;
        writeln!(
            w,
            "  Late sends:\t{} (sent more than {:4.4} secs after due)",
            t.late,
            r.pacing.late_threshold_secs.unwrap_or(0.0)
        )?;
    }
    writeln!(w, "  ")?;
    if t.bytes > 0 {
        writeln!(w, "  Total data:\t{} bytes", t.bytes)?;
        writeln!(w, "  Size/request:\t{} bytes", t.bytes / t.responses.max(1))?;
    }
    Ok(())
}

/// hey's "Latency distribution:" block, with the tail it leaves out.
fn latency_distribution(w: &mut dyn Write, r: &Report, t: &TargetReport) -> io::Result<()> {
    let open = r.pacing.is_open();
    let lat = &t.latency;
    let svc = |v: f64| uncorrected(open, v);
    writeln!(w, "\nLatency distribution:")?;
    if lat.count > 0 {
        for (label, get) in QUANTILES {
            writeln!(
                w,
                "  {label}% in {:4.4} secs{}",
                get(lat),
                svc(get(&t.service))
            )?;
        }
        writeln!(
            w,
            "  100% in {:4.4} secs (max){}",
            lat.max,
            svc(t.service.max)
        )?;
    }
    Ok(())
}

/// The status codes, then the errors, counted.
fn outcomes(w: &mut dyn Write, t: &TargetReport) -> io::Result<()> {
    writeln!(w, "\nStatus code distribution:")?;
    for (code, n) in &t.status_codes {
        writeln!(w, "  [{code}]\t{n} responses")?;
    }
    if !t.errors.is_empty() {
        writeln!(w, "\nError distribution:")?;
        for (kind, n) in &t.errors {
            let label = ErrorKind::from_key(kind).map_or(kind.as_str(), |k| k.label());
            writeln!(w, "  [{n}]\t{label}")?;
        }
    }
    Ok(())
}

fn phase(w: &mut dyn Write, name: &str, p: &StageStats) -> io::Result<()> {
    let s = |us: u64| us as f64 / 1e6;
    writeln!(
        w,
        "  {name}:\t{:4.4} secs, {:4.4} secs, {:4.4} secs",
        p.mean_us() / 1e6,
        s(p.min_or_zero()),
        s(p.max_us)
    )
}

/// hey's response-time histogram: 11 marks evenly spaced from fastest to slowest, each counting
/// the latencies above the previous mark, with a bar scaled to the largest count.
fn histogram(w: &mut dyn Write, lat: &Latency) -> io::Result<()> {
    let buckets = hey_buckets(lat);
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    for (mark, n) in buckets {
        let bar = "■".repeat((n * 40 / max) as usize);
        writeln!(w, "  {mark:4.3} [{n}]\t|{bar}")?;
    }
    Ok(())
}

/// hey's histogram bars: (mark in seconds, count of latencies above the previous mark); none
/// for an empty distribution. The text summary and the HTML report draw the same bars.
pub fn hey_buckets(lat: &Latency) -> Vec<(f64, u64)> {
    let h = &lat.histogram;
    if h.is_empty() {
        return Vec::new();
    }
    let (lo, hi) = (h.min() as f64, h.max() as f64);
    let step = (hi - lo) / 10.0;
    let marks: Vec<f64> = (0..=10)
        .map(|i| {
            if i == 10 {
                hi
            } else {
                lo + step * f64::from(i)
            }
        })
        .collect();
    let mut counts = [0u64; 11];
    for v in h.iter_recorded() {
        let value = h.highest_equivalent(v.value_iterated_to()).min(h.max()) as f64;
        let bucket = marks.iter().position(|m| value <= *m).unwrap_or(10);
        counts[bucket] += v.count_at_value();
    }
    marks.iter().map(|m| m / 1e6).zip(counts).collect()
}

/// A target's weight as the header shows it: the one in force at the end too, when a live
/// change moved it (a rollback leaves the canary at 0, not at the weight it started with).
fn weight_text(t: &TargetReport, events: &[SplitEvent]) -> String {
    // With live changes the split's own weights are the ones in force (the plan's may be
    // written on another scale: 1:1 for 50/50).
    let (first, last) = (events.first(), events.last());
    let start = first
        .and_then(|e| e.weights_before.get(&t.name).copied())
        .or(t.weight)
        .unwrap_or(0);
    match last.and_then(|e| e.weights_after.get(&t.name)) {
        Some(&end) if end != start => format!("weight {start} at the start, {end} at the end"),
        _ => format!("weight {start}"),
    }
}

/// One line per change of the split: when, the weights before and after, and the requests each
/// target got before and after it. Nothing when the split never changed.
pub fn split_events(w: &mut dyn Write, events: &[SplitEvent]) -> io::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    writeln!(w, "\nSplit changes:")?;
    for e in events {
        let weights = e
            .weights_before
            .iter()
            .map(|(name, before)| {
                let after = e.weights_after.get(name).copied().unwrap_or(0);
                format!("{name} {before} -> {after}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let counts = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter()
                .map(|(name, n)| format!("{name} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            w,
            "  at {:.1} s: {weights}; requests before: {}; after: {}",
            e.at_secs,
            counts(&e.requests_before),
            counts(&e.requests_after)
        )?;
    }
    Ok(())
}
