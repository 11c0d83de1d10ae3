//! The page of a hey-mode run (and of `loadgen merge`): targets, split changes, gates,
//! percentiles, status codes and errors.

use engine::report::{Latency, PacingMode, Report};

use super::page::{Cell, Notice, Page, Table, ms, pct};
use super::parts::{histogram_bars, interrupted_notice, load_charts, split_parts};

/// The page of a hey-mode run.
pub fn page(r: &Report) -> Page {
    let t = &r.total;
    let lat = &t.latency;
    let mut tables = vec![targets_table(r)];
    // What changed during the run, and what was judged, before the details.
    let (markers, split_table) = split_parts(&r.split_events);
    tables.extend(split_table);
    tables.extend(gates_table(r));
    tables.push(percentiles_table(lat));
    tables.push(status_table(r));
    Page {
        title: "loadgen report".into(),
        subtitle: hey_subtitle(r),
        stats: vec![
            ("requests".into(), t.requests.to_string()),
            ("req/s".into(), format!("{:.1}", t.rps)),
            ("error rate".into(), pct(t.error_rate)),
            ("p50".into(), format!("{} ms", ms(lat.p50 * 1e3))),
            ("p95".into(), format!("{} ms", ms(lat.p95 * 1e3))),
            ("p99".into(), format!("{} ms", ms(lat.p99 * 1e3))),
            ("duration".into(), format!("{:.1} s", r.duration_secs)),
        ],
        notices: hey_notices(r),
        charts: load_charts(&r.series, 0.0),
        markers,
        histogram: histogram_bars(lat),
        tables,
    }
}

/// The line under a hey page's title: how many targets, how long, how paced.
fn hey_subtitle(r: &Report) -> String {
    format!(
        "{} target{}, {:.1} s, {} pacing",
        r.targets.len(),
        if r.targets.len() == 1 { "" } else { "s" },
        r.duration_secs,
        match r.pacing.mode {
            PacingMode::Closed => "closed-loop".to_owned(),
            PacingMode::PerWorker => format!("{} req/s per worker", r.pacing.rate.unwrap_or(0.0)),
            PacingMode::Open => format!("open-model {} req/s", r.pacing.rate.unwrap_or(0.0)),
        }
    )
}

/// What a hey run's reader must not miss: an interrupt, requests not sent, the gates' verdict.
fn hey_notices(r: &Report) -> Vec<Notice> {
    let mut notices = Vec::new();
    if r.interrupted {
        notices.push(interrupted_notice(r.abandoned));
    }
    if r.not_sent > 0 {
        notices.push(Notice {
            text: format!(
                "{} due requests were not sent: the server could not keep up with the rate.",
                r.not_sent
            ),
            good: Some(false),
        });
    }
    if !r.slo.is_empty() {
        let held = r.slo.iter().all(|o| o.held);
        notices.push(Notice {
            text: if held {
                "Every SLO gate held.".into()
            } else {
                "An SLO gate broke.".into()
            },
            good: Some(held),
        });
    }
    notices
}

/// One row per target, then the total.
fn targets_table(r: &Report) -> Table {
    Table {
        title: "Targets".into(),
        columns: [
            "target",
            "url",
            "weight",
            "requests",
            "req/s",
            "error rate",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
        ]
        .map(String::from)
        .to_vec(),
        rows: r
            .targets
            .iter()
            .chain(std::iter::once(&r.total))
            .map(|x| {
                vec![
                    Cell::text(&x.name),
                    Cell::text(x.url.clone().unwrap_or_default()),
                    Cell::num(x.weight.map(|w| w.to_string()).unwrap_or_default()),
                    Cell::num(x.requests),
                    Cell::num(format!("{:.1}", x.rps)),
                    Cell::num(pct(x.error_rate)),
                    Cell::num(ms(x.latency.p50 * 1e3)),
                    Cell::num(ms(x.latency.p95 * 1e3)),
                    Cell::num(ms(x.latency.p99 * 1e3)),
                    Cell::num(ms(x.latency.max * 1e3)),
                ]
            })
            .collect(),
    }
}

/// The whole run's latency percentiles, in ms.
fn percentiles_table(lat: &Latency) -> Table {
    Table {
        title: "Latency percentiles".into(),
        columns: ["percentile", "ms"].map(String::from).to_vec(),
        rows: [
            ("50%", lat.p50),
            ("75%", lat.p75),
            ("90%", lat.p90),
            ("95%", lat.p95),
            ("99%", lat.p99),
            ("99.9%", lat.p99_9),
            ("99.99%", lat.p99_99),
            ("max", lat.max),
        ]
        .iter()
        .map(|(q, v)| vec![Cell::text(*q), Cell::num(ms(v * 1e3))])
        .collect(),
    }
}

/// Each target's status codes, then its errors, counted.
fn status_table(r: &Report) -> Table {
    let mut status = Vec::new();
    for x in &r.targets {
        for (code, n) in &x.status_codes {
            status.push(vec![Cell::text(&x.name), Cell::text(code), Cell::num(n)]);
        }
        for (kind, n) in &x.errors {
            status.push(vec![Cell::text(&x.name), Cell::text(kind), Cell::num(n)]);
        }
    }
    Table {
        title: "Status codes and errors".into(),
        columns: ["target", "status or error", "count"]
            .map(String::from)
            .to_vec(),
        rows: status,
    }
}

/// The SLO gates and their verdicts, when the run had any.
fn gates_table(r: &Report) -> Option<Table> {
    if r.slo.is_empty() {
        return None;
    }
    Some(Table {
        title: "SLO gates".into(),
        columns: ["gate", "actual", "threshold", "verdict"]
            .map(String::from)
            .to_vec(),
        rows: r
            .slo
            .iter()
            .map(|o| {
                vec![
                    Cell::text(&o.gate),
                    Cell::num(format!("{:.4}", o.actual)),
                    Cell::num(format!("{:.4}", o.threshold)),
                    Cell::verdict(o.held, if o.held { "held" } else { "BROKE" }),
                ]
            })
            .collect(),
    })
}
