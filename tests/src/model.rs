//! What the alerts must do, worked out before looking at Prometheus: each SLO's error ratio
//! under each phase of the timeline (from the phase's own numbers), laid out over the history
//! Prometheus really has (from its first scrape), and run through `slo::predict`.
//!
//! Every prediction comes in three runs: nominal, and with every window's ratio moved 4 standard
//! deviations up (fires earliest, resolves latest) or down. An alert fires for certain only if
//! it fires in the low run, and stays quiet for certain only if it stays quiet in the high run;
//! anything between means the scenario leaves the outcome to chance, and [`Prediction::certain`]
//! refuses it rather than letting a test flake.

use std::time::Duration;

use mock_server::Phase;
use mock_server::answer::latency::{LatencyRange, Shape};
use mock_server::drive::timeline::PhasePlan;
use mock_server::phase::{Ratio, Timed};
use slo::Compression;
use slo::predict::{History, Span, firing_spans};
use slo::spec::{Slo, Spec};

use crate::stack::{SCRAPE_INTERVAL, Traffic};

/// How many standard deviations chance may move a window's ratio (the suite's binomial bound).
pub const SIGMAS: f64 = 4.0;

/// Chat latency bound the chat-latency SLI counts as good (its `le` bucket), milliseconds.
const CHAT_GOOD_MS: f64 = 5000.0;
/// Startup latency bound the startup-latency SLI counts as good, milliseconds.
const STARTUP_GOOD_MS: f64 = 1000.0;

/// The error ratio `slo` sees under `phase` with `traffic`, and its events per second.
/// Panics for an SLO this model does not know, naming it, so a new SLO cannot go unchecked.
pub fn error_ratio(slo: &Slo, phase: &Phase, traffic: &Traffic) -> (f64, f64) {
    let failing = |r: Ratio| 1.0 - phase.ratio(r);
    match slo.name.as_str() {
        "chat-latency" => (
            slower_than(phase.latency(Timed::Chat), CHAT_GOOD_MS),
            traffic.chat,
        ),
        // Outcomes are drawn on successful chats only; weights left over go to Unclassified.
        "chat-engagement" => {
            let [engaged, acknowledged, _, _] = phase.outcome_weights();
            (
                1.0 - engaged - acknowledged,
                traffic.chat * phase.ratio(Ratio::ChatSuccess),
            )
        }
        "startup-latency" => (
            slower_than(phase.latency(Timed::Startup), STARTUP_GOOD_MS),
            traffic.startup,
        ),
        "startup-success" => (failing(Ratio::StartupSuccess), traffic.startup),
        "login-availability" => (failing(Ratio::LoginSuccess), traffic.login),
        // The canary SLO counts 5xx answers: of every route, or (scoped to the Serverless
        // Journey's service) of `GET /`, which is the never-failing health check here. Only
        // phases in which no request fails are modelled, and there both scopings read 0.
        "canary-availability" => {
            let failing = [
                Ratio::ChatSuccess,
                Ratio::LoginSuccess,
                Ratio::StartupSuccess,
            ]
            .map(failing);
            assert!(
                failing.iter().all(|&f| f == 0.0),
                "the canary SLO is modelled only for phases where every call succeeds: {failing:?}"
            );
            (0.0, traffic.root)
        }
        // Client-side (loadgen's client metrics): every request answered within a second in
        // Record mode, which never sleeps. The stack does not export client metrics, so
        // Prometheus sees no traffic and no alert; a ratio of 0 predicts the same silence.
        "startup-latency-client" => (0.0, traffic.startup),
        other => panic!("tests/src/model.rs has no model of SLO {other:?}: add one"),
    }
}

/// Share of draws above `bound` from a uniform latency range (the only shape modelled).
fn slower_than(range: &LatencyRange, bound: f64) -> f64 {
    assert_eq!(
        range.shape,
        Shape::Uniform,
        "only uniform latency is modelled"
    );
    let (min, max) = (range.min_ms as f64, range.max_ms as f64);
    if max <= min {
        return f64::from(u8::from(min > bound));
    }
    ((max - bound) / (max - min)).clamp(0.0, 1.0)
}

/// When one alert fires, nominally and at the edges of chance.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub alert: String,
    pub nominal: Vec<Span>,
    /// Every window's ratio `SIGMAS` standard deviations higher: fires first, resolves last.
    pub high: Vec<Span>,
    /// Every window's ratio `SIGMAS` standard deviations lower: fires last, resolves first.
    pub low: Vec<Span>,
}

/// What chance leaves of an alert's fate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Certain {
    /// Never fires, even in the high run.
    Quiet,
    /// Fires once in every run: first between `fire.0` and `fire.1`, and resolves between
    /// `resolve.0` and `resolve.1`, or (`None`) still fires at the end of the history.
    Fires {
        fire: (f64, f64),
        resolve: Option<(f64, f64)>,
    },
}

impl Prediction {
    /// The outcome every run agrees on, or why the scenario leaves it to chance.
    pub fn certain(&self) -> Result<Certain, String> {
        let runs = [&self.low, &self.nominal, &self.high];
        if runs.iter().all(|r| r.is_empty()) {
            return Ok(Certain::Quiet);
        }
        let [low, nominal, high] = runs.map(|r| match r.as_slice() {
            [one] => Some(*one),
            _ => None,
        });
        let (Some(low), Some(_), Some(high)) = (low, nominal, high) else {
            return Err(format!(
                "{}: chance decides whether it fires, or how often: low {:?}, nominal {:?}, high {:?}",
                self.alert, self.low, self.nominal, self.high
            ));
        };
        let resolve = match (high.until, low.until) {
            (None, None) => None,
            (Some(late), Some(early)) => Some((early, late)),
            _ => {
                return Err(format!(
                    "{}: chance decides whether it resolves before the end: low {low:?}, high {high:?}",
                    self.alert
                ));
            }
        };
        Ok(Certain::Fires {
            fire: (high.from, low.from),
            resolve,
        })
    }
}

/// Every alert of `spec` over the run: the mock applied `plan`'s steps from time 0 (they do
/// not repeat), Prometheus' first sample came `first_sample` later, and the run ends at `end`.
/// Times in the predictions count from the first sample.
pub fn predict(
    spec: &Spec,
    plan: &PhasePlan,
    traffic: &Traffic,
    first_sample: Duration,
    end: Duration,
) -> Vec<Prediction> {
    let mut predictions = Vec::new();
    for slo in &spec.slos {
        let history = history(slo, plan, traffic, first_sample, end);
        for &p in &slo.alerts {
            let policy = &spec.policies[p];
            let run = |sigmas| firing_spans(slo, policy, &history, Compression::E2E, sigmas);
            predictions.push(Prediction {
                alert: slo.alert_name(policy),
                nominal: run(0.0),
                high: run(SIGMAS),
                low: run(-SIGMAS),
            });
        }
    }
    predictions
}

/// The part of the run Prometheus stored, as `slo` sees it: each step cut to what lies between
/// the first sample and the end; the last step lasts until the end.
fn history(
    slo: &Slo,
    plan: &PhasePlan,
    traffic: &Traffic,
    first_sample: Duration,
    end: Duration,
) -> History {
    let events = plan
        .steps
        .first()
        .map_or(0.0, |s| error_ratio(slo, &s.phase, traffic).1);
    let mut history = History::new(events, SCRAPE_INTERVAL);
    let mut step_start = Duration::ZERO;
    for (i, step) in plan.steps.iter().enumerate() {
        let step_end = if i + 1 == plan.steps.len() {
            end
        } else {
            (step_start + step.duration).min(end)
        };
        let from = step_start.max(first_sample);
        if step_end > from {
            let (ratio, rate) = error_ratio(slo, &step.phase, traffic);
            assert!(
                (rate - events).abs() < 1e-9,
                "{}: the model assumes constant traffic, but step {:?} changes it",
                slo.name,
                step.name
            );
            history = history.then(step_end - from, ratio);
        }
        step_start += step.duration;
    }
    history
}
