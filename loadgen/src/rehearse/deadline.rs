//! Each expectation's deadline, derived part by part before any load, and the warnings for the
//! expectations whose verdict chance could decide: the model's runs at both edges of the draws'
//! band ([`model::runs`]) say whether the alert must fire, must stay quiet or must resolve in
//! time; when they disagree the rehearsal says so and names the load that would settle it.

use std::time::Duration;

use slo::predict::Spread;

use super::file::{Expectation, Expected, Within};
use super::model::{self, Deadline, NoPrediction, StepModel};
use super::notify::AlertmanagerSource;
use super::plan::{POLL, RehearseError, RehearsePlan, Timing, load_options};
use mock_server::state::draw::DrawMode;

/// Loads tried, as multiples of the file's, when an expectation is left to chance.
const FACTORS: [f64; 10] = [1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0];

/// What the derivation hands the rehearsal: each expectation's (prediction, deadline), and
/// the lines it prints before the load (the deadlines' parts, then any warning).
pub struct Derived {
    pub timings: Vec<Timing>,
    pub notes: Vec<String>,
}

/// The delays between a window crossing and the rehearsal seeing the alert, for `plan`.
struct Delays {
    /// One scrape interval; a deadline counts two (see [`Deadline::scrape`]).
    scrape: Duration,
    evaluation: Duration,
    poll: Duration,
    /// Alertmanager's group_wait for generated receivers; none when the routes are read.
    group_wait: Duration,
}

impl Delays {
    fn of(plan: &RehearsePlan, by: slo::Compression) -> Delays {
        let resolution = slo::Resolution::for_scale(by);
        let evaluation = slo::rules::EVALUATION_INTERVAL
            .compress(by)
            .unwrap_or(resolution.evaluation);
        Delays {
            scrape: resolution.scrape.as_std(),
            evaluation: evaluation.as_std(),
            poll: POLL,
            group_wait: match plan.alertmanager {
                Some(AlertmanagerSource::Generated) => super::notify::group_wait(plan.time_scale),
                _ => Duration::ZERO,
            },
        }
    }

    /// The parts after the crossing, for an expectation `notified` or not.
    fn deadline(&self, predicted: Duration, late: Duration, notified: bool) -> Deadline {
        Deadline {
            predicted,
            band: late.saturating_sub(predicted),
            scrape: self.scrape * 2,
            evaluation: self.evaluation,
            hold: Duration::ZERO,
            poll: self.poll,
            notify: if notified {
                self.group_wait + self.poll
            } else {
                Duration::ZERO
            },
        }
    }

    /// Everything but the crossing itself.
    fn lag(&self) -> Duration {
        self.scrape * 2 + self.evaluation + self.poll
    }
}

/// The band of the draws the mocks make: exact by default, random with `--draws random` or a
/// mock of the user's (`--host`), which the rehearsal cannot know draws exactly.
fn spread(plan: &RehearsePlan, slo: &slo::spec::Slo) -> Spread {
    if exact(plan) {
        Spread::Exact {
            events: model::exact_events(slo),
            sigmas: model::SIGMAS_REHEARSAL,
        }
    } else {
        Spread::Sigmas(model::SIGMAS_REHEARSAL)
    }
}

/// Each expectation's prediction and deadline after its step starts (scaled), and what the
/// rehearsal says about them before the load; `durations` are the steps' (scaled).
pub fn deadlines(
    plan: &RehearsePlan,
    spec: Option<&slo::Spec>,
    durations: &[Duration],
) -> Result<Derived, RehearseError> {
    let startup = mock_server::Phase::workshop_default();
    let phases = mock_server::drive::timeline::PhasePlan::new(&plan.rehearsal.timeline, &startup)
        .map_err(|e| RehearseError::Start(e.to_string()))?;
    let loads = crate::scenario::step_loads(&plan.rehearsal.timeline, &load_options(plan))?;
    let steps: Vec<model::StepModel<'_>> = durations
        .iter()
        .zip(&phases.steps)
        .zip(&loads)
        .map(|((d, s), load)| {
            let (traffic, tasks_per_sec) =
                model::Traffic::of_journey(load.journey_spec(), load.users, &load.pacing);
            model::StepModel {
                duration: *d,
                phase: &s.phase,
                traffic,
                tasks_per_sec,
            }
        })
        .collect();
    derive(plan, spec, &steps)
}

/// Whether the mocks draw exactly: only the ones the rehearsal starts can be told to.
fn exact(plan: &RehearsePlan) -> bool {
    plan.host.is_none() && plan.draws == DrawMode::Exact
}

/// Derives every expectation's timing over the steps' models; the steps are `steps` (durations already scaled).
fn derive(
    plan: &RehearsePlan,
    spec: Option<&slo::Spec>,
    steps: &[StepModel<'_>],
) -> Result<Derived, RehearseError> {
    let by = slo::Compression::new(plan.time_scale).ok_or(RehearseError::TimeScale)?;
    let delays = Delays::of(plan, by);
    let mut out = Derived {
        timings: Vec::new(),
        notes: Vec::new(),
    };
    for e in &plan.rehearsal.expectations {
        let timing = match e.within {
            None => (None, None),
            Some(Within::Fixed(d)) => (None, Some(d / plan.time_scale.max(1))),
            Some(Within::Predicted) => {
                let spec = spec.ok_or_else(|| {
                    no(
                        e,
                        "needs rules generated from a spec (--spec or the default), not --rules",
                    )
                })?;
                let (slo, _) = model::find_alert(spec, &e.alert)
                    .ok_or_else(|| no(e, "is not an alert of the spec"))?;
                let (at, late) = model::fires_after(
                    spec,
                    &e.alert,
                    steps,
                    e.step,
                    (by, delays.scrape),
                    spread(plan, slo),
                )
                .map_err(|n| match n {
                    NoPrediction::NotInSpec => no(e, "is not an alert of the spec"),
                    NoPrediction::Unmodelled => no(e, "has no model for this SLO or phase"),
                    NoPrediction::NeverFires => no(e, "is predicted never to fire in this step"),
                })?;
                let deadline = delays.deadline(at, late.unwrap_or(at), e.notified.is_some());
                out.notes
                    .push(format!("{}: {}", e.title(), deadline.describe()));
                (Some(at), Some(deadline.total()))
            }
        };
        if let Some(spec) = spec {
            let case = Case {
                plan,
                spec,
                steps,
                e,
                deadline: timing.1,
                delays: &delays,
            };
            if let Some(why) = left_to_chance(&case, 1.0) {
                out.notes.push(warning(&case, &why));
            }
        }
        out.timings.push(timing);
    }
    Ok(out)
}

fn no(e: &Expectation, why: &str) -> RehearseError {
    RehearseError::NoPrediction {
        step: e.step_name.clone(),
        alert: e.alert.clone(),
        why: why.into(),
    }
}

/// One expectation with what judging it by the model needs.
struct Case<'a> {
    plan: &'a RehearsePlan,
    spec: &'a slo::Spec,
    steps: &'a [StepModel<'a>],
    e: &'a Expectation,
    deadline: Option<Duration>,
    delays: &'a Delays,
}

/// Why chance could decide the case's verdict at `factor` times the file's load, or `None` when
/// both edges of the band agree with it (or the model cannot tell: an SLO or phase it does not
/// know, an alert of a rule file not generated from the spec).
fn left_to_chance(case: &Case<'_>, factor: f64) -> Option<String> {
    let Case {
        plan,
        spec,
        steps,
        e,
        deadline,
        delays,
    } = *case;
    let (slo, policy) = model::find_alert(spec, &e.alert)?;
    let scaled: Vec<StepModel<'_>> = steps
        .iter()
        .map(|s| StepModel {
            traffic: s.traffic.times(factor),
            ..*s
        })
        .collect();
    let by = slo::Compression::new(plan.time_scale)?;
    let history = model::history(slo, &scaled, delays.scrape).ok()?;
    let runs = model::runs(slo, policy, &history, by, spread(plan, slo));
    let start = model::step_start(&scaled, e.step);
    let end = start + scaled[e.step].duration.as_secs_f64();
    let lag = delays.lag().as_secs_f64();
    let secs = |t: f64| format!("{:.1} s", t - start);
    let state = if e.notified.is_some() {
        Expected::Firing
    } else {
        e.state
    };
    match state {
        Expected::Firing => {
            // A predicted deadline follows the band's late edge, so the question is only
            // whether that edge fires in the step at all.
            let by_then = match e.within {
                Some(Within::Fixed(_)) => deadline.map_or(end, |d| start + d.as_secs_f64() - lag),
                _ => end,
            };
            match model::first_firing(&runs.low, start) {
                Some(t) if t <= by_then => None,
                Some(t) => Some(format!(
                    "at the band's low edge it fires only at {}",
                    secs(t)
                )),
                None => Some("at the band's low edge it never fires".into()),
            }
        }
        // An alert that stops just before the step is still seen firing for one lag into it.
        Expected::Inactive => model::fires_during(&runs.high, start - lag, end)
            .then(|| "at the band's high edge it fires during the step".into()),
        Expected::Resolved => {
            let by_then = deadline.map_or(end, |d| start + d.as_secs_f64()) - lag;
            if !model::fires_during(&runs.low, 0.0, by_then) {
                Some("at the band's low edge it never fires before, so it cannot resolve".into())
            } else if model::firing_at(&runs.high, by_then) {
                Some(format!(
                    "at the band's high edge it still fires at {}",
                    secs(by_then)
                ))
            } else {
                None
            }
        }
    }
}

/// The case's warning, naming the load at which it would be decided, if one up to 64x is.
fn warning(case: &Case<'_>, why: &str) -> String {
    let (plan, e) = (case.plan, case.e);
    let draws = if exact(plan) {
        "exact draws"
    } else {
        "random draws"
    };
    let mut out = format!(
        "warning: {}: under {draws} at this load, chance may decide the verdict (more often \
         than 1 in 1,000): {why}",
        e.title()
    );
    let step = &case.steps[e.step];
    let settled = FACTORS.iter().find(|&&f| left_to_chance(case, f).is_none());
    let rate = |f: f64| step.tasks_per_sec * f;
    match settled {
        Some(&f) => out.push_str(&format!(
            "; it is decided from about {:.0} tasks/s (load = {{ rate = {:.0} }})",
            rate(f),
            rate(f).ceil()
        )),
        None => out.push_str(&format!(
            "; no load up to {}x ({:.0} tasks/s) decides it: change the phase, the step's \
             duration or the deadline",
            FACTORS[FACTORS.len() - 1],
            rate(FACTORS[FACTORS.len() - 1])
        )),
    }
    out
}
