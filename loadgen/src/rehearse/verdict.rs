//! Judging expectations against what Prometheus reported: the verdicts and the rehearsal's
//! report (written as the verdict table, JSON and JUnit by `crate::output`).
//!
//! Times are seconds of the rehearsal as played (after `--time-scale`), counted from the start
//! of the expectation's step. An expectation is decided as soon as its outcome cannot change:
//! a `firing` one when the alert fires or its deadline passes, an `inactive` one when its step
//! ends (or as soon as the alert fires in it), a `resolved` one when the alert, having fired
//! earlier in the rehearsal, is seen not firing, or its deadline passes. An alert that never
//! fired has not resolved: it fails `resolved`, saying so.

use std::time::Duration;

use serde::Serialize;

use super::file::{Expectation, Expected};

/// What the alert poller saw: seconds since the first step began, and the alerts firing then.
#[derive(Debug, Default)]
pub struct Seen {
    pub samples: Vec<(f64, Vec<String>)>,
    /// The last error while polling, if Prometheus stopped answering.
    pub error: Option<String>,
    /// Notifications seen (Alertmanager): seconds since the first step began, receiver, alert.
    pub notified: Vec<(f64, String, String)>,
}

/// One expectation's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub expectation: String,
    pub step: String,
    pub alert: String,
    /// The label matchers the expectation named, if any.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    pub state: Expected,
    /// When the model says the alert fires, from the step's start.
    pub predicted_secs: Option<f64>,
    /// The latest time that passes (firing expectations).
    pub deadline_secs: Option<f64>,
    /// When the alert was first seen firing in or after its step (for `resolved`: seen not
    /// firing), from the step's start.
    pub observed_secs: Option<f64>,
    pub passed: bool,
    /// Why, in words: what was seen against what was asked.
    pub detail: String,
}

/// The whole rehearsal's result.
#[derive(Debug, Clone, Serialize)]
pub struct RehearsalReport {
    pub file: String,
    pub time_scale: u32,
    /// Each step that ran, and when it ended (seconds from the first step's start).
    pub steps: Vec<(String, f64)>,
    pub verdicts: Vec<Verdict>,
    pub interrupted: bool,
}

impl RehearsalReport {
    pub fn passed(&self) -> bool {
        !self.interrupted && self.verdicts.iter().all(|v| v.passed)
    }
}

/// What a rehearsal says while it runs.
pub enum Event<'a> {
    /// Before the load: a deadline's parts, a warning, what it waits for.
    Note(&'a str),
    /// An expectation decided, the moment it is.
    Verdict(&'a Verdict),
}

/// Decides expectations as the steps end.
#[derive(Debug)]
pub struct Judge {
    pending: Vec<(Expectation, Option<Duration>, Option<Duration>)>,
    decided: Vec<(usize, Verdict)>,
    order: Vec<usize>,
}

impl Judge {
    /// `deadlines[i]` is expectation i's (prediction, deadline), from its step's start.
    pub fn new(
        expectations: &[Expectation],
        deadlines: &[(Option<Duration>, Option<Duration>)],
    ) -> Self {
        Judge {
            pending: expectations
                .iter()
                .zip(deadlines)
                .map(|(e, (p, d))| (e.clone(), *p, *d))
                .collect(),
            decided: Vec::new(),
            order: (0..expectations.len()).collect(),
        }
    }

    /// The latest absolute deadline of a pending firing expectation whose step has begun.
    pub fn latest_deadline(&self, ends: &[f64]) -> Option<f64> {
        self.pending
            .iter()
            .filter_map(|(e, _, d)| Some(step_start(ends, e.step)? + d.as_ref()?.as_secs_f64()))
            .reduce(f64::max)
    }

    /// Decides what can be decided with `seen`, the step end times so far; at `last`, everything
    /// pending is decided (a step that never ran fails as "not played").
    pub fn decide(&mut self, seen: &Seen, ends: &[f64], last: bool) -> Vec<Verdict> {
        let now = seen.samples.last().map_or(0.0, |(t, _)| *t);
        let mut out = Vec::new();
        let mut keep = Vec::new();
        let indices: Vec<usize> = self.order.drain(..).collect();
        for ((e, predicted, deadline), index) in
            std::mem::take(&mut self.pending).into_iter().zip(indices)
        {
            match judge(&e, predicted, deadline, seen, ends, now, last) {
                Some(v) => {
                    out.push(v.clone());
                    self.decided.push((index, v));
                }
                None => {
                    keep.push((e, predicted, deadline));
                    self.order.push(index);
                }
            }
        }
        self.pending = keep;
        out
    }

    /// Every verdict, in the order the file lists the expectations.
    pub fn into_verdicts(mut self) -> Vec<Verdict> {
        self.decided.sort_by_key(|(i, _)| *i);
        self.decided.into_iter().map(|(_, v)| v).collect()
    }
}

fn step_start(ends: &[f64], step: usize) -> Option<f64> {
    match step {
        0 => Some(0.0),
        k => ends.get(k - 1).copied(),
    }
}

/// First time, at or after `from`, the alert was seen not firing after it had been seen
/// firing at some earlier time of the rehearsal.
fn first_resolved(seen: &Seen, alert: &str, from: f64) -> Option<f64> {
    let mut fired = false;
    for (t, firing) in &seen.samples {
        if firing.iter().any(|a| a == alert) {
            fired = true;
        } else if fired && *t >= from {
            return Some(*t);
        }
    }
    None
}

/// Whether the alert was ever seen firing.
fn ever_fired(seen: &Seen, alert: &str) -> bool {
    seen.samples
        .iter()
        .any(|(_, firing)| firing.iter().any(|a| a == alert))
}

/// First time, at or after `from`, the alert was seen firing.
fn first_firing(seen: &Seen, alert: &str, from: f64) -> Option<f64> {
    seen.samples
        .iter()
        .find(|(t, firing)| *t >= from && firing.iter().any(|a| a == alert))
        .map(|(t, _)| *t)
}

/// A decision on one expectation: what was observed (seconds into its step), whether it
/// passed, and the words the verdict table shows.
type Decided = (Option<f64>, bool, String);

/// Where the judging stands for one expectation: its step's start and the deadline (seconds
/// since the timeline began / into the step), the time now, and whether this is the last call.
struct Watch {
    start: f64,
    deadline: f64,
    now: f64,
    last: bool,
}

impl Watch {
    /// Whether the expectation can no longer pass by waiting.
    fn over(&self) -> bool {
        self.last || self.now - self.start > self.deadline
    }

    /// Seconds watched into the step.
    fn watched(&self) -> f64 {
        (self.now - self.start).max(0.0)
    }
}

fn judge(
    e: &Expectation,
    predicted: Option<Duration>,
    deadline: Option<Duration>,
    seen: &Seen,
    ends: &[f64],
    now: f64,
    last: bool,
) -> Option<Verdict> {
    let verdict = |(observed, passed, detail): Decided| Verdict {
        expectation: e.title(),
        step: e.step_name.clone(),
        alert: e.alert.clone(),
        labels: e.labels.clone(),
        state: e.state,
        predicted_secs: predicted.map(|d| d.as_secs_f64()),
        deadline_secs: deadline.map(|d| d.as_secs_f64()),
        observed_secs: observed,
        passed,
        detail,
    };
    let Some(start) = step_start(ends, e.step) else {
        return last.then(|| {
            verdict((
                None,
                false,
                "its step was not played (interrupted, or --fail-fast)".into(),
            ))
        });
    };
    let watch = Watch {
        start,
        deadline: deadline.map_or(f64::INFINITY, |d| d.as_secs_f64()),
        now,
        last,
    };
    let decided = match (&e.notified, e.state) {
        (Some(receiver), _) => notified(e, receiver, seen, &watch),
        (None, Expected::Resolved) => resolved(&e.target(), seen, &watch),
        (None, Expected::Firing) => firing(&e.target(), seen, &watch),
        (None, Expected::Inactive) => {
            inactive(&e.target(), seen, ends.get(e.step).copied(), &watch)
        }
    };
    decided.map(verdict)
}

/// The shape every deadline expectation shares: `observed` (seconds into the step) by the
/// deadline passes as `on_time`, after it fails as `late`, and not at all fails once the watch is
/// over, in the words `missing` gives.
fn by_deadline(
    observed: Option<f64>,
    w: &Watch,
    on_time: &str,
    late: &str,
    missing: impl FnOnce() -> String,
) -> Option<Decided> {
    let d = w.deadline;
    match observed {
        Some(t) if t <= d => Some((
            Some(t),
            true,
            format!("{on_time} at {t:.1} s, deadline {d:.1} s"),
        )),
        Some(t) => Some((
            Some(t),
            false,
            format!("{late}, at {t:.1} s; deadline {d:.1} s"),
        )),
        None if w.over() => Some((None, false, missing())),
        None => None,
    }
}

/// `notified = RECEIVER`: the first notification of the alert to the receiver in the step.
fn notified(e: &Expectation, receiver: &str, seen: &Seen, w: &Watch) -> Option<Decided> {
    let reached = seen
        .notified
        .iter()
        .filter(|(t, r, a)| *t >= w.start && r == receiver && *a == e.alert)
        .map(|(t, _, _)| t - w.start)
        .reduce(f64::min);
    by_deadline(
        reached,
        w,
        &format!("reached {receiver}"),
        &format!("reached {receiver} late"),
        || {
            format!(
                "no notification to {receiver} by {:.1} s; deadline {:.1} s",
                w.watched(),
                w.deadline
            )
        },
    )
}

/// `state = "resolved"`: not firing by the deadline, having fired at some point (`key` is the
/// expectation's target, name and labels, as the poller records it).
fn resolved(key: &str, seen: &Seen, w: &Watch) -> Option<Decided> {
    let observed = first_resolved(seen, key, w.start).map(|t| t - w.start);
    by_deadline(observed, w, "not firing", "resolved late", || {
        let (watched, d) = (w.watched(), w.deadline);
        if ever_fired(seen, key) {
            format!("still firing at {watched:.1} s; deadline {d:.1} s")
        } else {
            format!(
                "never fired in this rehearsal, so it cannot resolve (watched to \
                     {watched:.1} s; deadline {d:.1} s)"
            )
        }
    })
}

/// `state = "firing"`: firing by the deadline.
fn firing(key: &str, seen: &Seen, w: &Watch) -> Option<Decided> {
    let observed = first_firing(seen, key, w.start).map(|t| t - w.start);
    by_deadline(observed, w, "fired", "fired late", || {
        format!(
            "did not fire by {:.1} s; deadline {:.1} s",
            w.watched(),
            w.deadline
        )
    })
}

/// `state = "inactive"`: quiet for the whole step, which ended at `end` if it has.
fn inactive(key: &str, seen: &Seen, end: Option<f64>, w: &Watch) -> Option<Decided> {
    let start = w.start;
    let fired = first_firing(seen, key, start).map(|t| t - start);
    let in_step = fired.filter(|t| end.is_none_or(|end| start + t <= end));
    match (in_step, end) {
        (Some(t), _) => Some((Some(t), false, format!("fired at {t:.1} s of the step"))),
        (None, Some(end)) => Some((
            None,
            true,
            format!("quiet for the whole step ({:.1} s)", end - start),
        )),
        (None, None) if w.last => Some((
            None,
            false,
            "its step did not finish (interrupted, or --fail-fast)".into(),
        )),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rehearse::file::Within;

    fn expect(step: usize, alert: &str, state: Expected) -> Expectation {
        Expectation {
            step,
            step_name: format!("s{step}"),
            alert: alert.into(),
            labels: Default::default(),
            state,
            within: match state {
                Expected::Firing => Some(Within::Predicted),
                Expected::Resolved => Some(Within::Fixed(Duration::from_secs(5))),
                Expected::Inactive => None,
            },
            notified: None,
        }
    }

    /// What verdicts say, in order: (expectation, passed).
    fn passed(verdicts: &[Verdict]) -> Vec<(&str, bool)> {
        verdicts
            .iter()
            .map(|v| (v.expectation.as_str(), v.passed))
            .collect()
    }

    /// When each verdict's alert was seen doing what was expected (from its step's start).
    fn observed(verdicts: &[Verdict]) -> Vec<Option<f64>> {
        verdicts.iter().map(|v| v.observed_secs).collect()
    }

    /// The rehearsal's report with what `judge` decided.
    fn report(judge: Judge) -> RehearsalReport {
        RehearsalReport {
            file: "r.toml".into(),
            time_scale: 60,
            steps: vec![],
            verdicts: judge.into_verdicts(),
            interrupted: false,
        }
    }

    #[test]
    fn notified_counts_the_named_receiver_and_alert_only() {
        let mut e = expect(1, "A", Expected::Firing);
        e.notified = Some("pager".into());
        let d = Some(Duration::from_secs(5));
        let mut judge = Judge::new(&[e], &[(None, d)]);
        let seen = Seen {
            samples: vec![(9.0, vec![]), (16.0, vec![])],
            error: None,
            notified: vec![
                (8.0, "pager".into(), "A".into()),
                (12.0, "mail".into(), "A".into()),
                (13.0, "pager".into(), "B".into()),
                (14.0, "pager".into(), "A".into()),
            ],
        };
        let v = judge.decide(&seen, &[10.0], false);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].expectation, "s1: A reaches pager");
        assert!(v[0].passed, "{v:?}");
        assert_eq!(v[0].observed_secs, Some(4.0));
    }

    #[test]
    fn resolved_on_time_late_and_never() {
        let es = [
            expect(1, "A", Expected::Resolved),
            expect(1, "B", Expected::Resolved),
            expect(1, "C", Expected::Resolved),
        ];
        let d = Some(Duration::from_secs(5));
        let mut judge = Judge::new(&es, &[(None, d), (None, d), (None, d)]);
        let all = || vec!["A".to_owned(), "B".to_owned(), "C".to_owned()];
        let seen = Seen {
            samples: vec![
                (9.0, all()),
                (11.0, all()),
                (13.0, vec!["B".into(), "C".into()]),
                (16.0, vec!["C".into()]),
                (21.0, vec!["C".into()]),
            ],
            error: None,
            notified: Vec::new(),
        };
        let got = judge.decide(&seen, &[10.0], false);
        assert_eq!(
            passed(&got),
            [
                ("s1: A resolves", true),
                ("s1: B resolves", false),
                ("s1: C resolves", false),
            ]
        );
        assert_eq!(observed(&got), [Some(3.0), Some(6.0), None]);
    }

    /// Issue 21, item 7: `resolved` means it fired and then stopped; quiet all along fails.
    #[test]
    fn resolved_fails_for_an_alert_that_never_fired() {
        let es = [
            expect(1, "Q", Expected::Resolved),
            expect(1, "F", Expected::Resolved),
        ];
        let d = Some(Duration::from_secs(5));
        let mut judge = Judge::new(&es, &[(None, d), (None, d)]);
        // F fired in step 0 and is quiet from step 1's start; Q was never seen firing.
        let seen = Seen {
            samples: vec![
                (5.0, vec!["F".into()]),
                (10.5, vec![]),
                (12.0, vec![]),
                (16.0, vec![]),
            ],
            error: None,
            notified: Vec::new(),
        };
        let got = judge.decide(&seen, &[10.0], false);
        assert_eq!(
            passed(&got),
            [("s1: Q resolves", false), ("s1: F resolves", true)]
        );
        assert_eq!(observed(&got), [None, Some(0.5)]);
        let report = report(judge);
        assert!(
            report.verdicts[0]
                .detail
                .starts_with("never fired in this rehearsal")
        );
        // Until the deadline passes, a quiet alert may still fire and resolve: undecided.
        let mut judge = Judge::new(&es[..1], &[(None, d)]);
        let early = Seen {
            samples: vec![(11.0, vec![])],
            ..Seen::default()
        };
        assert!(judge.decide(&early, &[10.0], false).is_empty());
    }

    #[test]
    fn firing_on_time_late_and_never_and_quiet_or_not() {
        let es = [
            expect(1, "A", Expected::Firing),
            expect(1, "B", Expected::Firing),
            expect(1, "C", Expected::Firing),
            expect(0, "A", Expected::Inactive),
            expect(1, "D", Expected::Inactive),
        ];
        let d = Some(Duration::from_secs(5));
        let mut judge = Judge::new(&es, &[(d, d), (d, d), (d, d), (None, None), (None, None)]);
        let seen = Seen {
            samples: vec![
                (1.0, vec![]),
                (10.5, vec!["A".into()]),
                (12.0, vec!["A".into(), "D".into()]),
                (17.0, vec!["A".into(), "B".into(), "D".into()]),
                (25.0, vec![]),
            ],
            error: None,
            notified: Vec::new(),
        };
        // Step 0 ended at 10 s; step 1 at 20 s.
        let first = judge.decide(&seen, &[10.0], false);
        assert_eq!(
            passed(&first),
            [
                ("s1: A fires", true),
                ("s1: B fires", false),
                ("s1: C fires", false),
                ("s0: A stays quiet", true),
                ("s1: D stays quiet", false)
            ]
        );
        assert!(judge.decide(&seen, &[10.0, 20.0], true).is_empty());
        let report = report(judge);
        assert!(!report.passed());
        assert_eq!(report.verdicts.iter().filter(|v| !v.passed).count(), 3);
        assert!(
            report
                .verdicts
                .iter()
                .any(|v| v.detail.contains("fired late, at 7.0 s; deadline 5.0 s")),
            "{report:?}"
        );
    }
}
