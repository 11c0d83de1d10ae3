//! A journey's finished report: the Locust-style text (the table, tasks started, failures by
//! kind), Locust's stats CSV, the JSON report (schema: `loadgen/schema/journey-report.schema.json`)
//! and the HTML page. The table itself is the engine's (`engine::journey::report::table`),
//! the one the live run prints every `--stats-interval`.

use std::io::{self, Write};

use engine::journey::report::{JourneyReport, table};

/// The final report as text: the table, tasks started, and failures by kind.
pub fn text(w: &mut dyn Write, r: &JourneyReport) -> io::Result<()> {
    writeln!(
        w,
        "Journey report: {} users, {:.1} s{}",
        r.users,
        r.duration_secs,
        if r.interrupted { " (interrupted)" } else { "" }
    )?;
    if let Some(line) = users_line(r) {
        writeln!(w, "{line}")?;
    }
    table(w, &r.endpoints, &r.total)?;
    abandoned(w, r)?;
    writeln!(w, "\nTasks started:")?;
    for (name, n) in &r.tasks {
        writeln!(w, "  {name}: {n}")?;
    }
    if r.total.failures > 0 {
        writeln!(w, "\nFailures:")?;
        for e in &r.endpoints {
            for (kind, n) in &e.failures_by_kind {
                writeln!(w, "  {n:>8}  {}  {kind}", e.name)?;
            }
        }
    }
    super::hey::split_events(w, &r.split_events)
}

/// How the users moved, for a run whose users were edited while it went on: `Users: 3 -> 30
/// at 40.0 s; 30 reached.`; `None` for a run whose users never changed.
pub fn users_line(r: &JourneyReport) -> Option<String> {
    let story = r.users_story.as_ref()?;
    let edits: Vec<String> = story
        .edits
        .iter()
        .map(|e| format!("{} -> {} at {:.1} s", e.from, e.to, e.at_secs))
        .collect();
    Some(format!(
        "Users: {}; {} reached.",
        edits.join(", "),
        story.reached
    ))
}

/// Requests still in flight when the run's end (or Ctrl-C) and its grace ran out: sent, so the
/// server counts them, but in no row of the table. Said, with the endpoints they were for, so
/// that each row can be reconciled with the server's counter for it.
pub fn abandoned(w: &mut dyn Write, r: &JourneyReport) -> io::Result<()> {
    let Some(line) = abandoned_line(r.abandoned) else {
        return Ok(());
    };
    writeln!(w, "\n{line}")?;
    let by: Vec<String> = r
        .endpoints
        .iter()
        .filter(|e| e.abandoned > 0)
        .map(|e| format!("{} {}", label(r, e), e.abandoned))
        .collect();
    if !by.is_empty() {
        writeln!(w, "Abandoned by endpoint: {}.", by.join(", "))?;
    }
    Ok(())
}

/// An entry's name, with its target when the report has several (as the table labels rows).
pub fn label(r: &JourneyReport, e: &engine::journey::report::EndpointReport) -> String {
    let several = r.endpoints.iter().any(|x| x.target != e.target);
    if several {
        format!("{}: {}", e.target, e.name)
    } else {
        e.name.clone()
    }
}

/// [`abandoned`]'s sentence, for the HTML report's notices too; `None` when nothing was.
pub fn abandoned_line(n: u64) -> Option<String> {
    match n {
        0 => None,
        1 => Some(
            "1 request in flight at the end was abandoned; the server counted it (it is in no row above)."
                .into(),
        ),
        n => Some(format!(
            "{n} requests in flight at the end were abandoned; the server counted them (they are in no row above)."
        )),
    }
}

/// Locust's stats CSV columns (milliseconds), one row per endpoint, then "Aggregated".
pub fn csv(w: &mut dyn Write, r: &JourneyReport) -> io::Result<()> {
    writeln!(
        w,
        "Target,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Requests/s,Failures/s,95%,99%"
    )?;
    for e in r.endpoints.iter().chain(std::iter::once(&r.total)) {
        let l = &e.latency_ms;
        writeln!(
            w,
            "{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.4},{:.4},{:.3},{:.3}",
            csv_field(&e.target),
            csv_field(&e.name),
            e.requests,
            e.failures,
            l.median,
            l.mean,
            l.min,
            l.max,
            e.rps,
            e.failures_per_sec,
            l.p95,
            l.p99
        )?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
