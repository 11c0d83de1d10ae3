//! Self-driving phases: `--timeline FILE` cycles the phase through a scenario's steps, so a
//! deployed mock needs no driver.

use std::sync::Arc;
use std::time::Duration;

use scenarios::Timeline;

use crate::metrics::Metrics;
use crate::phase::{Phase, PhaseError};
use crate::state::PhaseStore;

/// One step, with its phase already merged and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseStep {
    pub name: String,
    pub duration: Duration,
    pub phase: Arc<Phase>,
}

/// A timeline whose every phase has been checked before the server starts.
#[derive(Debug, Clone, PartialEq)]
pub struct PhasePlan {
    pub steps: Vec<PhaseStep>,
    pub repeat: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("timeline step {step:?}: {source}")]
pub struct StepError {
    pub step: String,
    pub source: PhaseError,
}

impl PhasePlan {
    /// Merges each step's phase onto the previous one (from `startup`), exactly as a sequence of
    /// `POST /phase` calls would, so a bad step is refused at start-up rather than mid-run.
    /// Later cycles of a repeating plan replay the same whole phases.
    pub fn new(timeline: &Timeline, startup: &Phase) -> Result<PhasePlan, StepError> {
        let mut current = Arc::new(startup.clone());
        let mut steps = Vec::with_capacity(timeline.steps.len());
        for step in &timeline.steps {
            if let Some(doc) = &step.phase {
                current = Arc::new(current.merged(doc.as_bytes()).map_err(|source| StepError {
                    step: step.name.clone(),
                    source,
                })?);
            }
            steps.push(PhaseStep {
                name: step.name.clone(),
                duration: step.duration,
                phase: current.clone(),
            });
        }
        Ok(PhasePlan {
            steps,
            repeat: timeline.repeat,
        })
    }

    /// The same plan played `scale` times faster: each step's duration divided by `scale`
    /// (`--time-scale`). `scale` must be finite and above 0 (the command line checks it);
    /// `Err` names a step that would shrink below a millisecond, which a timer cannot play, or
    /// grow past a century.
    pub fn time_scaled(mut self, scale: f64) -> Result<PhasePlan, String> {
        for step in &mut self.steps {
            // A tiny scale makes a step longer than any clock holds; `from_secs_f64` would panic.
            match scenarios::duration::from_secs_f64(step.duration.as_secs_f64() / scale) {
                Some(d) if d >= Duration::from_millis(1) => step.duration = d,
                _ => return Err(step.name.clone()),
            }
        }
        Ok(self)
    }

    /// Puts step `index` in force in `phases` (publishing it and the step index in `metrics`).
    pub fn enter(&self, index: usize, phases: &PhaseStore, metrics: &Metrics) {
        let Some(step) = self.steps.get(index) else {
            return;
        };
        phases.replace(step.phase.clone(), metrics);
        metrics.timeline_step.set(index as i64);
        tracing::info!(step = %step.name, index, duration = ?step.duration, phase = %step.phase, "timeline step");
    }

    /// Plays the plan from its first step, which the caller has already put in force with
    /// [`PhasePlan::enter`] before serving (so no request sees the start-up phase): holds each
    /// step for its duration and enters the next; returns after the last step unless the plan
    /// repeats.
    pub async fn drive(&self, phases: &PhaseStore, metrics: &Metrics) {
        let mut index = 0;
        while let Some(step) = self.steps.get(index) {
            tokio::time::sleep(step.duration).await;
            index += 1;
            if index == self.steps.len() {
                if !self.repeat {
                    tracing::info!("timeline finished; the last step's phase stays in force");
                    return;
                }
                index = 0;
            }
            self.enter(index, phases, metrics);
        }
    }
}
