//! The page of a journey run (`journey --html`, and the swarm page's `/report.html`): the
//! load's charts, requests by endpoint, tasks started, failures, split changes.

use engine::journey::report::JourneyReport;
use engine::report::Latency;

use super::page::{Cell, Notice, Page, Table, ms};
use super::parts::{histogram_bars, interrupted_notice, load_charts, split_parts};

/// The journey's HTML report page (`--html`).
pub fn page(r: &JourneyReport) -> Page {
    let t = &r.total;
    let (markers, split_table) = split_parts(&r.split_events);
    let mut tables = vec![endpoints_table(r), tasks_table(r), failures_table(r)];
    tables.extend(split_table);
    let mut notices = Vec::new();
    if r.interrupted {
        notices.push(interrupted_notice(r.abandoned));
    } else if let Some(text) = crate::output::journey::abandoned_line(r.abandoned) {
        // The run's end cut requests short, as a Ctrl-C does: the server counted them.
        notices.push(Notice { text, good: None });
    }
    if let Some(line) = crate::output::journey::users_line(r) {
        notices.push(Notice {
            text: line,
            good: None,
        });
    }
    Page {
        title: "loadgen journey report".into(),
        subtitle: format!("{} simulated users, {:.1} s", r.users, r.duration_secs),
        stats: vec![
            ("users".into(), r.users.to_string()),
            ("requests".into(), t.requests.to_string()),
            ("failures".into(), t.failures.to_string()),
            ("req/s".into(), format!("{:.2}", t.rps)),
            ("median".into(), format!("{} ms", ms(t.latency_ms.median))),
            ("p95".into(), format!("{} ms", ms(t.latency_ms.p95))),
            ("p99".into(), format!("{} ms", ms(t.latency_ms.p99))),
            ("duration".into(), format!("{:.1} s", r.duration_secs)),
        ],
        notices,
        charts: load_charts(&r.series, 0.0),
        markers,
        histogram: r
            .latency
            .clone()
            .map(|h| histogram_bars(&Latency::from_histogram(h)))
            .unwrap_or_default(),
        tables,
    }
}

/// One row per target and endpoint, then the total.
fn endpoints_table(r: &JourneyReport) -> Table {
    Table {
        title: "Requests by endpoint".into(),
        columns: [
            "target",
            "endpoint",
            "requests",
            "failures",
            "req/s",
            "median ms",
            "p95 ms",
            "p99 ms",
            "max ms",
        ]
        .map(String::from)
        .to_vec(),
        rows: r
            .endpoints
            .iter()
            .chain(std::iter::once(&r.total))
            .map(|e| {
                vec![
                    Cell::text(&e.target),
                    Cell::text(&e.name),
                    Cell::num(e.requests),
                    Cell::num(e.failures),
                    Cell::num(format!("{:.2}", e.rps)),
                    Cell::num(ms(e.latency_ms.median)),
                    Cell::num(ms(e.latency_ms.p95)),
                    Cell::num(ms(e.latency_ms.p99)),
                    Cell::num(ms(e.latency_ms.max)),
                ]
            })
            .collect(),
    }
}

/// How often each task was started.
fn tasks_table(r: &JourneyReport) -> Table {
    Table {
        title: "Tasks started".into(),
        columns: vec!["task".into(), "started".into()],
        rows: r
            .tasks
            .iter()
            .map(|(name, n)| vec![Cell::text(name), Cell::num(n)])
            .collect(),
    }
}

/// Each endpoint's failures, by kind.
fn failures_table(r: &JourneyReport) -> Table {
    Table {
        title: "Failures".into(),
        columns: vec![
            "target".into(),
            "endpoint".into(),
            "kind".into(),
            "count".into(),
        ],
        rows: r
            .endpoints
            .iter()
            .flat_map(|e| {
                e.failures_by_kind.iter().map(move |(kind, n)| {
                    vec![
                        Cell::text(&e.target),
                        Cell::text(&e.name),
                        Cell::text(kind),
                        Cell::num(n),
                    ]
                })
            })
            .collect(),
    }
}
