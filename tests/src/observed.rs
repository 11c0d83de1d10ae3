//! What Prometheus did, read back through its HTTP API, and the comparison with [`crate::model`].
//!
//! Alerts are read from the `ALERTS` series Prometheus writes at every evaluation, not by
//! polling `/api/v1/alerts`: its samples carry the evaluation times, so a firing that lasted a
//! single evaluation cannot slip between two polls.

use std::collections::BTreeMap;
use std::fmt::Write;

use slo::PrometheusClient;
use slo::predict::Span;

use crate::model::{Certain, Prediction};
use crate::stack::SCRAPE_INTERVAL;

/// How much earlier than the model Prometheus may fire or resolve: a window can hold one scrape
/// interval less data than its length, and crosses that much sooner.
pub const EARLY_SLACK: f64 = 1.5;
/// How much later: at an evaluation the newest sample is up to one scrape old, evaluations come
/// once a second, and a second more for scheduling on a busy two-core machine (four runs on
/// a shared box were at most 1.4 s late).
pub const LATE_SLACK: f64 = 3.0;

/// Unix seconds of the first sample Prometheus stored of `series`: where its history of it
/// begins. (Not `up`, which failed scrapes write too.)
pub async fn first_sample(client: &PrometheusClient, series: &str) -> f64 {
    let stored = client
        .range(&format!("{series}[10m]"))
        .await
        .unwrap_or_else(|e| panic!("reading {series}: {e}"));
    stored
        .iter()
        .filter_map(|s| s.samples.first())
        .map(|&(at, _)| at)
        .reduce(f64::min)
        .unwrap_or_else(|| panic!("Prometheus has no sample of {series}"))
}

/// Each alert's firing spans from the `ALERTS` series, in seconds after `origin` (Unix seconds);
/// a span still open at `now` has no end. Alerts that never fired are absent.
pub async fn firing_spans(
    client: &PrometheusClient,
    origin: f64,
    now: f64,
) -> BTreeMap<String, Vec<Span>> {
    let series = client
        .range(r#"ALERTS{alertstate="firing"}[10m]"#)
        .await
        .unwrap_or_else(|e| panic!("reading ALERTS: {e}"));
    let interval = SCRAPE_INTERVAL.as_secs_f64();
    let mut spans: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for s in series {
        let name = s.labels.get("alertname").cloned().unwrap_or_default();
        let mut times = s.samples.iter().map(|&(at, _)| at);
        let Some(mut from) = times.next() else {
            continue;
        };
        let mut last = from;
        let list = spans.entry(name).or_default();
        // A missing evaluation means the alert resolved in between (a stale marker, no sample).
        for at in times {
            if at - last > 1.5 * interval {
                list.push(Span {
                    from: from - origin,
                    until: Some(last + interval - origin),
                });
                from = at;
            }
            last = at;
        }
        list.push(Span {
            from: from - origin,
            until: (now - last > 1.5 * interval).then_some(last + interval - origin),
        });
    }
    spans
}

/// Compares every prediction with what Prometheus did. Returns a table of both (for the log)
/// and the list of disagreements (empty when all agree). Panics if the scenario itself leaves
/// an outcome to chance: that is a bad test, not a failure of the rules.
pub fn compare(
    predictions: &[Prediction],
    observed: &BTreeMap<String, Vec<Span>>,
) -> (String, Vec<String>) {
    let mut table = format!(
        "{:<34} {:>17} {:>9} {:>17} {:>9}\n",
        "alert", "fires (model)", "fired", "resolves (model)", "resolved"
    );
    let mut wrong = Vec::new();
    let show = |s: Option<&Span>, end: bool| match s {
        None => "-".to_owned(),
        Some(s) if end => s.until.map_or("firing".into(), |u| format!("{u:.1}")),
        Some(s) => format!("{:.1}", s.from),
    };
    for p in predictions {
        let certain = p
            .certain()
            .unwrap_or_else(|why| panic!("the scenario is ambiguous: {why}"));
        let seen = observed.get(&p.alert).map(Vec::as_slice).unwrap_or(&[]);
        let (fires, resolves) = match certain {
            Certain::Quiet => ("never".to_owned(), "-".to_owned()),
            Certain::Fires { fire, resolve } => (
                format!("{:.1}..{:.1}", fire.0, fire.1),
                resolve.map_or("after the end".into(), |r| {
                    format!("{:.1}..{:.1}", r.0, r.1)
                }),
            ),
        };
        let _ = writeln!(
            table,
            "{:<34} {fires:>17} {:>9} {resolves:>17} {:>9}",
            p.alert,
            show(seen.first(), false),
            show(seen.first(), true)
        );
        match (certain, seen) {
            (Certain::Quiet, []) => {}
            (Certain::Quiet, _) => {
                wrong.push(format!("{} fired, but must stay quiet: {seen:?}", p.alert))
            }
            (Certain::Fires { .. }, []) => wrong.push(format!("{} never fired", p.alert)),
            (Certain::Fires { fire, resolve }, [one]) => {
                if !(fire.0 - EARLY_SLACK..=fire.1 + LATE_SLACK).contains(&one.from) {
                    wrong.push(format!(
                        "{} fired at {:.1} s, the model says {:.1}..{:.1} s (slack -{EARLY_SLACK}/+{LATE_SLACK})",
                        p.alert, one.from, fire.0, fire.1
                    ));
                }
                match (resolve, one.until) {
                    (None, None) => {}
                    (Some(r), Some(until))
                        if (r.0 - EARLY_SLACK..=r.1 + LATE_SLACK).contains(&until) => {}
                    (r, until) => wrong.push(format!(
                        "{} resolved at {until:?}, the model says {r:?} (None: still firing at the end)",
                        p.alert
                    )),
                }
            }
            (Certain::Fires { .. }, many) => {
                wrong.push(format!("{} fired {} times: {many:?}", p.alert, many.len()))
            }
        }
    }
    for (alert, seen) in observed {
        if !predictions.iter().any(|p| &p.alert == alert) {
            wrong.push(format!(
                "{alert} fired, but the spec has no such alert: {seen:?}"
            ));
        }
    }
    (table, wrong)
}

/// Recorded error ratios per SLO at the end of the run, over the compressed 5m window: a number
/// for every SLO proves each one saw traffic, so a quiet alert means something.
pub async fn current_error_ratios(client: &PrometheusClient) -> BTreeMap<String, f64> {
    client
        .query("slo:sli_error:ratio_rate5m")
        .await
        .unwrap_or_else(|e| panic!("reading slo:sli_error:ratio_rate5m: {e}"))
        .into_iter()
        .filter_map(|s| Some((s.labels.get("slo")?.clone(), s.value)))
        .collect()
}
