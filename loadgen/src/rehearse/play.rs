//! Playing a rehearsal's timeline against the running stack: the load step by step, the alerts
//! read every [`POLL`], each verdict decided (and handed to the caller) the moment it can be,
//! deadlines past the last step waited out, and `--fail-fast` ending the load at the first
//! failure.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::notify::{self, AlertmanagerSource};
use super::plan::{AlertMatch, POLL, RehearseError, RehearsePlan, Timing, unique_alerts};
use super::stack::{Interrupt, Stack};
use super::verdict::{self, RehearsalReport, Seen, Verdict};
use crate::scenario::{self, ScenarioOptions, StepReport};

/// What the timeline is played with.
pub struct Play<'a> {
    pub plan: &'a RehearsePlan,
    pub stack: &'a Stack,
    /// Each step's duration, scaled.
    pub durations: &'a [Duration],
    pub deadlines: &'a [Timing],
    pub interrupt: &'a Interrupt,
}

/// What the judging reads and writes while the load runs.
struct Judging {
    seen: Arc<Mutex<Seen>>,
    /// When each step ended, in seconds since the timeline began.
    ends: Mutex<Vec<f64>>,
    judge: Mutex<verdict::Judge>,
}

impl Judging {
    /// Hands each verdict decided now to `on_verdict`; answers whether one of them failed.
    fn decide(&self, on_verdict: &mut dyn FnMut(&Verdict)) -> bool {
        let (Ok(seen), Ok(ends), Ok(mut judge)) =
            (self.seen.lock(), self.ends.lock(), self.judge.lock())
        else {
            return false;
        };
        let mut failed = false;
        for v in judge.decide(&seen, &ends, false) {
            failed |= !v.passed;
            on_verdict(&v);
        }
        failed
    }
}

impl Play<'_> {
    /// Plays the timeline to its end (or the interrupt, or the first failure with
    /// `--fail-fast`) and judges every expectation.
    pub async fn run(
        &self,
        on_event: &mut dyn FnMut(verdict::Event<'_>),
    ) -> Result<RehearsalReport, RehearseError> {
        let plan = self.plan;
        let stack = self.stack;
        let waited = Instant::now();
        tokio::select! {
            r = stack.wait_for_scrape() => r?,
            () = self.interrupt.wait() => return Err(RehearseError::Interrupted),
        }
        on_event(verdict::Event::Note(&format!(
            "first scrape after {:.1} s; playing the timeline",
            waited.elapsed().as_secs_f64()
        )));
        let on_verdict = &mut |v: &Verdict| on_event(verdict::Event::Verdict(v));
        let options = self.options();
        let mut steps = scenario::plan_timeline(plan.rehearsal.timeline.clone(), &options)?;
        for (s, d) in steps.iter_mut().zip(self.durations) {
            s.duration = *d;
        }
        let began = Instant::now();
        let judging = Judging {
            seen: Arc::new(Mutex::new(Seen::default())),
            ends: Mutex::new(Vec::new()),
            judge: Mutex::new(verdict::Judge::new(
                &plan.rehearsal.expectations,
                self.deadlines,
            )),
        };
        let poller = tokio::spawn(poll(
            stack.client.clone(),
            unique_alerts(&plan.rehearsal.expectations),
            began,
            Arc::clone(&judging.seen),
            Arc::clone(&stack.notes),
        ));
        let routes = match (&plan.alertmanager, &stack.alertmanager) {
            (Some(AlertmanagerSource::File(_)), Some(am)) => Some(tokio::spawn(
                notify::poll_routes(am.address().to_owned(), Arc::clone(&stack.notes), POLL),
            )),
            _ => None,
        };
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (reports, failed, failed_fast) = self
            .load(steps, &options, &judging, began, &mut tick, on_verdict)
            .await?;
        let ends = judging.ends.lock().map(|e| e.clone()).unwrap_or_default();
        // A run cut short by Ctrl-C is "interrupted"; one ended by --fail-fast is not.
        let interrupted = !failed_fast
            && (reports.len() < self.durations.len()
                || reports
                    .iter()
                    .any(|s| s.report.as_ref().is_some_and(|r| r.interrupted)));
        if !interrupted && !failed_fast {
            self.wait_out_deadlines(&judging, &ends, &mut tick, failed, on_verdict)
                .await;
        }
        poller.abort();
        if let Some(routes) = routes {
            routes.abort();
        }
        drain_notes(&stack.notes, began, &judging.seen);
        let seen = judging
            .seen
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        if let Ok(mut judge) = judging.judge.lock() {
            for v in judge.decide(&seen, &ends, true) {
                on_verdict(&v);
            }
        }
        if let (Some(error), false) = (&seen.error, interrupted) {
            return Err(RehearseError::Start(format!(
                "Prometheus stopped answering: {error}"
            )));
        }
        Ok(RehearsalReport {
            file: plan.file.display().to_string(),
            time_scale: plan.time_scale.max(1),
            steps: plan
                .rehearsal
                .timeline
                .steps
                .iter()
                .zip(&ends)
                .map(|(s, e)| (s.name.clone(), *e))
                .collect(),
            verdicts: judging
                .judge
                .into_inner()
                .map(verdict::Judge::into_verdicts)
                .unwrap_or_default(),
            interrupted,
        })
    }

    /// The timeline's load against the stack's targets, as `scenario run` would play it.
    fn options(&self) -> ScenarioOptions {
        let plan = self.plan;
        let targets = &self.stack.targets;
        let single = plan.rehearsal.revisions.is_empty();
        ScenarioOptions {
            host: match (&plan.host, single) {
                (Some(h), _) => Some(h.clone()),
                (None, true) => Some(format!("http://{}", self.stack.target_list())),
                (None, false) => None,
            },
            targets: if single {
                Vec::new()
            } else {
                targets
                    .iter()
                    .map(|(name, a)| (name.clone(), format!("http://{a}")))
                    .collect()
            },
            ..super::plan::load_options(plan)
        }
    }

    /// Runs the load, deciding verdicts every tick; with `--fail-fast` the first failure stops
    /// the load as an interrupt would, and the verdicts left are "not played". Answers the
    /// steps' reports, whether a verdict failed, and whether the run was ended by a failure.
    async fn load(
        &self,
        steps: Vec<scenario::PlannedStep>,
        options: &ScenarioOptions,
        judging: &Judging,
        began: Instant,
        tick: &mut tokio::time::Interval,
        on_verdict: &mut dyn FnMut(&Verdict),
    ) -> Result<(Vec<StepReport>, bool, bool), RehearseError> {
        let (abort_tx, abort_rx) = watch::channel(false);
        let stop_load = {
            let interrupted = self.interrupt.wait();
            let mut abort_rx = abort_rx.clone();
            async move {
                tokio::select! {
                    () = interrupted => {}
                    _ = abort_rx.wait_for(|a| *a) => {}
                }
            }
        };
        let live = engine::Live {
            metrics: Some(self.stack.metrics.clone()),
            ..engine::Live::default()
        };
        let load = scenario::run(
            steps,
            options,
            live,
            |_, _| {
                if let Ok(mut ends) = judging.ends.lock() {
                    ends.push(began.elapsed().as_secs_f64());
                }
            },
            stop_load,
        );
        tokio::pin!(load);
        let mut failed = false;
        let reports = loop {
            tokio::select! {
                r = &mut load => break r?,
                _ = tick.tick() => {
                    failed |= judging.decide(on_verdict);
                    if failed && self.plan.fail_fast {
                        let _ = abort_tx.send(true);
                    }
                }
            }
        };
        let failed_fast = *abort_rx.borrow();
        Ok((reports, failed, failed_fast))
    }

    /// Deadlines that run past the last step are waited out (bounded by the deadlines), and
    /// decided as they pass; with `--fail-fast`, only until one fails.
    async fn wait_out_deadlines(
        &self,
        judging: &Judging,
        ends: &[f64],
        tick: &mut tokio::time::Interval,
        failed_before: bool,
        on_verdict: &mut dyn FnMut(&Verdict),
    ) {
        let end = *ends.last().unwrap_or(&0.0);
        let latest = judging
            .judge
            .lock()
            .ok()
            .and_then(|j| j.latest_deadline(ends));
        let wait = latest.map_or(0.0, |d| d - end);
        let mut failed = failed_before;
        if wait > 0.0 {
            let until = Instant::now() + Duration::from_secs_f64(wait + POLL.as_secs_f64());
            while Instant::now() < until && !(failed && self.plan.fail_fast) {
                tick.tick().await;
                failed |= judging.decide(on_verdict);
            }
        }
    }
}

/// Moves the notifications seen so far into `seen`, as seconds since `began`.
fn drain_notes(notes: &notify::Notes, began: Instant, seen: &Mutex<Seen>) {
    let drained: Vec<_> = notes
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default();
    if let Ok(mut seen) = seen.lock() {
        for (at, receiver, alert) in drained {
            let secs = at.saturating_duration_since(began).as_secs_f64();
            seen.notified.push((secs, receiver, alert));
        }
    }
}

/// Reads the firing alerts every [`POLL`] until aborted.
async fn poll(
    client: slo::PrometheusClient,
    alerts: Vec<AlertMatch>,
    began: Instant,
    seen: Arc<Mutex<Seen>>,
    notes: notify::Notes,
) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let at = began.elapsed().as_secs_f64();
        let answer = client.alerts().await;
        drain_notes(&notes, began, &seen);
        let Ok(mut seen) = seen.lock() else { return };
        match answer {
            Ok(active) => {
                let firing: Vec<String> = alerts
                    .iter()
                    .filter(|t| {
                        active.iter().any(|a| {
                            a.state == "firing"
                                && a.labels.get("alertname") == Some(&t.alert)
                                && slo::client::wait::labels_match(&t.labels, &a.labels)
                        })
                    })
                    .map(|t| t.key.clone())
                    .collect();
                seen.samples.push((at, firing));
                seen.error = None;
            }
            Err(e) => seen.error = Some(e.to_string()),
        }
    }
}
