//! A journey run's checked plan (`RunPlan`): the journey, targets with their weights, users,
//! pacing and stop. `cli::journey` and `scenario` build it; the bounds they check are here.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::journey::spec::{Journey, SpecError, Wait};
use crate::plan::{OutOfRange, PlanError, Target, TargetSpec};
use crate::weighted::{SplitFlagError, split_flags};

/// Where users send their requests.
#[derive(Debug, Clone)]
pub struct JourneyTarget {
    pub target: Target,
    /// The URL's path without its trailing slash, put before every request path.
    pub base_path: String,
    pub weight: u32,
}

/// What a user does between tasks (tasks, not requests: the load's pacing is `plan::Pacing`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaskPacing {
    /// Think for a uniform time in the range after each task (Locust's `between`).
    Wait(Wait),
    /// Start a task every `users / rate` seconds per user (Locust's `constant_throughput`).
    Rate(f64),
}

/// When a journey run stops starting tasks; either bound, or both, or neither (until Ctrl-C).
/// (The load's `plan::Stop` counts requests.)
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TaskStop {
    pub run_time: Option<Duration>,
    pub tasks: Option<u64>,
}

/// A checked run.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub journey: Arc<Journey>,
    pub targets: Vec<JourneyTarget>,
    pub users: usize,
    /// Users per second; infinite starts them all at once.
    pub spawn_rate: f64,
    pub pacing: TaskPacing,
    pub stop: TaskStop,
    pub timeout: Duration,
    pub insecure: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum JourneyPlanError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Target(#[from] PlanError),
    #[error("{flag} must be {what}, got {value}")]
    OutOfRange {
        flag: &'static str,
        what: &'static str,
        value: String,
    },
    #[error(transparent)]
    Split(#[from] SplitFlagError),
}

pub const MAX_USERS: usize = 100_000;
/// The shortest `--stats-interval` (journeys and timelines); 0 means none.
pub const MIN_STATS_INTERVAL: Duration = Duration::from_millis(100);
pub const MAX_RUN: Duration = Duration::from_secs(365 * 24 * 3600);

impl From<OutOfRange> for JourneyPlanError {
    fn from(OutOfRange { flag, what, value }: OutOfRange) -> JourneyPlanError {
        JourneyPlanError::OutOfRange { flag, what, value }
    }
}

/// Checks named URLs and their split weights (`weighted::split`: equal when none are given,
/// Cloud Run's rule when some are).
pub fn targets(
    named: &[(String, String)],
    splits: &[(String, String)],
) -> Result<Vec<JourneyTarget>, JourneyPlanError> {
    let weights = split_flags(named, splits)?;
    named
        .iter()
        .zip(weights)
        .map(|((name, url), weight)| Ok(journey_target(name, url, weight)?))
        .collect()
}

/// One target for journeys: HTTP/1.1, no proxy, the URL's path as a prefix.
pub fn journey_target(name: &str, url: &str, weight: u32) -> Result<JourneyTarget, PlanError> {
    let target = crate::plan::target(TargetSpec {
        name,
        url,
        weight,
        proxy: None,
        host: None,
        h2: false,
        headers: &HeaderMap::new(),
    })?;
    let base_path = target.url.path().trim_end_matches('/').to_owned();
    Ok(JourneyTarget {
        target,
        base_path,
        weight,
    })
}
