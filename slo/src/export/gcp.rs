//! Google Cloud Monitoring SLO bodies: one `serviceLevelObjectives` JSON document per SLO, in the
//! shape of challenge 5's API example, reading the `movieguru_*` metrics as Google Managed
//! Prometheus stores them (`prometheus.googleapis.com/NAME/counter`, `.../histogram`).
//!
//! A latency SLO (`NAME_bucket{le=...}` over `NAME_count`) becomes a `distributionCut` of the
//! histogram up to that bound; any other ratio a `goodTotalRatio` of two counter filters. A
//! windows-based SLI becomes `windowsBased.goodTotalRatioThreshold`. Cloud Monitoring evaluates
//! burn-rate alerts itself, so the alert policies are not part of these bodies.

use serde_json::{Value, json};

use crate::rules::num;
use crate::selector::{MatchOp, Selector};
use crate::spec::{Sli, Slo, Spec};

/// An SLO this export cannot express in Cloud Monitoring's terms.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    #[error("slo {slo}: the latency bound {le:?} of {metric} is not a number")]
    Bound {
        slo: String,
        metric: String,
        le: String,
    },
}

/// `(slo name, JSON body)` per SLO, in spec order; each body ends with a newline.
pub fn slo_bodies(spec: &Spec) -> Result<Vec<(String, String)>, GcpError> {
    spec.slos
        .iter()
        .map(|slo| {
            let mut text = serde_json::to_string_pretty(&body(slo)?).unwrap_or_default();
            text.push('\n');
            Ok((slo.name.clone(), text))
        })
        .collect()
}

/// The body of one SLO.
pub fn body(slo: &Slo) -> Result<Value, GcpError> {
    let performance = performance(slo)?;
    let indicator = match slo.sli {
        Sli::Requests => json!({ "requestBased": performance }),
        Sli::Windows { window, objective } => json!({
            "windowsBased": {
                "windowPeriod": format!("{}s", window.as_millis() / 1000),
                "goodTotalRatioThreshold": {
                    "performance": performance,
                    "threshold": ratio(objective),
                },
            },
        }),
    };
    Ok(json!({
        "displayName": format!("{}% - {} - {} rolling", num(slo.objective), title(&slo.name), slo.period),
        "goal": ratio(slo.objective),
        "rollingPeriod": format!("{}s", slo.period.as_millis() / 1000),
        "serviceLevelIndicator": indicator,
    }))
}

fn ratio(percent: f64) -> Value {
    let text = num(percent / 100.0);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// `chat-latency` -> `Chat Latency`, as the workshop's display names read.
fn title(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn performance(slo: &Slo) -> Result<Value, GcpError> {
    if let Some((base, le)) = latency_cut(slo) {
        let max: f64 = le.parse().map_err(|_| GcpError::Bound {
            slo: slo.name.clone(),
            metric: slo.good.metric.clone(),
            le: le.clone(),
        })?;
        let others: Vec<_> = slo
            .good
            .matchers
            .iter()
            .filter(|m| m.label != "le")
            .collect();
        let filter = filter(&format!("{base}/histogram"), others.into_iter());
        return Ok(json!({
            "distributionCut": {
                "distributionFilter": filter,
                "range": { "min": 0, "max": max },
            },
        }));
    }
    Ok(json!({
        "goodTotalRatio": {
            "goodServiceFilter": counter_filter(&slo.good),
            "totalServiceFilter": counter_filter(&slo.total),
        },
    }))
}

/// For `NAME_bucket{le=~"5000|5000\.0"}` over `NAME_count`: `NAME` and the bound `5000`.
fn latency_cut(slo: &Slo) -> Option<(String, String)> {
    let base = slo.good.metric.strip_suffix("_bucket")?;
    if slo.total.metric.strip_suffix("_count")? != base {
        return None;
    }
    let le = slo.good.matchers.iter().find(|m| m.label == "le")?;
    // The spec matches Prometheus 2's "5000" and 3's "5000.0" alike; the first is the bound.
    let bound = le.value.split('|').next()?.to_owned();
    Some((base.to_owned(), bound))
}

fn counter_filter(selector: &Selector) -> String {
    filter(
        &format!("{}/counter", selector.metric),
        selector.matchers.iter(),
    )
}

/// A Cloud Monitoring filter for a Managed Prometheus metric with the selector's matchers.
fn filter<'a>(
    metric_type: &str,
    matchers: impl Iterator<Item = &'a crate::selector::Matcher>,
) -> String {
    let mut out = format!(
        "metric.type=\"prometheus.googleapis.com/{metric_type}\" resource.type=\"prometheus_target\""
    );
    for m in matchers {
        let value = crate::rules::quote(&m.value);
        let term = match m.op {
            MatchOp::Equal => format!("metric.labels.{}={value}", m.label),
            MatchOp::NotEqual => format!("metric.labels.{}!={value}", m.label),
            MatchOp::Regex => format!(
                "metric.labels.{}=monitoring.regex.full_match({value})",
                m.label
            ),
            MatchOp::NotRegex => format!(
                "NOT metric.labels.{}=monitoring.regex.full_match({value})",
                m.label
            ),
        };
        out.push(' ');
        out.push_str(&term);
    }
    out
}
