//! What a rehearsal expects before it looks, and the one model of it the end-to-end suite uses
//! too: each SLO's error ratio and event rate under each step's phase and load (from the phase's
//! own numbers, as the mock draws them), laid over the steps and run through `slo::predict`'s
//! burn-rate model, which says when each alert fires and resolves.
//!
//! Chance enters twice. The mock's draws: under exact draws (the mocks rehearse starts) a window
//! of n requests holds n·p bad ones within [`exact_events`]; under random draws its ratio
//! scatters binomially. And the load's own: a journey picks each task at random by weight, so
//! how many requests each step puts in a window is drawn too, which moves a window that spans
//! steps of different ratios. [`SIGMAS_REHEARSAL`] standard deviations bound what is random at
//! the stated 1 in 1,000.
//! A deadline is the late edge of that band plus each delay between the window crossing and
//! the rehearsal seeing the alert ([`Deadline`]), nothing fixed.

use std::time::Duration;

use engine::journey::plan::TaskPacing;
use engine::journey::spec::Journey;
use mock_server::Phase;
use mock_server::answer::latency::{LatencyRange, Shape};
use mock_server::phase::{Ratio, Timed};
use mock_server::route::Route;
use slo::Compression;
use slo::predict::{History, Span, Spread, firing_spans};
use slo::spec::{Policy, Slo, Spec};

/// One-sided normal quantile for 1 in 1,000: the rehearsal's bound on a wrong verdict per
/// expectation under random draws.
pub const SIGMAS_REHEARSAL: f64 = 3.09;

/// Chat latency bound the chat-latency SLI counts as good (its `le` bucket), milliseconds.
const CHAT_GOOD_MS: f64 = 5000.0;
/// Startup latency bound the startup-latency SLI counts as good, milliseconds.
const STARTUP_GOOD_MS: f64 = 1000.0;

/// Requests per second sent to each endpoint an SLO watches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Traffic {
    pub chat: f64,
    pub login: f64,
    pub startup: f64,
    /// `GET /`, the route the canary availability SLO watches when it is scoped to the
    /// Serverless Journey's service (the health check here, which never fails).
    pub root: f64,
}

impl Traffic {
    pub const NONE: Traffic = Traffic {
        chat: 0.0,
        login: 0.0,
        startup: 0.0,
        root: 0.0,
    };

    /// What `users` running `journey` send at `pacing`, and the tasks per second behind it:
    /// tasks spread by weight, each task's requests counted on their routes. Answers are taken as instant
    /// (the rehearsal's mocks record latency without sleeping).
    pub fn of_journey(journey: &Journey, users: usize, pacing: &TaskPacing) -> (Traffic, f64) {
        let total_weight: u32 = journey.tasks.iter().map(|t| t.weight).sum();
        if total_weight == 0 || users == 0 {
            return (Traffic::NONE, 0.0);
        }
        let share = |t: &engine::journey::spec::Task| f64::from(t.weight) / f64::from(total_weight);
        let tasks_per_sec = match pacing {
            TaskPacing::Rate(r) => *r,
            TaskPacing::Wait(w) => {
                let pauses: f64 = journey
                    .tasks
                    .iter()
                    .map(|t| {
                        share(t)
                            * t.requests
                                .iter()
                                .map(|r| r.pause.as_secs_f64())
                                .sum::<f64>()
                    })
                    .sum();
                let think = (w.min + w.max).as_secs_f64() / 2.0 + pauses;
                if think <= 0.0 {
                    return (Traffic::NONE, 0.0);
                }
                users as f64 / think
            }
        };
        let mut out = Traffic::NONE;
        for task in &journey.tasks {
            for request in &task.requests {
                let rate = tasks_per_sec * share(task);
                match Route::from_path(request.path.path()) {
                    Route::Chat => out.chat += rate,
                    Route::Login => out.login += rate,
                    Route::Startup => out.startup += rate,
                    Route::Root => out.root += rate,
                    _ => {}
                }
            }
        }
        (out, tasks_per_sec)
    }

    /// The same mix, `factor` times as fast.
    pub fn times(self, factor: f64) -> Traffic {
        Traffic {
            chat: self.chat * factor,
            login: self.login * factor,
            startup: self.startup * factor,
            root: self.root * factor,
        }
    }
}

/// Why no prediction could be made.
#[derive(Debug, Clone, PartialEq)]
pub enum NoPrediction {
    /// The alert does not come from the spec the rules were generated from.
    NotInSpec,
    /// The model has no error ratio for this SLO or phase.
    Unmodelled,
    /// The model says the alert does not fire during the step.
    NeverFires,
}

/// The error ratio `slo` sees under `phase` and its events per second under `traffic`;
/// `Unmodelled` for an SLO or a latency shape this model does not know.
pub fn sli(slo: &Slo, phase: &Phase, traffic: &Traffic) -> Result<(f64, f64), NoPrediction> {
    let failing = |r: Ratio| 1.0 - phase.ratio(r);
    Ok(match slo.name.as_str() {
        "chat-latency" => (
            slower_than(phase.latency(Timed::Chat), CHAT_GOOD_MS)?,
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
            slower_than(phase.latency(Timed::Startup), STARTUP_GOOD_MS)?,
            traffic.startup,
        ),
        "startup-success" => (failing(Ratio::StartupSuccess), traffic.startup),
        "login-availability" => (failing(Ratio::LoginSuccess), traffic.login),
        // The canary SLO counts 5xx answers: of every route, or (scoped to the Serverless
        // Journey's service) of `GET /`, the never-failing health check here. Only phases in
        // which no request fails are modelled, and there both scopings read 0.
        "canary-availability" => {
            let failures = [
                Ratio::ChatSuccess,
                Ratio::LoginSuccess,
                Ratio::StartupSuccess,
            ]
            .map(failing);
            if failures.iter().any(|&f| f != 0.0) {
                return Err(NoPrediction::Unmodelled);
            }
            (0.0, traffic.root)
        }
        _ => return Err(NoPrediction::Unmodelled),
    })
}

/// How many events per window exact draws may put off n·p for `slo`: successes are within 1;
/// outcomes and latencies within 2 (a category, or the draws above a bucket, is an interval of
/// the sequence's range, and rounds on both ends).
pub fn exact_events(slo: &Slo) -> f64 {
    match slo.name.as_str() {
        "startup-success" | "login-availability" | "canary-availability" => 1.0,
        _ => 2.0,
    }
}

/// Share of draws above `bound` from a uniform latency range (the only shape modelled).
fn slower_than(range: &LatencyRange, bound: f64) -> Result<f64, NoPrediction> {
    if range.shape != Shape::Uniform {
        return Err(NoPrediction::Unmodelled);
    }
    let (min, max) = (range.min_ms as f64, range.max_ms as f64);
    if max <= min {
        return Ok(f64::from(u8::from(min > bound)));
    }
    Ok(((max - bound) / (max - min)).clamp(0.0, 1.0))
}

/// The SLO and policy whose alert is named `alert`.
pub fn find_alert<'a>(spec: &'a Spec, alert: &str) -> Option<(&'a Slo, &'a Policy)> {
    spec.slos.iter().find_map(|slo| {
        slo.alerts
            .iter()
            .map(|&p| &spec.policies[p])
            .find(|policy| slo.alert_name(policy) == alert)
            .map(|policy| (slo, policy))
    })
}

/// One step as the model reads it: how long (scaled), under which phase, at which load.
#[derive(Clone, Copy, Debug)]
pub struct StepModel<'a> {
    pub duration: Duration,
    pub phase: &'a Phase,
    pub traffic: Traffic,
    /// The tasks per second behind `traffic`, to say a load in the file's own terms.
    pub tasks_per_sec: f64,
}

/// `slo`'s history over `steps`, as Prometheus stores it from the first step on.
pub fn history(
    slo: &Slo,
    steps: &[StepModel<'_>],
    scrape: Duration,
) -> Result<History, NoPrediction> {
    // A journey picks each task at random by weight: the counts are drawn too.
    let mut history = History::new(0.0, scrape).counted_at_random();
    for step in steps {
        let (ratio, events) = sli(slo, step.phase, &step.traffic)?;
        history = history.then_at(step.duration, ratio, events);
    }
    Ok(history)
}

/// When one alert fires over a history: nominally, and at both edges of chance.
#[derive(Clone, Debug, PartialEq)]
pub struct Runs {
    pub nominal: Vec<Span>,
    /// Every window's ratio at the high edge: fires first, resolves last.
    pub high: Vec<Span>,
    /// Every window's ratio at the low edge: fires last, resolves first.
    pub low: Vec<Span>,
}

/// The firing spans of `slo`'s `policy` alert over `history`, with `spread` as the high edge
/// (its negation the low one).
pub fn runs(
    slo: &Slo,
    policy: &Policy,
    history: &History,
    by: Compression,
    spread: Spread,
) -> Runs {
    let low = spread.opposite();
    Runs {
        nominal: firing_spans(slo, policy, history, by, Spread::NONE),
        high: firing_spans(slo, policy, history, by, spread),
        low: firing_spans(slo, policy, history, by, low),
    }
}

/// The first moment at or after `from` (seconds into the history) at which a run fires.
pub fn first_firing(spans: &[Span], from: f64) -> Option<f64> {
    spans
        .iter()
        .find(|s| s.until.is_none_or(|u| u > from))
        .map(|s| s.from.max(from))
}

/// Whether a run fires at any moment of `[from, to)`.
pub fn fires_during(spans: &[Span], from: f64, to: f64) -> bool {
    spans
        .iter()
        .any(|s| s.from < to && s.until.is_none_or(|u| u > from))
}

/// Whether a run still fires at `at`.
pub fn firing_at(spans: &[Span], at: f64) -> bool {
    spans
        .iter()
        .any(|s| s.from <= at && s.until.is_none_or(|u| u > at))
}

/// What a deadline is made of, each part in the rehearsal's (scaled) time.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Deadline {
    /// When the model says the alert fires, from its step's start.
    pub predicted: Duration,
    /// How much later the draws may make it fire: the late edge of the band.
    pub band: Duration,
    /// Two scrape intervals: until the crossing is scraped, and how far a `rate()` window's
    /// first sample may sit inside the window the model reads.
    pub scrape: Duration,
    /// The rule group's evaluation interval.
    pub evaluation: Duration,
    /// The rule's `for:` (generated rules have none).
    pub hold: Duration,
    /// The rehearsal's poll of Prometheus' alerts.
    pub poll: Duration,
    /// For `notified`: Alertmanager's group_wait and the poll of what reached the receivers.
    pub notify: Duration,
}

impl Deadline {
    /// The latest time, from the step's start, at which the alert still counts as on time.
    pub fn total(&self) -> Duration {
        self.predicted
            + self.band
            + self.scrape
            + self.evaluation
            + self.hold
            + self.poll
            + self.notify
    }

    /// The sum as the rehearsal prints it before the load.
    pub fn describe(&self) -> String {
        let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
        let mut out = format!(
            "predicted {} + band {} + 2 scrapes {} + evaluation {} + for {} + poll {}",
            s(self.predicted),
            s(self.band),
            s(self.scrape),
            s(self.evaluation),
            s(self.hold),
            s(self.poll)
        );
        if !self.notify.is_zero() {
            out.push_str(&format!(" + notification {}", s(self.notify)));
        }
        out.push_str(&format!(" = deadline {}", s(self.total())));
        out
    }
}

/// Seconds from the history's start to the start of step `step`.
pub fn step_start(steps: &[StepModel<'_>], step: usize) -> f64 {
    steps[..step].iter().map(|s| s.duration.as_secs_f64()).sum()
}

/// When `alert` fires, counted from the start of step `step`, nominally and at the band's late
/// edge (`spread` is the band's high edge; its negation the late one).
pub fn fires_after(
    spec: &Spec,
    alert: &str,
    steps: &[StepModel<'_>],
    step: usize,
    (by, scrape): (Compression, Duration),
    spread: Spread,
) -> Result<(Duration, Option<Duration>), NoPrediction> {
    let (slo, policy) = find_alert(spec, alert).ok_or(NoPrediction::NotInSpec)?;
    let history = history(slo, &steps[..=step], scrape)?;
    let start = step_start(steps, step);
    // Only the nominal run and the late (low) edge matter here: the high edge fires earlier.
    let at = |spread: Spread| {
        let spans = firing_spans(slo, policy, &history, by, spread);
        first_firing(&spans, start).map(|t| Duration::from_secs_f64((t - start).max(0.0)))
    };
    let nominal = at(Spread::NONE).ok_or(NoPrediction::NeverFires)?;
    Ok((nominal, at(spread.opposite())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::from_toml(include_str!("../../../scenarios/slo/slos.toml")).unwrap()
    }

    fn phase(preset: &str) -> Phase {
        Phase::workshop_default()
            .merged(scenarios::preset(preset).unwrap().as_bytes())
            .unwrap()
    }

    const BUSY: Traffic = Traffic {
        chat: 150.0,
        login: 10.0,
        startup: 10.0,
        root: 10.0,
    };

    #[test]
    fn a_bad_change_fires_the_fast_burn_within_its_short_window_and_a_healthy_phase_never() {
        let spec = spec();
        let (healthy, bad) = (phase("challenge5"), phase("bad-change"));
        let steps = [
            StepModel {
                duration: Duration::from_secs(60),
                phase: &healthy,
                traffic: BUSY,
                tasks_per_sec: 350.0,
            },
            StepModel {
                duration: Duration::from_secs(120),
                phase: &bad,
                traffic: BUSY,
                tasks_per_sec: 350.0,
            },
        ];
        let by = (Compression::E2E, Duration::from_secs(1));
        let (at, late) = fires_after(
            &spec,
            "ChatLatencyFastBurn5m",
            &steps,
            1,
            by,
            Spread::Sigmas(3.09),
        )
        .unwrap();
        // 60x: a 5m/1h burn-rate alert reads 5 s and 60 s windows; the breach fills them fast.
        assert!(
            at > Duration::ZERO && at < Duration::from_secs(60),
            "{at:?}"
        );
        let late = late.unwrap();
        assert!(
            late >= at && late < at + Duration::from_secs(5),
            "{at:?} {late:?}"
        );
        assert_eq!(
            fires_after(&spec, "ChatLatencyFastBurn5m", &steps, 0, by, Spread::NONE),
            Err(NoPrediction::NeverFires)
        );
        assert_eq!(
            fires_after(&spec, "NoSuchAlert", &steps, 1, by, Spread::NONE),
            Err(NoPrediction::NotInSpec)
        );
    }

    #[test]
    fn the_workshop_journey_sends_six_chats_in_fourteen_tasks() {
        let journey = Journey::default_workshop();
        let (t, tasks) = Traffic::of_journey(&journey, 10, &TaskPacing::Rate(14.0));
        assert_eq!(tasks, 14.0);
        assert!((t.chat - 6.0).abs() < 1e-9, "{t:?}");
        assert!((t.login - 1.0).abs() < 1e-9, "{t:?}");
        assert!((t.startup - 1.0).abs() < 1e-9, "{t:?}");
        assert_eq!(
            Traffic::of_journey(&journey, 0, &TaskPacing::Rate(14.0)),
            (Traffic::NONE, 0.0)
        );
    }

    #[test]
    fn a_deadline_is_the_sum_of_its_parts() {
        let ms = Duration::from_millis;
        let d = Deadline {
            predicted: ms(1000),
            band: ms(200),
            scrape: ms(150),
            evaluation: ms(300),
            hold: ms(0),
            poll: ms(250),
            notify: ms(0),
        };
        assert_eq!(d.total(), ms(1900));
        assert!(
            d.describe().ends_with("= deadline 1.90 s"),
            "{}",
            d.describe()
        );
    }
}
