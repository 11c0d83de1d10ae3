//! Prometheus metrics: the workshop's exact series, per-route HTTP series, and the phase itself.
//!
//! The `movieguru_*` names, labels and millisecond buckets are the compatibility contract (the
//! workshop's SLOs and dashboards query them verbatim). Handles are resolved once here, so the
//! request path only touches atomics.

use std::sync::{Mutex, OnceLock};

use http::StatusCode;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::phase::{Phase, Ratio, Timed};
use crate::route::{METHOD_SLOTS, Route, method_slot};

const CHAT_BUCKETS: &[f64] = &[
    100.0, 250.0, 500.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 10000.0, 12000.0,
];
const LOGIN_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.5, 1.0, 10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
];
const HEALTH_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0];
const PREF_BUCKETS: &[f64] = &[0.1, 1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 2000.0];
const STARTUP_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 3000.0, 10000.0,
];
/// Seconds; includes 0.5 and 1 so canary p99 gates and the startup SLO have exact bounds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Sentiment label values, in the phase's cumulative-choice order.
pub const SENTIMENTS: [&str; 4] = ["Positive", "Negative", "Neutral", "Unclassified"];
/// Outcome label values, in the phase's cumulative-choice order.
pub const OUTCOMES: [&str; 4] = ["Engaged", "Acknowledged", "Rejected", "Unclassified"];

/// Status codes the server answers with, each given a cached counter per route and method.
const CACHED_CODES: [u16; 10] = [200, 204, 400, 401, 404, 405, 413, 500, 502, 503];

#[derive(Debug, thiserror::Error)]
#[error("registering metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// An endpoint with the original's attempts / success / latency triple.
#[derive(Clone)]
pub struct EndpointMetrics {
    pub attempts: IntCounter,
    pub success: IntCounter,
    pub latency: Histogram,
}

#[derive(Clone)]
pub struct ChatMetrics {
    pub calls: IntCounter,
    pub success: IntCounter,
    pub safety_issue: IntCounter,
    pub sentiment: [IntCounter; 4],
    pub outcome: [IntCounter; 4],
    pub latency: Histogram,
}

#[derive(Clone)]
pub struct HealthMetrics {
    pub attempts: IntCounter,
    pub latency: Histogram,
}

/// Gauges that show the phase in force, so a dashboard can line a change up with its effect.
struct PhaseGauges {
    success: GaugeVec,
    latency_min: GaugeVec,
    latency_max: GaugeVec,
    outcome: GaugeVec,
    sentiment: GaugeVec,
    safety_issue: Gauge,
    changes: IntCounter,
}

struct HttpMetrics {
    requests: IntCounterVec,
    /// Lazily resolved children of `requests`, indexed by route, method slot and code slot.
    cache: Vec<OnceLock<IntCounter>>,
    duration: Vec<Histogram>,
}

pub struct Metrics {
    registry: Registry,
    /// Connections being served now, and those turned away at the `--max-connections` cap.
    pub connections_open: prometheus::IntGauge,
    pub connections_rejected: IntCounter,
    /// Index of the `--timeline` step in force (-1 without a timeline).
    pub timeline_step: prometheus::IntGauge,
    pub chat: ChatMetrics,
    pub login: EndpointMetrics,
    pub logout: EndpointMetrics,
    pub startup: EndpointMetrics,
    pub pref_get: EndpointMetrics,
    pub pref_update: EndpointMetrics,
    pub health: HealthMetrics,
    http: HttpMetrics,
    /// Locked while the gauges are set and while a scrape gathers, so one scrape never shows
    /// half of one phase and half of the next.
    phase: Mutex<PhaseGauges>,
}

struct Reg<'a>(&'a Registry);

impl Reg<'_> {
    fn counter(&self, name: &str, help: &str) -> Result<IntCounter, MetricsError> {
        let c = IntCounter::with_opts(Opts::new(name, help))?;
        self.0.register(Box::new(c.clone()))?;
        Ok(c)
    }

    fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntCounterVec, MetricsError> {
        let c = IntCounterVec::new(Opts::new(name, help), labels)?;
        self.0.register(Box::new(c.clone()))?;
        Ok(c)
    }

    fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
    ) -> Result<Histogram, MetricsError> {
        let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))?;
        self.0.register(Box::new(h.clone()))?;
        Ok(h)
    }

    fn gauge_vec(&self, name: &str, help: &str, label: &str) -> Result<GaugeVec, MetricsError> {
        let g = GaugeVec::new(Opts::new(name, help), &[label])?;
        self.0.register(Box::new(g.clone()))?;
        Ok(g)
    }

    /// A registered integer gauge.
    fn int_gauge(&self, name: &str, help: &str) -> Result<IntGauge, MetricsError> {
        let g = IntGauge::with_opts(Opts::new(name, help))?;
        self.0.register(Box::new(g.clone()))?;
        Ok(g)
    }

    /// A registered gauge.
    fn gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        let g = Gauge::with_opts(Opts::new(name, help))?;
        self.0.register(Box::new(g.clone()))?;
        Ok(g)
    }

    /// The original's `<prefix>_attempts_total`, `_success_total` and `_latency_milliseconds`.
    fn endpoint(
        &self,
        prefix: &str,
        what: &str,
        buckets: &[f64],
    ) -> Result<EndpointMetrics, MetricsError> {
        Ok(EndpointMetrics {
            attempts: self.counter(
                &format!("movieguru_{prefix}_attempts_total"),
                &format!("{what} requests received"),
            )?,
            success: self.counter(
                &format!("movieguru_{prefix}_success_total"),
                &format!("{what} requests answered successfully"),
            )?,
            latency: self.histogram(
                &format!("movieguru_{prefix}_latency_milliseconds"),
                &format!("{what} latency drawn from the phase, in milliseconds"),
                buckets,
            )?,
        })
    }

    /// The original's `movieguru_chat_*` series, one counter per sentiment and outcome.
    fn chat(&self) -> Result<ChatMetrics, MetricsError> {
        let sentiment = self.counter_vec(
            "movieguru_chat_sentiment_counter_total",
            "Chat replies by the user's sentiment",
            &["Sentiment"],
        )?;
        let outcome = self.counter_vec(
            "movieguru_chat_outcome_counter_total",
            "Chat replies by conversation outcome",
            &["Outcome"],
        )?;
        Ok(ChatMetrics {
            calls: self.counter("movieguru_chat_calls_total", "Chat requests received")?,
            success: self.counter(
                "movieguru_chat_calls_success_total",
                "Chat requests answered successfully",
            )?,
            safety_issue: self.counter(
                "movieguru_chat_safetyissue_counter_total",
                "Chat requests flagged with a safety issue",
            )?,
            sentiment: SENTIMENTS.map(|s| sentiment.with_label_values(&[s])),
            outcome: OUTCOMES.map(|o| outcome.with_label_values(&[o])),
            latency: self.histogram(
                "movieguru_chat_latency_milliseconds",
                "Chat latency drawn from the phase, in milliseconds",
                CHAT_BUCKETS,
            )?,
        })
    }

    /// The original's `movieguru_healthcheck_*` series.
    fn health(&self) -> Result<HealthMetrics, MetricsError> {
        Ok(HealthMetrics {
            attempts: self.counter(
                "movieguru_healthcheck_attempts_total",
                "Health checks on GET /",
            )?,
            latency: self.histogram(
                "movieguru_healthcheck_latency_milliseconds",
                "Measured health check latency, in milliseconds",
                HEALTH_BUCKETS,
            )?,
        })
    }

    /// The per-route `http_*` series, labelled with `revision` when there is one.
    fn http(&self, revision: Option<&str>) -> Result<HttpMetrics, MetricsError> {
        let with_revision = |opts: Opts| match revision {
            Some(r) => opts.const_label("revision", r),
            None => opts,
        };
        let requests = IntCounterVec::new(
            with_revision(Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route, method and status code",
            )),
            &["route", "method", "code"],
        )?;
        self.0.register(Box::new(requests.clone()))?;
        let duration = prometheus::HistogramVec::new(
            HistogramOpts::from(with_revision(Opts::new(
                "http_request_duration_seconds",
                "Time from request arrival to response, by route",
            )))
            .buckets(HTTP_BUCKETS.to_vec()),
            &["route"],
        )?;
        self.0.register(Box::new(duration.clone()))?;
        Ok(HttpMetrics {
            requests,
            cache: (0..Route::ALL.len() * METHOD_SLOTS * CACHED_CODES.len())
                .map(|_| OnceLock::new())
                .collect(),
            duration: Route::ALL
                .iter()
                .map(|route| duration.with_label_values(&[route.label()]))
                .collect(),
        })
    }

    /// The `mockserver_phase_*` gauges and the count of phase changes.
    fn phase_gauges(&self) -> Result<PhaseGauges, MetricsError> {
        Ok(PhaseGauges {
            success: self.gauge_vec(
                "mockserver_phase_success_ratio",
                "Success ratio the current phase sets, by endpoint",
                "endpoint",
            )?,
            latency_min: self.gauge_vec(
                "mockserver_phase_latency_min_seconds",
                "Lower latency bound the current phase sets, by endpoint",
                "endpoint",
            )?,
            latency_max: self.gauge_vec(
                "mockserver_phase_latency_max_seconds",
                "Upper latency bound the current phase sets, by endpoint",
                "endpoint",
            )?,
            outcome: self.gauge_vec(
                "mockserver_phase_chat_outcome_ratio",
                "Chat outcome weight the current phase sets",
                "Outcome",
            )?,
            sentiment: self.gauge_vec(
                "mockserver_phase_chat_sentiment_ratio",
                "Chat sentiment weight the current phase sets",
                "Sentiment",
            )?,
            safety_issue: self.gauge(
                "mockserver_phase_chat_safety_issue_ratio",
                "Chat safety-issue ratio the current phase sets",
            )?,
            changes: self.counter(
                "mockserver_phase_changes_total",
                "Phase changes accepted since start (POST or DELETE /phase)",
            )?,
        })
    }
}

impl Metrics {
    /// `revision`, when set, labels the per-route `http_*` series, so one Prometheus can tell a
    /// good revision from its canary.
    pub fn new(revision: Option<&str>) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let r = Reg(&registry);
        let chat = r.chat()?;
        let health = r.health()?;
        let http = r.http(revision)?;
        let phase = r.phase_gauges()?;
        let connections_open = r.int_gauge(
            "mockserver_connections_open",
            "Client connections being served",
        )?;
        let timeline_step = r.int_gauge(
            "mockserver_timeline_step",
            "Index of the --timeline step in force, -1 when no timeline runs",
        )?;
        timeline_step.set(-1);
        Ok(Metrics {
            timeline_step,
            connections_open,
            connections_rejected: r.counter(
                "mockserver_connections_rejected_total",
                "Connections answered 503 and closed because --max-connections were open",
            )?,
            login: r.endpoint("login", "Login", LOGIN_BUCKETS)?,
            logout: r.endpoint("Logout", "Logout", LOGIN_BUCKETS)?,
            startup: r.endpoint("startup", "Startup", STARTUP_BUCKETS)?,
            pref_get: r.endpoint("prefGet", "Preferences read", PREF_BUCKETS)?,
            pref_update: r.endpoint("prefUpdate", "Preferences update", PREF_BUCKETS)?,
            chat,
            health,
            http,
            phase: Mutex::new(phase),
            registry,
        })
    }

    /// Counts one answered request and its duration from arrival.
    pub fn observe_http(&self, route: Route, method: &http::Method, code: StatusCode, secs: f64) {
        let (m_slot, m_label) = method_slot(method);
        let r_slot = route as usize;
        self.http.duration[r_slot].observe(secs);
        let counter = match CACHED_CODES.iter().position(|&c| c == code.as_u16()) {
            Some(c_slot) => {
                let i = (r_slot * METHOD_SLOTS + m_slot) * CACHED_CODES.len() + c_slot;
                self.http.cache[i].get_or_init(|| {
                    self.http
                        .requests
                        .with_label_values(&[route.label(), m_label, code.as_str()])
                })
            }
            None => {
                self.http
                    .requests
                    .with_label_values(&[route.label(), m_label, code.as_str()])
                    .inc();
                return;
            }
        };
        counter.inc();
    }

    /// Publishes the phase now in force; called under the phase writer's lock, so the gauges
    /// always show the phase requests are drawing from, and all at once (see `encode`).
    pub fn set_phase(&self, phase: &Phase, changed: bool) {
        let g = &*self.phase.lock().unwrap_or_else(|p| p.into_inner());
        for t in Timed::ALL {
            let endpoint = t.label();
            g.success
                .with_label_values(&[endpoint])
                .set(phase.ratio(t.success()));
            let l = phase.latency(t);
            g.latency_min
                .with_label_values(&[endpoint])
                .set(l.min_ms as f64 / 1000.0);
            g.latency_max
                .with_label_values(&[endpoint])
                .set(l.max_ms as f64 / 1000.0);
        }
        for (label, w) in OUTCOMES.iter().zip(phase.outcome_weights()) {
            g.outcome.with_label_values(&[label]).set(w);
        }
        for (label, w) in SENTIMENTS.iter().zip(phase.sentiment_weights()) {
            g.sentiment.with_label_values(&[label]).set(w);
        }
        g.safety_issue.set(phase.ratio(Ratio::ChatSafetyIssue));
        if changed {
            g.changes.inc();
        }
    }

    /// Every series as it is now: what `/metrics` encodes, and what the console samples.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        // The phase gauges are read in one piece: a phase change waits for the gather.
        let _phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        let pairs = self.ratio_snapshot();
        let mut families = self.registry.gather();
        for sample in pairs {
            overwrite(&mut families, sample);
        }
        families
    }

    /// The counters an SLI divides, numerators read before denominators. The request path
    /// counts the other way round (attempts, then success), so in one snapshot no ratio can
    /// exceed 1; the registry reads its collectors in hash order, which twice showed
    /// `login_success_total` above `login_attempts_total` under load.
    fn ratio_snapshot(&self) -> Vec<prometheus::proto::MetricFamily> {
        use prometheus::core::Collector;
        let endpoints = [
            &self.login,
            &self.logout,
            &self.startup,
            &self.pref_get,
            &self.pref_update,
        ];
        let c = &self.chat;
        let numerators = endpoints
            .iter()
            .map(|e| &e.success)
            .chain([&c.success, &c.safety_issue])
            .chain(&c.sentiment)
            .chain(&c.outcome);
        let denominators = endpoints.iter().map(|e| &e.attempts).chain([&c.calls]);
        // Two passes: every numerator is read before any denominator.
        let mut out: Vec<_> = numerators.flat_map(Collector::collect).collect();
        // The counters are relaxed atomics: keep the compiler and the CPU from hoisting a
        // denominator's load above a numerator's.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        out.extend(denominators.flat_map(Collector::collect));
        out
    }

    /// The Prometheus text exposition of everything above.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(16 * 1024);
        // Encoding into a Vec only fails on invalid metric families, which `new` rules out.
        if let Err(e) = TextEncoder::new().encode(&self.gather(), &mut buf) {
            tracing::error!(error = %e, "encoding metrics");
        }
        buf
    }
}

/// Puts `sample` (one counter's family, as it collects itself) in place of that counter's
/// sample in `families`, matched by name and labels.
fn overwrite(
    families: &mut [prometheus::proto::MetricFamily],
    sample: prometheus::proto::MetricFamily,
) {
    let Some(family) = families.iter_mut().find(|f| f.name() == sample.name()) else {
        return;
    };
    for new in sample.get_metric() {
        if let Some(m) = family
            .mut_metric()
            .iter_mut()
            .find(|m| m.get_label() == new.get_label())
        {
            m.set_counter(new.get_counter().clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Item 9 of issue 24: while the request path counts (attempts first, as it does), no
    /// gather shows a success, sentiment or outcome count above its attempts or calls.
    #[test]
    fn no_scrape_shows_a_ratio_above_one() {
        let m = std::sync::Arc::new(Metrics::new(None).unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (m, stop) = (m.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        for e in [&m.login, &m.logout, &m.startup, &m.pref_get, &m.pref_update] {
                            e.attempts.inc();
                            e.success.inc();
                        }
                        m.chat.calls.inc();
                        m.chat.success.inc();
                        m.chat.sentiment[0].inc();
                        m.chat.outcome[3].inc();
                    }
                })
            })
            .collect();
        let value = |fs: &[prometheus::proto::MetricFamily], name: &str| -> f64 {
            fs.iter()
                .filter(|f| f.name() == name)
                .flat_map(|f| f.get_metric())
                .map(|m| m.get_counter().get_value())
                .sum()
        };
        let mut worst = String::new();
        for _ in 0..2000 {
            let fs = m.gather();
            for e in ["login", "Logout", "startup", "prefGet", "prefUpdate"] {
                let (a, s) = (
                    value(&fs, &format!("movieguru_{e}_attempts_total")),
                    value(&fs, &format!("movieguru_{e}_success_total")),
                );
                if s > a {
                    worst = format!("{e}: success {s} > attempts {a}");
                }
            }
            let calls = value(&fs, "movieguru_chat_calls_total");
            for n in [
                "movieguru_chat_calls_success_total",
                "movieguru_chat_sentiment_counter_total",
                "movieguru_chat_outcome_counter_total",
            ] {
                if value(&fs, n) > calls {
                    worst = format!("{n} {} > calls {calls}", value(&fs, n));
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        assert!(worst.is_empty(), "{worst}");
        assert!(m.login.attempts.get() > 0);
    }
}
