//! `loadgen slo rules|report` and `loadgen alerts wait`: the SLO tools for users' own CI, thin
//! commands over the `slo` crate (spec -> Prometheus rules, live report, alert waits).

use std::path::Path;
use std::time::Duration;

/// The spec shipped in `scenarios/slo/`, embedded so the commands work anywhere.
const SHIPPED_SPEC: &str = include_str!("../../scenarios/slo/slos.toml");

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

fn spec(path: Option<&Path>) -> Result<slo::Spec, SloCmdError> {
    Ok(match path {
        Some(p) => slo::Spec::load(p)?,
        None => slo::Spec::from_toml(SHIPPED_SPEC)?,
    })
}

/// `loadgen slo rules`: the recording rules and alerts of `spec` (default: the shipped one),
/// windows divided by `compress`.
pub fn rules(spec_path: Option<&Path>, compress: u32) -> Result<(String, i32), SloCmdError> {
    let by = slo::Compression::new(compress).ok_or(SloCmdError::Compress)?;
    Ok((slo::rules(&spec(spec_path)?, by)?, crate::exit::OK))
}

/// `loadgen slo report`: SLIs and burn rates from a live Prometheus, as a table or JSON.
pub async fn report(
    prometheus: &str,
    spec_path: Option<&Path>,
    json: bool,
) -> Result<(String, i32), SloCmdError> {
    let report = slo::slo_report(prometheus, &spec(spec_path)?).await?;
    let text = if json {
        report.to_json()
    } else {
        report.to_string()
    };
    Ok((text, crate::exit::OK))
}

/// `loadgen alerts wait`: exit 0 when the alert reached `state` within `within`, 1 when not.
pub async fn alerts_wait(
    prometheus: &str,
    alert: &str,
    state: slo::AlertState,
    within: Duration,
) -> Result<(String, i32), SloCmdError> {
    match slo::alerts_wait(prometheus, alert, state, within).await? {
        slo::WaitOutcome::Reached { after } => Ok((
            format!(
                "{} reached {:?} after {:.1} s",
                alert,
                state,
                after.as_secs_f64()
            ),
            crate::exit::OK,
        )),
        slo::WaitOutcome::TimedOut { last } => Ok((
            format!(
                "{} did not reach {:?} within {:?}; last seen {last:?}",
                alert, state, within
            ),
            crate::exit::FAILED,
        )),
    }
}
