//! `loadgen journey`'s flags and the checked plan they become (`TryFrom`), so users never meet a
//! bad value: the journey file is parsed, URLs are checked, waits and rates are bounded.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use http::HeaderMap;

use crate::cli::parse_duration;
use crate::journey::spec::{Journey, SpecError, Wait};
use crate::plan::{PlanError, Target};

/// How the final report is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A table per endpoint and in total, as Locust prints.
    Text,
    /// The report as JSON (schema: loadgen/schema/journey-report.schema.json).
    Json,
    /// Locust's stats CSV: one row per endpoint, then "Aggregated".
    Csv,
}

/// Simulate users walking through a journey, as the workshop's Locust swarm did.
#[derive(Debug, Clone, Args)]
pub struct JourneyArgs {
    /// Base URL of the service (e.g. http://mockserver-service.movie-guru.svc.cluster.local).
    #[arg(long, required_unless_present = "targets")]
    pub host: Option<String>,
    /// A named target, NAME=URL, repeatable, instead of --host; tasks are split by --split.
    #[arg(long = "target", value_name = "NAME=URL", value_parser = crate::cli::parse_pair, conflicts_with = "host")]
    pub targets: Vec<(String, String)>,
    /// Traffic weight of a target, NAME=WEIGHT (default: equal).
    #[arg(long = "split", value_name = "NAME=WEIGHT", value_parser = crate::cli::parse_pair)]
    pub splits: Vec<(String, String)>,
    /// A shipped journey (workshop, challenge1) or a journey file. Default: the workshop swarm.
    #[arg(long, default_value = "workshop")]
    pub journey: String,
    /// Simulated users at peak.
    #[arg(short = 'u', long, default_value_t = 3)]
    pub users: usize,
    /// Users started per second until all run (Locust's spawn rate).
    #[arg(short = 'r', long, default_value_t = 1.0)]
    pub spawn_rate: f64,
    /// Stop after this long (e.g. 7h, 90s). Default: until Ctrl-C or --tasks.
    #[arg(short = 't', long, value_parser = parse_duration)]
    pub run_time: Option<Duration>,
    /// Stop after this many tasks have started, in total.
    #[arg(long)]
    pub tasks: Option<u64>,
    /// Think time after each task, MIN..MAX (e.g. 10ms..50ms); overrides the journey's.
    #[arg(long, value_name = "MIN..MAX")]
    pub wait: Option<String>,
    /// Instead of a think time: tasks started per second, in total, spread evenly over users
    /// (Locust's constant throughput).
    #[arg(long, conflicts_with = "wait")]
    pub rate: Option<f64>,
    /// Timeout of each request.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Print live stats on stderr this often; 0s for none.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub stats_interval: Duration,
    /// Serve client-side Prometheus metrics on this address (e.g. 0.0.0.0:9464).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// The final report's format.
    #[arg(short = 'o', long, value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
    /// Also write the final report as CSV to this file (Locust's --csv).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
}

/// Where users send their requests.
#[derive(Debug, Clone)]
pub struct JourneyTarget {
    pub target: Target,
    /// The URL's path without its trailing slash, put before every request path.
    pub base_path: String,
    pub weight: u32,
}

/// What a user does between tasks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Think for a uniform time in the range after each task (Locust's `between`).
    Wait(Wait),
    /// Start a task every `users / rate` seconds per user (Locust's `constant_throughput`).
    Rate(f64),
}

/// When the run stops starting tasks; either bound, or both, or neither (until Ctrl-C).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stop {
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
    pub pacing: Pacing,
    pub stop: Stop,
    pub timeout: Duration,
    pub insecure: bool,
}

/// The whole command: the run plus where its output goes.
#[derive(Debug, Clone)]
pub struct JourneyPlan {
    pub run: RunPlan,
    pub stats_interval: Option<Duration>,
    pub metrics_addr: Option<SocketAddr>,
    pub output: ReportFormat,
    pub csv: Option<PathBuf>,
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
    #[error("--split names {0:?}, which is not a --target")]
    UnknownTarget(String),
    #[error("--split {0}: weight must be a whole number")]
    BadWeight(String),
    #[error("every target's weight is 0")]
    ZeroWeights,
}

const MAX_USERS: usize = 100_000;
const MAX_RUN: Duration = Duration::from_secs(365 * 24 * 3600);

fn range(flag: &'static str, what: &'static str, v: impl ToString) -> JourneyPlanError {
    JourneyPlanError::OutOfRange {
        flag,
        what,
        value: v.to_string(),
    }
}

impl TryFrom<JourneyArgs> for JourneyPlan {
    type Error = JourneyPlanError;

    fn try_from(a: JourneyArgs) -> Result<JourneyPlan, JourneyPlanError> {
        let journey = Journey::load(&a.journey)?;
        let named = match &a.host {
            Some(h) => vec![("default".to_owned(), h.clone())],
            None => a.targets.clone(),
        };
        let targets = targets(&named, &a.splits)?;
        if !(1..=MAX_USERS).contains(&a.users) {
            return Err(range("--users", "between 1 and 100000", a.users));
        }
        // Infinite starts every user at once; below 0.001/s the last start would overflow time.
        if a.spawn_rate.is_nan() || a.spawn_rate < 0.001 {
            return Err(range(
                "--spawn-rate",
                "at least 0.001 users/s",
                a.spawn_rate,
            ));
        }
        let pacing = match (&a.wait, a.rate) {
            (_, Some(r)) if !(r.is_finite() && (0.001..=1e6).contains(&r)) => {
                return Err(range("--rate", "between 0.001 and 1e6 tasks/s", r));
            }
            (_, Some(r)) => Pacing::Rate(r),
            (Some(w), None) => Pacing::Wait(Wait::parse(w)?),
            (None, None) => Pacing::Wait(journey.wait),
        };
        if let Some(d) = a.run_time.filter(|d| d.is_zero() || *d > MAX_RUN) {
            return Err(range(
                "--run-time",
                "above 0 and at most 365 days",
                humantime::format_duration(d),
            ));
        }
        if a.tasks == Some(0) {
            return Err(range("--tasks", "at least 1", 0));
        }
        if a.timeout.is_zero() || a.timeout > MAX_RUN {
            return Err(range(
                "--timeout",
                "above 0 and at most 365 days",
                humantime::format_duration(a.timeout),
            ));
        }
        Ok(JourneyPlan {
            run: RunPlan {
                journey: Arc::new(journey),
                targets,
                users: a.users,
                spawn_rate: a.spawn_rate,
                pacing,
                stop: Stop {
                    run_time: a.run_time,
                    tasks: a.tasks,
                },
                timeout: a.timeout,
                insecure: a.insecure,
            },
            stats_interval: (!a.stats_interval.is_zero()).then_some(a.stats_interval),
            metrics_addr: a.metrics_addr,
            output: a.output,
            csv: a.csv,
        })
    }
}

/// Checks named URLs and their split weights (equal when none are given).
pub fn targets(
    named: &[(String, String)],
    splits: &[(String, String)],
) -> Result<Vec<JourneyTarget>, JourneyPlanError> {
    for (name, _) in splits {
        if !named.iter().any(|(n, _)| n == name) {
            return Err(JourneyPlanError::UnknownTarget(name.clone()));
        }
    }
    let out = named
        .iter()
        .map(|(name, url)| {
            let weight = match splits.iter().find(|(n, _)| n == name) {
                Some((_, w)) => w
                    .parse::<u32>()
                    .map_err(|_| JourneyPlanError::BadWeight(format!("{name}={w}")))?,
                None if splits.is_empty() => 1,
                None => 0,
            };
            Ok::<_, JourneyPlanError>(journey_target(name, url, weight)?)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if out.iter().all(|t| t.weight == 0) {
        return Err(JourneyPlanError::ZeroWeights);
    }
    Ok(out)
}

/// One target for journeys: HTTP/1.1, no proxy, the URL's path as a prefix.
pub fn journey_target(name: &str, url: &str, weight: u32) -> Result<JourneyTarget, PlanError> {
    let target = crate::plan::target(
        name.to_owned(),
        url,
        weight,
        None,
        None,
        false,
        &HeaderMap::new(),
    )?;
    let base_path = target.url.path().trim_end_matches('/').to_owned();
    Ok(JourneyTarget {
        target,
        base_path,
        weight,
    })
}
