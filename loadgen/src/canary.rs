//! `loadgen canary`: progressive delivery with automatic rollback.
//!
//! Traffic moves to the canary step by step (5% -> 20% -> 50% -> 100% by default). Within each
//! step the canary's own share of the load is judged every `--check-every` against the gates
//! (`error_rate<1%`, `p99<500ms`, and optionally Prometheus queries); the first failed gate
//! rolls back: the canary's weight drops to 0 and load continues on stable for a verification
//! period. Each step runs the ordinary engine in slices whose reports merge exactly, so the
//! verdict at any check covers everything the step has sent so far.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use engine::Live;
use engine::load;
use engine::plan::{Plan, PlanError, Stop};
use engine::report::gate::Gate;
use engine::report::merge;
use engine::report::{GateOutcome, Report, TargetReport};

/// The names of the two targets in every step's plan.
pub const STABLE: &str = "stable";
pub const CANARY: &str = "canary";

/// The shortest step and check interval: a step runs at least one slice of load, and a judged
/// slice shorter than this holds too few requests to say anything.
pub const MIN_SLICE: Duration = Duration::from_millis(100);
/// The longest step, check interval or verification (as `-z`), so no deadline overflows.
pub const MAX_SPAN: Duration = Duration::from_secs(365 * 24 * 3600);

/// A gate on a Prometheus instant query: the query's single value compared with a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryGate {
    pub text: String,
    pub query: String,
    pub cmp: &'static str,
    pub threshold: f64,
}

impl QueryGate {
    fn holds(&self, v: f64) -> bool {
        match self.cmp {
            "<" => v < self.threshold,
            "<=" => v <= self.threshold,
            ">" => v > self.threshold,
            _ => v >= self.threshold,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    #[error("--steps must be percentages from 1 to 100 in increasing order, got {0:?}")]
    Steps(Vec<u32>),
    #[error("--gate {gate:?}: {reason}")]
    Gate { gate: String, reason: String },
    #[error("--gate-query {0:?}: write it as 'PROMQL < THRESHOLD' (or <=, >, >=)")]
    Query(String),
    #[error("--gate-query needs --prometheus URL")]
    NoPrometheus,
    #[error("{flag} must be {what}, got {value}")]
    Duration {
        flag: &'static str,
        what: &'static str,
        value: String,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the load run failed: {0}")]
    Run(#[from] load::Error),
    #[error("merging step reports: {0}")]
    Merge(#[from] merge::MergeError),
}

/// A checked canary rollout.
#[derive(Debug, Clone)]
pub struct CanaryPlan {
    pub steps: Vec<u32>,
    pub step_duration: Duration,
    pub check_every: Duration,
    pub gates: Vec<Gate>,
    pub queries: Vec<QueryGate>,
    pub prometheus: Option<String>,
    pub min_requests: u64,
    pub verify: Duration,
    /// The engine's plan with two targets, `stable` and `canary`; steps change the weights.
    pub base: Plan,
}

pub fn parse_query(text: &str) -> Result<QueryGate, CanaryError> {
    let bad = || CanaryError::Query(text.to_owned());
    // The comparison is the last operator: the query itself may compare too.
    let (at, cmp) = ["<=", ">=", "<", ">"]
        .iter()
        .filter_map(|op| text.rfind(op).map(|i| (i, *op)))
        .max_by_key(|(i, op)| (*i, op.len()))
        .ok_or_else(bad)?;
    let query = text[..at].trim();
    let threshold: f64 = text[at + cmp.len()..].trim().parse().map_err(|_| bad())?;
    if query.is_empty() || !threshold.is_finite() {
        return Err(bad());
    }
    Ok(QueryGate {
        text: text.to_owned(),
        query: query.to_owned(),
        cmp,
        threshold,
    })
}

/// One judged step.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub step: usize,
    pub weight: u32,
    pub seconds: f64,
    pub canary_requests: u64,
    pub stable_requests: u64,
    pub canary_error_rate: f64,
    /// The canary's p99 latency, in seconds.
    pub canary_p99: f64,
    pub gates: Vec<GateOutcome>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rollback {
    pub step: usize,
    pub weight: u32,
    /// From the start of the failing step to the failed check.
    pub time_to_detect_secs: f64,
    /// From the failed check to the first load with the canary at weight 0.
    pub time_to_rollback_secs: f64,
    /// The stable revision during the verification period.
    pub verification: Option<TargetSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    pub requests: u64,
    pub error_rate: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CanaryResult {
    pub promoted: bool,
    pub steps: Vec<StepResult>,
    pub rollback: Option<Rollback>,
    /// Every check as it was judged, for the HTML report's charts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// One check: what the step had shown when it was judged.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Seconds from the start of the rollout.
    pub at_secs: f64,
    pub step: usize,
    pub weight: u32,
    pub canary_requests: u64,
    pub canary_error_rate: f64,
    pub canary_p99: f64,
    pub passed: bool,
}

fn target<'r>(report: &'r Report, name: &str) -> Option<&'r TargetReport> {
    report.targets.iter().find(|t| t.name == name)
}

fn p99(t: &TargetReport) -> f64 {
    t.latency.histogram.value_at_quantile(0.99) as f64 / 1e6
}

impl CanaryPlan {
    fn slice(&self, weight: u32, length: Duration) -> Plan {
        let mut plan = self.base.clone();
        plan.targets[0].weight = 100 - weight;
        plan.targets[1].weight = weight;
        plan.stop = Stop::Duration(length);
        plan
    }

    async fn queries_hold(&self) -> Vec<GateOutcome> {
        let Some(url) = &self.prometheus else {
            return Vec::new();
        };
        let Ok(client) = slo::PrometheusClient::new(url) else {
            return Vec::new();
        };
        let mut outcomes = Vec::new();
        for q in &self.queries {
            // No data (or an unreachable Prometheus) cannot prove a breach: it holds, as NaN.
            let value = match client.query(&q.query).await {
                Ok(samples) => samples.first().map_or(f64::NAN, |s| s.value),
                Err(_) => f64::NAN,
            };
            outcomes.push(GateOutcome {
                gate: q.text.clone(),
                actual: value,
                threshold: q.threshold,
                held: value.is_nan() || q.holds(value),
            });
        }
        outcomes
    }

    /// Runs the rollout to promotion or rollback.
    pub async fn run(&self) -> Result<CanaryResult, CanaryError> {
        self.run_reporting(&mut std::io::sink()).await
    }

    /// [`run`](Self::run), writing one line per check to `progress` as it is judged (and
    /// flushing it), so a rollout of minutes is not minutes of silence.
    pub async fn run_reporting(
        &self,
        progress: &mut dyn std::io::Write,
    ) -> Result<CanaryResult, CanaryError> {
        let rollout = Instant::now();
        let mut checks = Vec::new();
        let mut report = |step: &StepResult| {
            checks.push(Check {
                at_secs: rollout.elapsed().as_secs_f64(),
                step: step.step,
                weight: step.weight,
                canary_requests: step.canary_requests,
                canary_error_rate: step.canary_error_rate,
                canary_p99: step.canary_p99,
                passed: step.passed,
            });
            // A closed stderr must not stop the rollout.
            // One write per line, so lines from other writers cannot cut into it.
            let line = format!("{}\n", check_line(step, self.min_requests));
            let _ = progress.write_all(line.as_bytes());
            let _ = progress.flush();
        };
        let mut steps = Vec::new();
        for (i, &weight) in self.steps.iter().enumerate() {
            let started = Instant::now();
            let mut reports: Vec<Report> = Vec::new();
            // At least one slice per step, however the clock moved: the plan guarantees steps of
            // at least `MIN_SLICE`, and the loop does not rely on it.
            let mut step = loop {
                let left = self.step_duration.saturating_sub(started.elapsed());
                let slice = self.slice(weight, left.min(self.check_every).max(MIN_SLICE));
                reports.push(load::run(slice, Live::default(), std::future::pending()).await?);
                let merged = merge::merge(reports.clone())?;
                let step = self.judge(i + 1, weight, &merged, started).await;
                report(&step);
                if !step.passed && step.canary_requests >= self.min_requests {
                    let detected = Instant::now();
                    let time_to_detect_secs = detected.duration_since(started).as_secs_f64();
                    steps.push(step);
                    let verification = self.verify_stable(detected).await?;
                    return Ok(CanaryResult {
                        promoted: false,
                        steps,
                        checks,
                        rollback: Some(Rollback {
                            step: i + 1,
                            weight,
                            time_to_detect_secs,
                            time_to_rollback_secs: verification.0,
                            verification: verification.1,
                        }),
                    });
                }
                if started.elapsed() >= self.step_duration {
                    break step;
                }
            };
            // A step that ends without enough canary traffic to judge has not shown it is safe.
            step.passed = step.passed && step.canary_requests > 0;
            steps.push(step);
        }
        Ok(CanaryResult {
            promoted: steps.iter().all(|s| s.passed),
            steps,
            rollback: None,
            checks,
        })
    }

    async fn judge(
        &self,
        step: usize,
        weight: u32,
        report: &Report,
        started: Instant,
    ) -> StepResult {
        let mut gates: Vec<GateOutcome> = self.gates.iter().map(|g| g.judge(report)).collect();
        gates.extend(self.queries_hold().await);
        let canary = target(report, CANARY);
        StepResult {
            step,
            weight,
            seconds: started.elapsed().as_secs_f64(),
            canary_requests: canary.map_or(0, |t| t.requests),
            stable_requests: target(report, STABLE).map_or(0, |t| t.requests),
            canary_error_rate: canary.map_or(0.0, |t| t.error_rate),
            canary_p99: canary.map_or(0.0, p99),
            passed: gates.iter().all(|g| g.held),
            gates,
        }
    }

    /// Canary weight 0: load continues on stable for the verification period.
    async fn verify_stable(
        &self,
        detected: Instant,
    ) -> Result<(f64, Option<TargetSummary>), CanaryError> {
        let plan = self.slice(0, self.verify.max(Duration::from_millis(1)));
        let rolled_back = detected.elapsed().as_secs_f64();
        if self.verify.is_zero() {
            return Ok((rolled_back, None));
        }
        let report = load::run(plan, Live::default(), std::future::pending()).await?;
        Ok((
            rolled_back,
            target(&report, STABLE).map(|t| TargetSummary {
                requests: t.requests,
                error_rate: t.error_rate,
                p99: p99(t),
            }),
        ))
    }
}

/// One check as it happens: the step, the canary's share, and what the step has shown so far.
pub fn check_line(s: &StepResult, min_requests: u64) -> String {
    let verdict = if s.passed {
        "held".to_owned()
    } else if s.canary_requests < min_requests {
        format!(
            "not judged yet ({} of --min-requests {min_requests})",
            s.canary_requests
        )
    } else {
        let failed: Vec<&str> = s
            .gates
            .iter()
            .filter(|g| !g.held)
            .map(|g| g.gate.as_str())
            .collect();
        format!("FAIL: {}: rolling back", failed.join(", "))
    };
    format!(
        "check {:>7.2} s: step {} at {}%: {} canary requests, error rate {:.3}%, p99 {:.4} s: {verdict}",
        s.seconds,
        s.step,
        s.weight,
        s.canary_requests,
        s.canary_error_rate * 100.0,
        s.canary_p99
    )
}
