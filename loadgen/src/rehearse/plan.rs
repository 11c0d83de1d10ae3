//! A checked `rehearse` command and what it derives before anything starts: the rule files to
//! load (compressed by the time scale), each expectation's predicted firing time and deadline,
//! and the errors a rehearsal can end with.

use std::path::PathBuf;
use std::time::Duration;

use super::file::{self, Expectation, Rehearsal};
use super::notify::AlertmanagerSource;
use crate::scenario::{ScenarioError, ScenarioOptions};

/// How long Prometheus may take to scrape the mock once (its scrape manager ticks every 5 s).
pub const FIRST_SCRAPE: Duration = Duration::from_secs(30);

/// Where the rules come from.
#[derive(Debug, Clone)]
pub enum RulesSource {
    /// The user's own rule files, compressed by the time scale.
    Files(Vec<PathBuf>),
    /// Generated from a spec (default: the shipped one), compressed by the time scale.
    Spec(Option<PathBuf>),
}

/// A checked `rehearse` command.
#[derive(Debug, Clone)]
pub struct RehearsePlan {
    pub file: PathBuf,
    pub rehearsal: Rehearsal,
    /// A running mock's base URL; `None` starts one in-process.
    pub host: Option<String>,
    pub token: Option<String>,
    pub rules: RulesSource,
    pub time_scale: u32,
    /// How the mocks it starts draw (exact by default: the verdict must not depend on dice).
    pub draws: mock_server::state::draw::DrawMode,
    /// End at the first failed expectation.
    pub fail_fast: bool,
    /// Start an Alertmanager too, and where its config comes from.
    pub alertmanager: Option<AlertmanagerSource>,
}

/// How often the alerts (and, with the user's Alertmanager config, its routes) are read while
/// the timeline plays.
pub const POLL: Duration = Duration::from_millis(250);

/// Simulated users of the load, unless a step's `load` says otherwise.
const USERS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum RehearseError {
    #[error(transparent)]
    File(#[from] file::FileError),
    #[error("--time-scale must be at least 1")]
    TimeScale,
    #[error("reading the rules {path}: {source}")]
    Rules {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the rules {path}: {source}")]
    Compress {
        path: PathBuf,
        source: slo::CompressError,
    },
    #[error(transparent)]
    Spec(#[from] slo::SpecError),
    #[error(transparent)]
    Compression(#[from] slo::CompressionError),
    #[error("step {step:?}: {alert}: within = \"predicted\" {why}; give a duration instead")]
    NoPrediction {
        step: String,
        alert: String,
        why: String,
    },
    #[error("{0}")]
    UnknownAlert(slo::WaitError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The local Prometheus or Alertmanager rehearse starts: missing or failing.
    #[error(transparent)]
    LocalService(#[from] slo::LocalServiceError),
    #[error("asking Prometheus: {0}")]
    Api(#[from] slo::ApiError),
    #[error(
        "the Prometheus rehearse started at {prometheus} did not scrape the mock at {target} \
         within {FIRST_SCRAPE:?}: it reports {seen}"
    )]
    NoScrape {
        target: String,
        prometheus: String,
        seen: String,
    },
    #[error("--host {0:?} is not a URL with a host and port")]
    Host(String),
    #[error(
        "the rehearsal names revisions, which it starts itself; --host points at one running mock"
    )]
    HostWithRevisions,
    #[error("revision {name:?}: {message}")]
    Revision { name: String, message: String },
    #[error(
        "step {step:?}: {alert}: notified = {receiver:?} needs an Alertmanager: add --alertmanager \
         (or --alertmanager-config FILE)"
    )]
    NotifiedWithoutAlertmanager {
        step: String,
        alert: String,
        receiver: String,
    },
    #[error("reading the Alertmanager config {path}: {source}")]
    AlertmanagerConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting the mock or the client metrics: {0}")]
    Start(String),
    #[error("interrupted before the timeline began")]
    Interrupted,
}

impl crate::exit::Exit for RehearseError {
    /// 64 for what the user wrote, 69 for Prometheus missing or failing, 1 otherwise.
    fn exit_code(&self) -> i32 {
        use crate::exit::{FAILED, UNAVAILABLE, USAGE};
        match self {
            RehearseError::Scenario(e) => e.exit_code(),
            RehearseError::LocalService(_)
            | RehearseError::Api(_)
            | RehearseError::NoScrape { .. } => UNAVAILABLE,
            RehearseError::Start(_) => FAILED,
            RehearseError::Interrupted => crate::exit::INTERRUPTED,
            _ => USAGE,
        }
    }

    /// What rehearse started, since the user gave no URL: a missing binary's message already
    /// says how to install it, and a Prometheus that never got ready carries its log's tail.
    fn hint(&self) -> Option<&'static str> {
        match self {
            RehearseError::Api(_) | RehearseError::NoScrape { .. } => Some(
                "hint: rehearse starts its own Prometheus from PATH on loopback, scraping the \
                 mock it starts (or --host); a machine too busy to let it scrape and evaluate \
                 on time, or a firewall on loopback, stops it",
            ),
            _ => None,
        }
    }
}

/// Rule files to load, as (file name, contents).
pub type RuleFiles = Vec<(String, String)>;

/// An expectation's predicted firing time and its deadline, from its step's start.
pub type Timing = (Option<Duration>, Option<Duration>);

/// The rule files to load, and the spec they came from, if any.
pub fn rule_files(plan: &RehearsePlan) -> Result<(RuleFiles, Option<slo::Spec>), RehearseError> {
    match &plan.rules {
        RulesSource::Files(paths) => {
            let by = slo::Compression::new(plan.time_scale).ok_or(RehearseError::TimeScale)?;
            let mut files = Vec::new();
            for (i, path) in paths.iter().enumerate() {
                let text =
                    scenarios::read_text(path, scenarios::RULES_LIMIT).map_err(|source| {
                        RehearseError::Rules {
                            path: path.clone(),
                            source,
                        }
                    })?;
                let text =
                    slo::compress_rules(&text, by).map_err(|source| RehearseError::Compress {
                        path: path.clone(),
                        source,
                    })?;
                files.push((format!("rules-{i}.yml"), text));
            }
            Ok((files, None))
        }
        RulesSource::Spec(path) => {
            let spec = match path {
                Some(p) => slo::Spec::load(p)?,
                None => slo::Spec::from_toml(crate::slo_cmd::SHIPPED_SPEC)?,
            };
            let by = slo::Compression::new(plan.time_scale).ok_or(RehearseError::TimeScale)?;
            Ok((
                vec![("rules.yml".into(), slo::rules(&spec, by)?)],
                Some(spec),
            ))
        }
    }
}

/// The timeline's load as `scenario run` would play it, before any target is known.
pub fn load_options(plan: &RehearsePlan) -> ScenarioOptions {
    ScenarioOptions {
        file: plan.file.clone(),
        host: None,
        targets: Vec::new(),
        token: plan.token.clone(),
        users: USERS,
        wait: None,
        journey: "workshop".into(),
        timeout: Duration::from_secs(20),
        stats_interval: Duration::ZERO,
        insecure: false,
    }
}

/// An alert name, the labels its instances must carry, and the key the verdicts look it up
/// under ([`Expectation::target`]).
pub struct AlertMatch {
    pub alert: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub key: String,
}

/// The alerts (with their label matchers) the expectations use, each once, in order of
/// appearance.
pub fn unique_alerts(expectations: &[Expectation]) -> Vec<AlertMatch> {
    let mut out: Vec<AlertMatch> = Vec::new();
    for e in expectations {
        let key = e.target();
        if !out.iter().any(|t| t.key == key) {
            out.push(AlertMatch {
                alert: e.alert.clone(),
                labels: e.labels.clone(),
                key,
            });
        }
    }
    out
}
