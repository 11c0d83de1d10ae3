//! The page of a timeline (`scenario run --html`): the steps one after another on the charts,
//! each step's start and each split change marked, the phase in force per step.

use engine::report::Latency;

use super::page::{Cell, Chart, Marker, Page, Table, ms};
use super::parts::{histogram_bars, load_charts, split_parts};
use crate::scenario::{StepReport, phase_line};

/// The timeline's HTML report page (`--html`): the steps one after another on the charts, each
/// step's start marked, the phase in force per step.
pub fn page(steps: &[StepReport]) -> Page {
    let mut offset = 0.0;
    let mut charts: Vec<Chart> = Vec::new();
    let mut markers = Vec::new();
    let mut events = Vec::new();
    let mut latency = engine::report::stats::new_histogram();
    let mut rows = Vec::new();
    let (mut requests, mut failures) = (0, 0);
    for (i, s) in steps.iter().enumerate() {
        markers.push(Marker {
            t_secs: offset,
            short: format!("{}", i + 1),
            label: format!("step {}: {}", i + 1, s.name),
        });
        events.extend(s.split_events.iter().cloned());
        rows.push(step_row(i, s));
        match &s.report {
            Some(r) => {
                requests += r.total.requests;
                failures += r.total.failures;
                if let Some(h) = &r.latency {
                    let _ = latency.add(h);
                }
                append_charts(&mut charts, load_charts(&r.series, offset));
                offset += r.duration_secs;
            }
            None => offset += s.duration_secs,
        }
    }
    let (split_markers, split_table) = split_parts(&events);
    markers.extend(split_markers);
    let mut tables = vec![Table {
        title: "Steps".into(),
        columns: [
            "#",
            "step",
            "phase in force",
            "users",
            "requests",
            "failures",
            "median ms",
            "p95 ms",
            "p99 ms",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }];
    tables.extend(split_table);
    Page {
        title: "loadgen scenario report".into(),
        subtitle: format!("{} steps, {offset:.1} s", steps.len()),
        stats: vec![
            ("steps".into(), steps.len().to_string()),
            ("requests".into(), requests.to_string()),
            ("failures".into(), failures.to_string()),
            ("duration".into(), format!("{offset:.1} s")),
        ],
        notices: Vec::new(),
        charts,
        markers,
        histogram: if latency.is_empty() {
            Vec::new()
        } else {
            histogram_bars(&Latency::from_histogram(latency))
        },
        tables,
    }
}

/// Step `i`'s row of the steps table: its phase document on one line, as the timeline wrote
/// it, and its load's figures ("no load" for a step without).
fn step_row(i: usize, s: &StepReport) -> Vec<Cell> {
    let phase = s
        .phase
        .as_deref()
        .map(phase_line)
        .unwrap_or_else(|| "(unchanged)".into());
    let mut row = vec![
        Cell::num(i + 1),
        Cell::text(&s.name),
        Cell::text(phase),
        Cell::num(s.load.users),
    ];
    match &s.report {
        Some(r) => {
            let t = &r.total;
            row.extend([
                Cell::num(t.requests),
                Cell::num(format!(
                    "{:.2}%",
                    100.0 * t.failures as f64 / t.requests.max(1) as f64
                )),
                Cell::num(ms(t.latency_ms.median)),
                Cell::num(ms(t.latency_ms.p95)),
                Cell::num(ms(t.latency_ms.p99)),
            ]);
        }
        None => row.push(Cell::text("no load")),
    }
    row
}

/// Appends a step's charts to the timeline's, chart by chart and series by series.
fn append_charts(charts: &mut Vec<Chart>, step: Vec<Chart>) {
    for (k, c) in step.into_iter().enumerate() {
        match charts.get_mut(k) {
            Some(acc) => {
                acc.t_secs.extend(c.t_secs);
                for (a, b) in acc.series.iter_mut().zip(c.series) {
                    a.values.extend(b.values);
                }
            }
            None => charts.push(c),
        }
    }
}
