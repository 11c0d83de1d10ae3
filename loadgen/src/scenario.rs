//! `loadgen scenario run FILE`: executes a timeline (`scenarios/timelines/*.toml`, read by the
//! `scenarios` crate, the same files `mock-server --timeline` runs). Each step applies its phase
//! to every target, sets its load and traffic split, holds them for its duration with simulated
//! users, and is reported on its own.
//!
//! A step's `load` table (keys checked here, before any step runs; a step without one keeps the
//! load of the step before):
//! `users` (simulated users, 0 for none), `rate` (tasks started per second, in total),
//! `wait` (think time `MIN..MAX`, instead of a rate), `journey` (a shipped journey or a file).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::phase_cmd::{Admin, PhaseError};
use engine::Live;
use engine::journey;
use engine::journey::plan::{
    JourneyPlanError, JourneyTarget, MIN_STATS_INTERVAL, RunPlan, TaskPacing, TaskStop, targets,
};
use engine::journey::report::JourneyReport;
use engine::journey::spec::{Journey, SpecError, Wait};
use engine::load::live_split::LiveSplit;
use engine::load::run_view::StepInfo;
use engine::weighted::SplitError;

/// What a timeline run needs besides the timeline: where to send load and phases, and the load
/// in force until a step sets one.
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    /// A timeline file, or a shipped timeline's name (scenarios/timelines/NAME.toml).
    pub file: PathBuf,
    /// One target, "default", at this base URL; or `targets`.
    pub host: Option<String>,
    /// Named targets (NAME, URL); a step's `split` weighs them, and phases go to every one.
    pub targets: Vec<(String, String)>,
    /// The mock-server's admin token, for posting phases.
    pub token: Option<String>,
    pub users: usize,
    /// Think time MIN..MAX (default: the journey's).
    pub wait: Option<String>,
    pub journey: String,
    pub timeout: Duration,
    /// Live stats on stderr this often; zero for none.
    pub stats_interval: Duration,
    pub insecure: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(transparent)]
    Timeline(#[from] scenarios::TimelineError),
    #[error("step {step:?}: load: {what}")]
    Load { step: String, what: String },
    #[error("step {step:?}: {source}")]
    Journey { step: String, source: SpecError },
    #[error(transparent)]
    Plan(#[from] JourneyPlanError),
    #[error("step {step:?}: split names {target:?}, which is not a --target")]
    SplitTarget { step: String, target: String },
    #[error("step {step:?}: every target's split weight is 0")]
    SplitZero { step: String },
    #[error("step {step:?}: split weights sum to over 100: they are percentages")]
    SplitOverHundred { step: String },
    #[error("--stats-interval must be 0s (none) or at least 100ms, got {0}")]
    StatsInterval(String),
    #[error(
        "step {step:?}: split weights sum to 100 or more, leaving nothing for {target:?}: give it a weight"
    )]
    SplitMissing { step: String, target: String },
    #[error("step {step:?}: applying the phase: {source}")]
    Phase { step: String, source: PhaseError },
    #[error(transparent)]
    Run(#[from] journey::RunError),
}

impl crate::exit::Exit for ScenarioError {
    fn exit_code(&self) -> i32 {
        match self {
            ScenarioError::Phase { source, .. } => source.exit_code(),
            ScenarioError::Run(_) => crate::exit::FAILED,
            _ => crate::exit::USAGE,
        }
    }
}

/// The load in force during a step.
#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub users: usize,
    #[serde(serialize_with = "pacing_text")]
    pub pacing: TaskPacing,
    pub journey: String,
    #[serde(skip)]
    journey_spec: Arc<Journey>,
}

impl Load {
    /// The journey the users run.
    pub fn journey_spec(&self) -> &Journey {
        &self.journey_spec
    }
}

fn pacing_text<S: serde::Serializer>(p: &TaskPacing, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&match p {
        TaskPacing::Rate(r) => format!("rate {r} tasks/s"),
        TaskPacing::Wait(w) => format!(
            "wait {}..{}",
            humantime::format_duration(w.min),
            humantime::format_duration(w.max)
        ),
    })
}

/// One checked step, ready to run.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub name: String,
    pub duration: Duration,
    pub phase: Option<String>,
    pub load: Load,
    pub targets: Vec<JourneyTarget>,
    /// The step has a `split` of its own (else it keeps the split in force, even one changed
    /// through `--web`).
    pub sets_split: bool,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub name: String,
    pub duration_secs: f64,
    /// The server's `GET /phase` answer right after the step's phase was applied (first target).
    pub phase_in_force: Option<serde_json::Value>,
    pub load: Load,
    pub report: Option<JourneyReport>,
    /// The phase document the step applied, as the timeline gives it (for the HTML report; the
    /// JSON has the server's answer, `phase_in_force`).
    #[serde(skip)]
    pub phase: Option<String>,
    /// Changes of the split made during this step (`--web`, or the step's own `split`
    /// when a live split is on), timed from the start of the timeline; absent if none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub split_events: Vec<engine::report::SplitEvent>,
}

/// The split a timeline run starts with, to change while it runs (`--web`): its targets
/// with the first step's weights.
pub fn live_split(steps: &[PlannedStep]) -> Option<LiveSplit> {
    let first = steps.first()?;
    // In the scale steps set them in, so the first step's own split is no change.
    let weights = step_weights(&first.targets);
    Some(LiveSplit::new(
        &first
            .targets
            .iter()
            .zip(weights)
            .map(|(t, w)| (t.target.name.clone(), w))
            .collect::<Vec<_>>(),
    ))
}

/// A step's weights as the live split shows them: percentages when they are whole (a step's
/// split is in thousandths of a percent), else as they are.
fn step_weights(targets: &[JourneyTarget]) -> Vec<u32> {
    let w: Vec<u32> = targets.iter().map(|t| t.weight).collect();
    if w.iter().all(|w| w % 1000 == 0) {
        w.iter().map(|w| w / 1000).collect()
    } else {
        w
    }
}

/// Checks every step of the timeline against the flags; nothing runs until all are good.
pub fn plan(args: &ScenarioOptions) -> Result<Vec<PlannedStep>, ScenarioError> {
    if !args.stats_interval.is_zero() && args.stats_interval < MIN_STATS_INTERVAL {
        return Err(ScenarioError::StatsInterval(
            humantime::format_duration(args.stats_interval).to_string(),
        ));
    }
    plan_timeline(scenarios::Timeline::load(&args.file)?, args)
}

/// [`plan`] for a timeline already read (`args.file` is not read again).
pub fn plan_timeline(
    timeline: scenarios::Timeline,
    args: &ScenarioOptions,
) -> Result<Vec<PlannedStep>, ScenarioError> {
    let named = match &args.host {
        Some(h) => vec![("default".to_owned(), h.clone())],
        None => args.targets.clone(),
    };
    let mut current_targets = targets(&named, &[])?;
    let loads = step_loads(&timeline, args)?;
    let mut out = Vec::new();
    for (step, load) in timeline.steps.into_iter().zip(loads) {
        if let Some(split) = &step.split {
            current_targets = resplit(&step.name, current_targets, split)?;
        }
        out.push(PlannedStep {
            name: step.name,
            duration: step.duration,
            phase: step.phase,
            load,
            targets: current_targets.clone(),
            sets_split: step.split.is_some(),
        });
    }
    Ok(out)
}

/// The load each step of `timeline` runs: `args`' users, journey and think time, changed by
/// each step's `load` table and kept by the steps after it.
pub fn step_loads(
    timeline: &scenarios::Timeline,
    args: &ScenarioOptions,
) -> Result<Vec<Load>, ScenarioError> {
    let base = Journey::load(&args.journey).map_err(|source| ScenarioError::Journey {
        step: "(--journey)".into(),
        source,
    })?;
    let pacing = match &args.wait {
        Some(w) => TaskPacing::Wait(Wait::parse(w).map_err(JourneyPlanError::from)?),
        None => TaskPacing::Wait(base.wait),
    };
    let mut load = Load {
        users: args.users,
        pacing,
        journey: args.journey.clone(),
        journey_spec: Arc::new(base),
    };
    let mut out = Vec::new();
    for step in &timeline.steps {
        if let Some(table) = &step.load {
            load = apply_load(&step.name, load, table)?;
        }
        out.push(load.clone());
    }
    Ok(out)
}

fn apply_load(step: &str, mut load: Load, table: &toml::Table) -> Result<Load, ScenarioError> {
    let bad = |what: String| ScenarioError::Load {
        step: step.to_owned(),
        what,
    };
    // A new journey brings its own think time, unless this table sets `wait` or `rate`.
    if let Some(value) = table.get("journey") {
        let name = value
            .as_str()
            .ok_or_else(|| bad(format!("journey must be a name or a path, got {value}")))?;
        let spec = Journey::load(name).map_err(|source| ScenarioError::Journey {
            step: step.to_owned(),
            source,
        })?;
        load.pacing = TaskPacing::Wait(spec.wait);
        load.journey = name.to_owned();
        load.journey_spec = Arc::new(spec);
    }
    for (key, value) in table {
        match key.as_str() {
            "users" => {
                load.users = value
                    .as_integer()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n <= 100_000)
                    .ok_or_else(|| {
                        bad(format!(
                            "users must be a whole number from 0 to 100000, got {value}"
                        ))
                    })?;
            }
            "rate" => {
                let r = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|i| i as f64))
                    .filter(|r| r.is_finite() && (0.001..=1e6).contains(r))
                    .ok_or_else(|| {
                        bad(format!(
                            "rate must be tasks per second from 0.001 to 1e6, got {value}"
                        ))
                    })?;
                load.pacing = TaskPacing::Rate(r);
            }
            "wait" => {
                let w = value
                    .as_str()
                    .ok_or_else(|| bad(format!("wait must be a string MIN..MAX, got {value}")))?;
                load.pacing = TaskPacing::Wait(Wait::parse(w).map_err(|e| bad(e.to_string()))?);
            }
            "journey" => {}
            other => {
                return Err(bad(format!(
                    "unknown key {other:?}; the keys are users, rate, wait, journey"
                )));
            }
        }
    }
    Ok(load)
}

fn resplit(
    step: &str,
    mut current: Vec<JourneyTarget>,
    split: &BTreeMap<String, f64>,
) -> Result<Vec<JourneyTarget>, ScenarioError> {
    for name in split.keys() {
        if !current.iter().any(|t| &t.target.name == name) {
            return Err(ScenarioError::SplitTarget {
                step: step.to_owned(),
                target: name.clone(),
            });
        }
    }
    // Weights are percentages (fractions allowed); in thousandths of a percent they are whole
    // numbers, split by the same rule as `--split`.
    let given: Vec<Option<u32>> = current
        .iter()
        .map(|t| {
            split
                .get(&t.target.name)
                .map(|w| (w * 1000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32)
        })
        .collect();
    let weights = engine::weighted::split(&given, 100_000).map_err(|e| match e {
        SplitError::NothingLeft(i) => ScenarioError::SplitMissing {
            step: step.to_owned(),
            target: current[i].target.name.clone(),
        },
        SplitError::AllZero => ScenarioError::SplitZero {
            step: step.to_owned(),
        },
        SplitError::OverHundred => ScenarioError::SplitOverHundred {
            step: step.to_owned(),
        },
    })?;
    for (t, w) in current.iter_mut().zip(weights) {
        t.weight = w;
    }
    Ok(current)
}

/// Runs the planned steps in order; `on_step` sees each step's report as it ends. Of `live`,
/// a timeline reads `metrics`, `split` (from [`live_split`]: each step's report holds the
/// changes made during it, timed from the start of the timeline, with requests counted over
/// the whole timeline), `series` and `view` (the step going on, and each step's records); each
/// step prints its own table every `--stats-interval`.
pub async fn run(
    steps: Vec<PlannedStep>,
    args: &ScenarioOptions,
    live: Live,
    mut on_step: impl FnMut(usize, &StepReport),
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<StepReport>, ScenarioError> {
    let Live {
        metrics,
        split,
        series,
        view,
        ..
    } = live;
    if let Some(s) = &split {
        s.started(tokio::time::Instant::now());
    }
    let mut shutdown = std::pin::pin!(shutdown);
    let mut out = Vec::new();
    let timeline_start = tokio::time::Instant::now();
    // When each step began, in seconds from the start of the timeline.
    let mut began = Vec::new();
    // Set once `shutdown` has resolved: it must not be polled again.
    let mut stopped = false;
    if let Some(v) = &view {
        v.started(timeline_start);
    }
    let count = steps.len();
    for (i, step) in steps.into_iter().enumerate() {
        began.push(timeline_start.elapsed().as_secs_f64());
        if let Some(v) = &view {
            v.step(StepInfo {
                index: i + 1,
                count,
                name: step.name.clone(),
                phase: step.phase.as_deref().map(phase_line),
            });
        }
        let phase_in_force = apply_phase(&step, args).await?;
        if let (Some(s), true) = (&split, step.sets_split) {
            s.set(step_weights(&step.targets));
        }
        let report = if step.load.users == 0 {
            tokio::select! {
                () = tokio::time::sleep(step.duration) => {}
                () = &mut shutdown => stopped = true,
            }
            None
        } else {
            let live = Live {
                table: (!args.stats_interval.is_zero())
                    .then(|| Box::new(std::io::stderr()) as Box<dyn std::io::Write + Send>),
                interval: (!args.stats_interval.is_zero()).then_some(args.stats_interval),
                metrics: metrics.clone(),
                split: split.clone(),
                series,
                view: view.clone(),
                ..Live::default()
            };
            Some(journey::run(step_plan(&step, args), live, &mut shutdown).await?)
        };
        stopped |= report.as_ref().is_some_and(|r| r.interrupted);
        let r = StepReport {
            name: step.name,
            duration_secs: step.duration.as_secs_f64(),
            phase_in_force,
            load: step.load,
            report,
            split_events: Vec::new(),
            phase: step.phase,
        };
        on_step(i, &r);
        out.push(r);
        if stopped {
            break;
        }
    }
    if let Some(s) = &split {
        split_events_by_step(&mut out, &s.events(), &began);
    }
    Ok(out)
}

/// Posts `step`'s phase to every target; answers the phase the first one then reports.
async fn apply_phase(
    step: &PlannedStep,
    args: &ScenarioOptions,
) -> Result<Option<serde_json::Value>, ScenarioError> {
    let Some(doc) = &step.phase else {
        return Ok(None);
    };
    let phase_err = |source| ScenarioError::Phase {
        step: step.name.clone(),
        source,
    };
    let mut in_force = None;
    for (k, t) in step.targets.iter().enumerate() {
        let admin = Admin::new(
            &t.target.url.to_string(),
            args.token.as_deref(),
            args.insecure,
        )
        .map_err(phase_err)?;
        admin.apply(doc).await.map_err(phase_err)?;
        if k == 0 {
            in_force = Some(admin.show().await.map_err(phase_err)?);
        }
    }
    Ok(in_force)
}

/// The journey run of one step with users.
fn step_plan(step: &PlannedStep, args: &ScenarioOptions) -> RunPlan {
    RunPlan {
        journey: step.load.journey_spec.clone(),
        targets: step.targets.clone(),
        users: step.load.users,
        spawn_rate: f64::INFINITY,
        pacing: step.load.pacing,
        stop: TaskStop {
            run_time: Some(step.duration),
            tasks: None,
        },
        timeout: args.timeout,
        insecure: args.insecure,
    }
}

/// Now that every step has ended, the counts are final: each step shows the split changes
/// made while it ran (`began`: each step's start, in seconds from the timeline's).
fn split_events_by_step(
    out: &mut [StepReport],
    events: &[engine::report::SplitEvent],
    began: &[f64],
) {
    for (k, step) in out.iter_mut().enumerate() {
        let end = began.get(k + 1).copied().unwrap_or(f64::INFINITY);
        step.split_events = events
            .iter()
            .filter(|e| e.at_secs >= began[k] && e.at_secs < end)
            .cloned()
            .collect();
        if let Some(r) = &mut step.report {
            r.split_events.clear();
        }
    }
}

/// A step's phase document on one line, cut after 100 characters: a shipped name stays as it
/// is, an inline document fits a table cell or the run page's header.
pub fn phase_line(doc: &str) -> String {
    let text = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
