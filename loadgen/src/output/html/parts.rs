//! Pieces several report pages share: the load's two charts, the split changes (markers and a
//! table), hey's histogram bars, the interrupted notice.

use engine::report::series::Point;
use engine::report::{Latency, SplitEvent};

use super::page::{Cell, Chart, Marker, Notice, Series, Table};
use crate::output::hey::hey_buckets;

/// The two charts every load has: throughput and failures, and latency percentiles.
pub fn load_charts(points: &[Point], offset_secs: f64) -> Vec<Chart> {
    if points.is_empty() {
        return Vec::new();
    }
    let t: Vec<f64> = points.iter().map(|p| p.t_secs + offset_secs).collect();
    let col = |f: fn(&Point) -> f64| points.iter().map(|p| Some(f(p))).collect();
    vec![
        Chart {
            title: "Requests and failures per second".into(),
            unit: "/s".into(),
            t_secs: t.clone(),
            series: vec![
                Series {
                    name: "requests/s".into(),
                    values: col(|p| p.rps),
                },
                Series {
                    name: "failures/s".into(),
                    values: col(|p| p.failures_per_sec),
                },
            ],
        },
        Chart {
            title: "Response time percentiles".into(),
            unit: "ms".into(),
            t_secs: t,
            series: [
                ("p50", (|p: &Point| p.p50_ms) as fn(&Point) -> f64),
                ("p95", |p| p.p95_ms),
                ("p99", |p| p.p99_ms),
            ]
            .into_iter()
            .map(|(name, f)| Series {
                name: name.into(),
                // A second with no answer has no latency: a gap, not a zero.
                values: points.iter().map(|p| (p.rps > 0.0).then(|| f(p))).collect(),
            })
            .collect(),
        },
    ]
}

/// One marker and one table row per split change.
pub fn split_parts(events: &[SplitEvent]) -> (Vec<Marker>, Option<Table>) {
    if events.is_empty() {
        return (Vec::new(), None);
    }
    let join = |m: Vec<String>| m.join(", ");
    let markers = events
        .iter()
        .map(|e| {
            let weights = join(
                e.weights_after
                    .iter()
                    .map(|(n, w)| format!("{n} {w}"))
                    .collect(),
            );
            Marker {
                t_secs: e.at_secs,
                short: "split".into(),
                label: format!("split changed to {weights}"),
            }
        })
        .collect();
    let rows = events
        .iter()
        .map(|e| {
            let weights = join(
                e.weights_before
                    .iter()
                    .map(|(n, b)| format!("{n} {b} → {}", e.weights_after.get(n).unwrap_or(&0)))
                    .collect(),
            );
            let counts = |m: &std::collections::BTreeMap<String, u64>| {
                join(m.iter().map(|(n, c)| format!("{n} {c}")).collect())
            };
            vec![
                Cell::num(format!("{:.1}", e.at_secs)),
                Cell::text(weights),
                Cell::text(counts(&e.requests_before)),
                Cell::text(counts(&e.requests_after)),
            ]
        })
        .collect();
    let table = Table {
        title: "Split changes".into(),
        columns: vec![
            "at (s)".into(),
            "weights".into(),
            "requests before".into(),
            "requests after".into(),
        ],
        rows,
    };
    (markers, Some(table))
}

/// hey's 11 histogram bars of a latency distribution, labelled in ms.
pub fn histogram_bars(lat: &Latency) -> Vec<(String, u64)> {
    hey_buckets(lat)
        .into_iter()
        .map(|(mark_secs, n)| (format!("{:.1}", mark_secs * 1000.0), n))
        .collect()
}

/// The notice of a run cut short, journey or hey.
pub fn interrupted_notice(abandoned: u64) -> Notice {
    Notice {
        text: format!("Interrupted: partial report ({abandoned} requests abandoned in flight)."),
        good: Some(false),
    }
}
