//! A timeline's output (`scenario run`): each step's Locust table as the step ends, then the
//! summary per step and each step's split changes. Its JSON is the steps' serde form.

use std::io::{self, Write};

use engine::journey::report::table;

use super::hey::split_events;
use super::journey::abandoned;
use crate::scenario::StepReport;

/// Step `i` of `count`, as it ends: its name, and its load's table (nothing for a step without
/// load).
pub fn step(w: &mut dyn Write, i: usize, count: usize, s: &StepReport) -> io::Result<()> {
    writeln!(w, "\n== step {}/{count}: {} ==", i + 1, s.name)?;
    if let Some(r) = &s.report {
        table(w, &r.endpoints, &r.total)?;
        abandoned(w, r)?;
    }
    Ok(())
}

/// After the last step: the summary per step, then each step's split changes.
pub fn text(w: &mut dyn Write, steps: &[StepReport]) -> io::Result<()> {
    writeln!(w, "\nSummary per step:")?;
    summary(w, steps)?;
    for s in steps.iter().filter(|s| !s.split_events.is_empty()) {
        write!(w, "\nStep {:?}:", s.name)?;
        split_events(w, &s.split_events)?;
    }
    Ok(())
}

/// The per-step summary: requests, failures and latency of each step, one line each.
pub fn summary(w: &mut dyn Write, steps: &[StepReport]) -> io::Result<()> {
    writeln!(
        w,
        "{:<28} {:>8} {:>10} {:>8} {:>9} {:>9} {:>9}",
        "step", "secs", "requests", "fail %", "med ms", "p95 ms", "p99 ms"
    )?;
    for s in steps {
        match &s.report {
            Some(r) => {
                let t = &r.total;
                let pct = 100.0 * t.failures as f64 / t.requests.max(1) as f64;
                writeln!(
                    w,
                    "{:<28} {:>8.1} {:>10} {:>8.2} {:>9.1} {:>9.1} {:>9.1}",
                    s.name,
                    r.duration_secs,
                    t.requests,
                    pct,
                    t.latency_ms.median,
                    t.latency_ms.p95,
                    t.latency_ms.p99
                )?;
            }
            None => writeln!(
                w,
                "{:<28} {:>8.1} {:>10}",
                s.name, s.duration_secs, "no load"
            )?,
        }
    }
    Ok(())
}
