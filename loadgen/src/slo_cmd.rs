//! `loadgen slo rules|report` and `loadgen alerts wait`: the SLO tools for users' own CI, thin
//! commands over the `slo` crate (spec -> Prometheus rules, live report, alert waits).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::parse_duration;

/// The spec shipped in `scenarios/slo/`, embedded so the commands work anywhere.
const SHIPPED_SPEC: &str = include_str!("../../scenarios/slo/slos.toml");

#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Print the Prometheus recording rules and burn-rate alerts a spec defines.
    Rules(RulesArgs),
    /// Per SLO, from a live Prometheus: SLI, error budget left, burn rate per window.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// The SLO spec (TOML); default: the workshop's, scenarios/slo/slos.toml.
    pub spec: Option<PathBuf>,
    /// Divide every window and `for:` by this factor (60 gives the test-speed copy).
    #[arg(long, default_value_t = 1)]
    pub compress: u32,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Prometheus base URL.
    #[arg(long)]
    pub prometheus: String,
    /// The SLO spec (TOML); default: the workshop's.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Wait until an alert reaches a state; exit 0 if it did within the time, 1 if not.
    Wait(WaitArgs),
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Prometheus base URL.
    #[arg(long)]
    pub prometheus: String,
    /// Alert name (a typo is an error, not an "inactive" alert).
    #[arg(long)]
    pub alert: String,
    /// firing, pending or inactive.
    #[arg(long)]
    pub state: slo::AlertState,
    /// How long to wait.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub within: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SloCmdError {
    #[error(transparent)]
    Spec(#[from] slo::SpecError),
    #[error("--compress must be at least 1")]
    Compress,
    #[error(transparent)]
    Compression(#[from] slo::CompressionError),
    #[error(transparent)]
    Api(#[from] slo::ApiError),
    #[error(transparent)]
    Wait(#[from] slo::WaitError),
}

impl SloCmdError {
    /// Bad input is a usage error (64); a failing Prometheus is a run failure (1).
    pub fn exit_code(&self) -> i32 {
        match self {
            SloCmdError::Spec(_) | SloCmdError::Compress | SloCmdError::Compression(_) => {
                crate::exit::USAGE
            }
            SloCmdError::Api(_) | SloCmdError::Wait(_) => crate::exit::FAILED,
        }
    }
}

fn spec(path: &Option<PathBuf>) -> Result<slo::Spec, SloCmdError> {
    Ok(match path {
        Some(p) => slo::Spec::load(p)?,
        None => slo::Spec::from_toml(SHIPPED_SPEC)?,
    })
}

/// Runs an `slo` subcommand; returns what to print and the exit code.
pub async fn slo(cmd: SloCommand) -> Result<(String, i32), SloCmdError> {
    match cmd {
        SloCommand::Rules(a) => {
            let by = slo::Compression::new(a.compress).ok_or(SloCmdError::Compress)?;
            Ok((slo::rules(&spec(&a.spec)?, by)?, crate::exit::OK))
        }
        SloCommand::Report(a) => {
            let report = slo::slo_report(&a.prometheus, &spec(&a.spec)?).await?;
            let text = if a.json {
                report.to_json()
            } else {
                report.to_string()
            };
            Ok((text, crate::exit::OK))
        }
    }
}

/// Runs an `alerts` subcommand: exit 0 when the state was reached in time, 1 when not.
pub async fn alerts(cmd: AlertsCommand) -> Result<(String, i32), SloCmdError> {
    let AlertsCommand::Wait(a) = cmd;
    match slo::alerts_wait(&a.prometheus, &a.alert, a.state, a.within).await? {
        slo::WaitOutcome::Reached { after } => Ok((
            format!(
                "{} reached {:?} after {:.1} s",
                a.alert,
                a.state,
                after.as_secs_f64()
            ),
            crate::exit::OK,
        )),
        slo::WaitOutcome::TimedOut { last } => Ok((
            format!(
                "{} did not reach {:?} within {:?}; last seen {last:?}",
                a.alert, a.state, a.within
            ),
            crate::exit::FAILED,
        )),
    }
}
