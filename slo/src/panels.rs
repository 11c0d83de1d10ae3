//! The series the workshop's dashboards read that no SLO records: request rate, success share
//! and latency percentiles of each endpoint, and the chat's engagement, sentiment and safety
//! shares. [`crate::rules()`] writes them as one more recording group, so a dashboard panel reads
//! one cheap series and works unchanged on the real and the time-compressed rules (names keep
//! the real window, as the SLO series do).
//!
//! This module is data only: the rule writer and the dashboard generator both read it.

use crate::duration::PromDuration;

/// The window of every dashboard series: the workshop's charts use 5-minute rates.
pub const PANEL_WINDOW: PromDuration = PromDuration::from_secs(300);

/// The percentiles the endpoint dashboards draw (the p10/p50/p90/p95/p99).
pub const QUANTILES: [&str; 5] = ["0.1", "0.5", "0.9", "0.95", "0.99"];

/// One of the workshop's instrumented endpoints, by its `movieguru_*` metric names.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// The `endpoint` label of the recorded series, and the dashboard's uid suffix.
    pub name: &'static str,
    /// The dashboard's title word.
    pub title: &'static str,
    pub attempts: &'static str,
    pub success: &'static str,
    /// The histogram's base name (without `_bucket`), in milliseconds.
    pub latency: &'static str,
}

/// Login, Startup and Chat: the three dashboards the workshop builds in challenge 2.
pub const ENDPOINTS: [Endpoint; 3] = [
    Endpoint {
        name: "login",
        title: "Login",
        attempts: "movieguru_login_attempts_total",
        success: "movieguru_login_success_total",
        latency: "movieguru_login_latency_milliseconds",
    },
    Endpoint {
        name: "startup",
        title: "Startup",
        attempts: "movieguru_startup_attempts_total",
        success: "movieguru_startup_success_total",
        latency: "movieguru_startup_latency_milliseconds",
    },
    Endpoint {
        name: "chat",
        title: "Chat",
        attempts: "movieguru_chat_calls_total",
        success: "movieguru_chat_calls_success_total",
        latency: "movieguru_chat_latency_milliseconds",
    },
];

/// Requests per second, by `endpoint`.
pub const REQUEST_RATE: &str = "movieguru:requests:rate5m";
/// Share of successful requests, by `endpoint`.
pub const SUCCESS_RATIO: &str = "movieguru:success:ratio_rate5m";
/// Latency percentile in milliseconds, by `endpoint` and `quantile`.
pub const LATENCY_QUANTILE: &str = "movieguru:latency_milliseconds:quantile_rate5m";
/// Share of chat answers per `Outcome`.
pub const CHAT_OUTCOME: &str = "movieguru:chat_outcome:ratio_rate5m";
/// Share of chat answers per `Sentiment`.
pub const CHAT_SENTIMENT: &str = "movieguru:chat_sentiment:ratio_rate5m";
/// Share of chats that raised a safety issue.
pub const CHAT_SAFETY: &str = "movieguru:chat_safety_issue:ratio_rate5m";

/// One recording rule: its name, extra labels and expression, with `{W}` standing for the
/// (possibly compressed) window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanelRecord {
    pub name: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub expr: String,
}

/// Every dashboard recording rule, in a fixed order.
pub fn panel_records() -> Vec<PanelRecord> {
    let mut out = Vec::new();
    for e in ENDPOINTS {
        let endpoint = ("endpoint", e.name.to_owned());
        out.push(PanelRecord {
            name: REQUEST_RATE,
            labels: vec![endpoint.clone()],
            expr: format!("sum(rate({}[{{W}}]))", e.attempts),
        });
        out.push(PanelRecord {
            name: SUCCESS_RATIO,
            labels: vec![endpoint.clone()],
            expr: format!(
                "(sum(rate({}[{{W}}])) or vector(0))\n  / sum(rate({}[{{W}}]))",
                e.success, e.attempts
            ),
        });
        for q in QUANTILES {
            out.push(PanelRecord {
                name: LATENCY_QUANTILE,
                labels: vec![endpoint.clone(), ("quantile", q.to_owned())],
                expr: format!(
                    "histogram_quantile({q}, sum by (le) (rate({}_bucket[{{W}}])))",
                    e.latency
                ),
            });
        }
    }
    for (name, metric, label) in [
        (
            CHAT_OUTCOME,
            "movieguru_chat_outcome_counter_total",
            "Outcome",
        ),
        (
            CHAT_SENTIMENT,
            "movieguru_chat_sentiment_counter_total",
            "Sentiment",
        ),
    ] {
        out.push(PanelRecord {
            name,
            labels: Vec::new(),
            expr: format!(
                "sum by ({label}) (rate({metric}[{{W}}]))\n  / ignoring ({label}) group_left sum(rate({metric}[{{W}}]))"
            ),
        });
    }
    out.push(PanelRecord {
        name: CHAT_SAFETY,
        labels: Vec::new(),
        expr: "(sum(rate(movieguru_chat_safetyissue_counter_total[{W}])) or vector(0))\n  / sum(rate(movieguru_chat_calls_total[{W}]))".to_owned(),
    });
    out
}
