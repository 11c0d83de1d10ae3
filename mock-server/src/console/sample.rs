//! One sample of the server's own counters and histograms, as `/metrics` exports them at an
//! instant: the console's charts are differences between two samples.

use prometheus::proto::MetricFamily;

use super::series::{Compiled, histogram_buckets};

/// An endpoint with the workshop's attempts / success / latency series.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// Key in the data document and the page (`chat`, `prefGet`, ...).
    pub key: &'static str,
    /// The dashboard's name for it.
    pub title: &'static str,
    pub attempts: &'static str,
    pub success: &'static str,
    pub latency: &'static str,
}

const fn endpoint(
    key: &'static str,
    title: &'static str,
    attempts: &'static str,
    success: &'static str,
    latency: &'static str,
) -> Endpoint {
    Endpoint {
        key,
        title,
        attempts,
        success,
        latency,
    }
}

/// The endpoints the workshop's dashboards show, in the order the console lays them out.
pub const ENDPOINTS: [Endpoint; 6] = [
    endpoint(
        "login",
        "Login",
        "movieguru_login_attempts_total",
        "movieguru_login_success_total",
        "movieguru_login_latency_milliseconds",
    ),
    endpoint(
        "startup",
        "Startup",
        "movieguru_startup_attempts_total",
        "movieguru_startup_success_total",
        "movieguru_startup_latency_milliseconds",
    ),
    endpoint(
        "chat",
        "Chat",
        "movieguru_chat_calls_total",
        "movieguru_chat_calls_success_total",
        "movieguru_chat_latency_milliseconds",
    ),
    endpoint(
        "prefGet",
        "Preferences get",
        "movieguru_prefGet_attempts_total",
        "movieguru_prefGet_success_total",
        "movieguru_prefGet_latency_milliseconds",
    ),
    endpoint(
        "prefUpdate",
        "Preferences update",
        "movieguru_prefUpdate_attempts_total",
        "movieguru_prefUpdate_success_total",
        "movieguru_prefUpdate_latency_milliseconds",
    ),
    endpoint(
        "logout",
        "Logout",
        "movieguru_Logout_attempts_total",
        "movieguru_Logout_success_total",
        "movieguru_Logout_latency_milliseconds",
    ),
];

/// Room for the largest bucket list (startup's 13 bounds, plus `+Inf`).
pub const MAX_BUCKETS: usize = 16;
/// Room for the SLOs of the spec (the workshop's has 5).
pub const MAX_SLOS: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
pub struct EndpointSample {
    pub attempts: u64,
    pub success: u64,
    /// Cumulative bucket counts in the order of the endpoint's bounds, `+Inf` last.
    pub buckets: [u64; MAX_BUCKETS],
}

/// Everything the console charts, at one instant. `Copy` and fixed-size, so the ring that
/// holds an hour of them is one allocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Unix time, milliseconds.
    pub at_ms: u64,
    pub endpoints: [EndpointSample; ENDPOINTS.len()],
    /// Chat outcomes and sentiments, in `metrics::OUTCOMES` / `metrics::SENTIMENTS` order.
    pub outcome: [u64; 4],
    pub sentiment: [u64; 4],
    pub safety: u64,
    /// `http_requests_total{route="/"}`, all and 5xx: the Serverless Journey's revisions.
    pub root_total: u64,
    pub root_errors: u64,
    /// Each SLO's `good` and `total` selector sums, in spec order.
    pub slo: [(f64, f64); MAX_SLOS],
    pub phase_changes: u64,
    pub timeline_step: i64,
}

/// The selectors a sample reads, compiled once.
pub struct Reader {
    outcome: [Compiled; 4],
    sentiment: [Compiled; 4],
    root: Compiled,
    root_errors: Compiled,
    slos: Vec<(Compiled, Compiled)>,
}

impl Reader {
    pub fn new(slos: Vec<(Compiled, Compiled)>) -> Reader {
        let labelled = |metric, label, values: [&str; 4]| {
            values.map(|v| Compiled::with_labels(metric, &[(label, v)]))
        };
        Reader {
            outcome: labelled(
                "movieguru_chat_outcome_counter_total",
                "Outcome",
                crate::metrics::OUTCOMES,
            ),
            sentiment: labelled(
                "movieguru_chat_sentiment_counter_total",
                "Sentiment",
                crate::metrics::SENTIMENTS,
            ),
            root: Compiled::with_labels("http_requests_total", &[("route", "/")]),
            root_errors: {
                let sel = slo::selector::Selector::parse(
                    r#"http_requests_total{route="/", code=~"5.."}"#,
                );
                // A fixed, valid selector: parse and compile cannot fail.
                sel.ok()
                    .and_then(|s| Compiled::new(&s).ok())
                    .unwrap_or_else(|| Compiled::name("http_requests_total"))
            },
            slos: slos.into_iter().take(MAX_SLOS).collect(),
        }
    }

    /// Reads a sample out of a gathered registry.
    pub fn read(&self, families: &[MetricFamily], at_ms: u64) -> Sample {
        let count = |c: &Compiled| c.sum(families) as u64;
        let mut s = Sample {
            at_ms,
            outcome: self.outcome.each_ref().map(count),
            sentiment: self.sentiment.each_ref().map(count),
            safety: count(&Compiled::name("movieguru_chat_safetyissue_counter_total")),
            root_total: count(&self.root),
            root_errors: count(&self.root_errors),
            phase_changes: count(&Compiled::name("mockserver_phase_changes_total")),
            timeline_step: Compiled::name("mockserver_timeline_step").sum(families) as i64,
            ..Sample::default()
        };
        for (slot, e) in s.endpoints.iter_mut().zip(ENDPOINTS) {
            slot.attempts = count(&Compiled::name(e.attempts));
            slot.success = count(&Compiled::name(e.success));
            for (b, (_, n)) in slot
                .buckets
                .iter_mut()
                .zip(histogram_buckets(families, e.latency))
            {
                *b = n;
            }
        }
        for (slot, (good, total)) in s.slo.iter_mut().zip(&self.slos) {
            *slot = (good.sum(families), total.sum(families));
        }
        s
    }
}

/// Each endpoint's bucket bounds (`+Inf` last), which never change while the server runs.
pub fn bucket_bounds(families: &[MetricFamily]) -> [Vec<f64>; ENDPOINTS.len()] {
    ENDPOINTS.map(|e| {
        histogram_buckets(families, e.latency)
            .into_iter()
            .map(|(bound, _)| bound)
            .take(MAX_BUCKETS)
            .collect()
    })
}
