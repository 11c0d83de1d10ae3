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

use loadgen::rehearse::model::{self, Traffic};
use mock_server::Phase;
use mock_server::drive::timeline::PhasePlan;
use slo::Compression;
use slo::predict::{History, Span, Spread};
use slo::spec::{Slo, Spec};

use crate::stack::SCRAPE_INTERVAL;

/// How many standard deviations chance may move a window's ratio (the suite's binomial bound).
pub const SIGMAS: f64 = 4.0;

/// The error ratio `slo` sees under `phase` with `traffic`, and its events per second: loadgen
/// rehearse's model, with one case of the suite's own. Panics for an SLO or phase it does not
/// model, naming it, so a new SLO cannot go unchecked.
pub fn error_ratio(slo: &Slo, phase: &Phase, traffic: &Traffic) -> (f64, f64) {
    // Client-side (loadgen's client metrics): the suite's stack does not export them, so
    // Prometheus sees no traffic and no alert; a ratio of 0 predicts the same silence.
    if slo.name == "startup-latency-client" {
        return (0.0, traffic.startup);
    }
    model::sli(slo, phase, traffic).unwrap_or_else(|_| {
        panic!(
            "loadgen's rehearse model has no model of SLO {:?} under this phase: add one",
            slo.name
        )
    })
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
            let runs = model::runs(
                slo,
                policy,
                &history,
                Compression::E2E,
                Spread::Sigmas(SIGMAS),
            );
            predictions.push(Prediction {
                alert: slo.alert_name(policy),
                nominal: runs.nominal,
                high: runs.high,
                low: runs.low,
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
