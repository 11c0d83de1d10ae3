//! `loadgen canary`'s flags and the checked rollout they become (`CanaryPlan`), plus how the
//! result is printed.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::canary::{CANARY, CanaryError, CanaryPlan, MAX_SPAN, MIN_SLICE, STABLE, parse_query};
use crate::cli::HeyArgs;
use crate::cli::values::{CANARY_OUTPUT, parse_duration};
use crate::output::OutputFormat;
use engine::plan::Plan;
use engine::report::gate::Gate;

/// A rollout as the runner carries it out: the plan, and how to print its result.
#[derive(Debug, Clone)]
pub struct CanaryRun {
    pub plan: CanaryPlan,
    /// What stdout gets: the table or JSON.
    pub output: OutputFormat,
    pub html: Option<std::path::PathBuf>,
}

impl TryFrom<CanaryArgs> for CanaryRun {
    type Error = CanaryError;

    fn try_from(a: CanaryArgs) -> Result<CanaryRun, CanaryError> {
        let output = a.output;
        let html = a.html.clone();
        Ok(CanaryRun {
            plan: CanaryPlan::try_from(a)?,
            output,
            html,
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct CanaryArgs {
    /// URL of the stable (good) revision (a bare host:port means http://host:port).
    #[arg(long, value_parser = crate::cli::values::parse_base_url)]
    pub stable: String,
    /// URL of the canary revision.
    #[arg(long, value_parser = crate::cli::values::parse_base_url)]
    pub canary: String,
    /// Canary traffic percentages, in order; the last should be 100 to promote.
    #[arg(long, value_delimiter = ',', default_value = "5,20,50,100")]
    pub steps: Vec<u32>,
    /// How long each step lasts if its gates hold.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub step_duration: Duration,
    /// A gate on the canary's own traffic (repeatable), e.g. 'error_rate<1%', 'p99<500ms'.
    #[arg(long = "gate", required = true)]
    pub gates: Vec<String>,
    /// A gate on a Prometheus query, 'PROMQL < THRESHOLD' (repeatable); needs --prometheus.
    #[arg(long = "gate-query")]
    pub queries: Vec<String>,
    /// Prometheus base URL for --gate-query.
    #[arg(long)]
    pub prometheus: Option<String>,
    /// How often the gates are judged within a step.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub check_every: Duration,
    /// Canary requests a step needs before a breach counts (a p99 of five requests is noise).
    #[arg(long, default_value_t = 50)]
    pub min_requests: u64,
    /// After a rollback, how long load stays on stable to verify it.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub verify: Duration,
    /// Total request rate across both revisions (open model, requests per second).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Connections (workers).
    #[arg(short = 'c', long = "c", default_value_t = 10)]
    pub concurrency: usize,
    /// Output: the timeline as text, or the whole result as JSON.
    #[arg(long, value_parser = CANARY_OUTPUT, default_value = "text")]
    pub output: OutputFormat,
    /// Also write the report as one self-contained HTML page (charts, tables; opens offline).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

impl TryFrom<CanaryArgs> for CanaryPlan {
    type Error = CanaryError;

    fn try_from(a: CanaryArgs) -> Result<Self, CanaryError> {
        if a.steps.is_empty()
            || a.steps.iter().any(|&w| w == 0 || w > 100)
            || a.steps.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(CanaryError::Steps(a.steps));
        }
        for (flag, d, min) in [
            ("--step-duration", a.step_duration, MIN_SLICE),
            ("--check-every", a.check_every, MIN_SLICE),
            ("--verify", a.verify, Duration::ZERO),
        ] {
            if d < min || d > MAX_SPAN {
                return Err(CanaryError::Duration {
                    flag,
                    what: if min.is_zero() {
                        "at most 365 days"
                    } else {
                        "from 100ms (one judged slice) to 365 days"
                    },
                    value: humantime::format_duration(d).to_string(),
                });
            }
        }
        let gates = a
            .gates
            .iter()
            .map(|text| {
                let mut gate: Gate = text.parse().map_err(|reason: String| CanaryError::Gate {
                    gate: text.clone(),
                    reason,
                })?;
                // Gates judge the canary's own traffic, whatever scope was written.
                gate.target = Some(CANARY.to_owned());
                Ok(gate)
            })
            .collect::<Result<Vec<_>, CanaryError>>()?;
        let queries = a
            .queries
            .iter()
            .map(|q| parse_query(q))
            .collect::<Result<Vec<_>, _>>()?;
        if !queries.is_empty() && a.prometheus.is_none() {
            return Err(CanaryError::NoPrometheus);
        }
        // The engine's own checks (URLs, rate, connections) apply unchanged: the load is hey
        // mode's, built from typed values.
        let load = HeyArgs {
            duration: Some(Duration::from_millis(
                a.check_every.as_millis().clamp(1, u128::from(u64::MAX)) as u64,
            )),
            concurrency: a.concurrency,
            rate: Some(a.rate),
            targets: vec![
                (STABLE.to_owned(), a.stable.clone()),
                (CANARY.to_owned(), a.canary.clone()),
            ],
            no_progress: true,
            ..HeyArgs::default()
        };
        Ok(CanaryPlan {
            steps: a.steps,
            step_duration: a.step_duration,
            check_every: a.check_every,
            gates,
            queries,
            prometheus: a.prometheus,
            min_requests: a.min_requests,
            verify: a.verify,
            base: Plan::try_from(load)?,
        })
    }
}
