//! The page of a canary rollout (`canary --html`): the canary's error rate and p99 at each
//! check, each step's start marked, the steps and their gates, the verdict.

use crate::canary::{CanaryResult, Check};

use super::page::{Cell, Chart, Marker, Notice, Page, Series, Table, pct};

/// The rollout's HTML report page (`--html`): each check's canary error rate and p99 over
/// time, each step's start marked, the steps and their gates.
pub fn page(result: &CanaryResult) -> Page {
    let steps = result.steps.len();
    let checks = result.checks.len();
    Page {
        title: "loadgen canary report".into(),
        subtitle: format!(
            "{steps} step{}, {checks} check{}",
            if steps == 1 { "" } else { "s" },
            if checks == 1 { "" } else { "s" },
        ),
        stats: vec![
            (
                "verdict".into(),
                if result.promoted {
                    "promoted"
                } else {
                    "not promoted"
                }
                .into(),
            ),
            ("steps".into(), steps.to_string()),
            (
                "canary requests".into(),
                result
                    .steps
                    .iter()
                    .map(|s| s.canary_requests)
                    .sum::<u64>()
                    .to_string(),
            ),
        ],
        notices: vec![verdict_notice(result)],
        charts: check_charts(result),
        markers: step_markers(result),
        histogram: Vec::new(),
        tables: vec![steps_table(result)],
    }
}

/// The canary's error rate and p99 at each check. Each step is judged on its own traffic: its
/// line starts afresh (a gap between steps).
fn check_charts(result: &CanaryResult) -> Vec<Chart> {
    if result.checks.is_empty() {
        return Vec::new();
    }
    let mut t = Vec::new();
    let mut rows: Vec<Option<&Check>> = Vec::new();
    for (i, c) in result.checks.iter().enumerate() {
        if i > 0 && result.checks[i - 1].step != c.step {
            t.push(result.checks[i - 1].at_secs);
            rows.push(None);
        }
        t.push(c.at_secs);
        rows.push(Some(c));
    }
    let col = |f: fn(&Check) -> f64| rows.iter().map(|c| c.map(f)).collect();
    vec![
        Chart {
            title: "Canary error rate at each check".into(),
            unit: "ratio".into(),
            t_secs: t.clone(),
            series: vec![Series {
                name: "error rate".into(),
                values: col(|c| c.canary_error_rate),
            }],
        },
        Chart {
            title: "Canary p99 at each check".into(),
            unit: "ms".into(),
            t_secs: t,
            series: vec![Series {
                name: "p99".into(),
                values: col(|c| c.canary_p99 * 1000.0),
            }],
        },
    ]
}

/// A marker where each step starts, named by its weight.
fn step_markers(result: &CanaryResult) -> Vec<Marker> {
    let mut markers = Vec::new();
    for (i, c) in result.checks.iter().enumerate() {
        if i == 0 || result.checks[i - 1].step != c.step {
            markers.push(Marker {
                t_secs: if i == 0 {
                    0.0
                } else {
                    result.checks[i - 1].at_secs
                },
                short: format!("{}%", c.weight),
                label: format!("step {} at {}%", c.step, c.weight),
            });
        }
    }
    markers
}

/// One row per step: its traffic, error rate, p99, gates and verdict.
fn steps_table(result: &CanaryResult) -> Table {
    Table {
        title: "Steps".into(),
        columns: [
            "step",
            "weight",
            "canary requests",
            "stable requests",
            "error rate",
            "p99 ms",
            "gates",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
        rows: result
            .steps
            .iter()
            .map(|s| {
                let gates = s
                    .gates
                    .iter()
                    .map(|g| {
                        format!(
                            "{} {} (got {:.4})",
                            if g.held { "held" } else { "BROKE" },
                            g.gate,
                            g.actual
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                vec![
                    Cell::num(s.step),
                    Cell::num(format!("{}%", s.weight)),
                    Cell::num(s.canary_requests),
                    Cell::num(s.stable_requests),
                    Cell::num(pct(s.canary_error_rate)),
                    Cell::num(format!("{:.2}", s.canary_p99 * 1000.0)),
                    Cell::text(gates),
                    Cell::verdict(s.passed, if s.passed { "pass" } else { "FAIL" }),
                ]
            })
            .collect(),
    }
}

/// Rolled back, promoted, or neither, in a sentence.
fn verdict_notice(result: &CanaryResult) -> Notice {
    match &result.rollback {
        Some(r) => Notice {
            text: format!(
                "Rolled back at step {} ({}%): detected {:.2} s into the step; canary at weight 0 {:.3} s later.",
                r.step, r.weight, r.time_to_detect_secs, r.time_to_rollback_secs
            ),
            good: Some(false),
        },
        None if result.promoted => Notice {
            text: "Promoted: every step held its gates.".into(),
            good: Some(true),
        },
        None => Notice {
            text: "Not promoted: a step had no canary traffic to judge.".into(),
            good: Some(false),
        },
    }
}
