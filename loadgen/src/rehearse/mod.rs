//! `loadgen rehearse FILE`: an incident as one command. It starts what it needs on loopback (the
//! mock in-process, unless `--host` names a running one; a real Prometheus from PATH scraping the
//! mock and loadgen's client metrics at [`slo::Resolution`]'s interval for the scale; the rules), checks that every alert the file
//! names is loaded, then plays the timeline with its load and judges each expectation from what
//! Prometheus reports, against `slo::predict`'s timing. Everything it started is stopped when
//! it returns, Ctrl-C included (the Prometheus child is also killed if the process unwinds).
//!
//! Time: `time_scale` divides the steps' durations, the fixed `within`s and every window and
//! evaluation interval of the rules by one factor: rules generated from a spec are generated
//! compressed, a user's own `--rules` go through `slo::compress_rules` (the same code as
//! `loadgen slo compress`). Prometheus scrapes and evaluates every 15 s / N, between 50 ms and
//! 1 s, so a range holds about as many samples as in production.

pub mod file;
pub mod model;
pub mod notify;
pub mod verdict;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::scenario::{self, ScenarioError, ScenarioOptions};
use engine::client_metrics::ClientMetrics;
pub use file::{Expectation, Expected, Rehearsal, Within};
pub use notify::AlertmanagerSource;
pub use verdict::{RehearsalReport, Seen, Verdict};

/// Prometheus' job name for the mock; the shipped SLO rules select it.
pub const MOCK_JOB: &str = "mock-server";
/// Prometheus' job name for loadgen's client-side metrics.
pub const CLIENT_JOB: &str = "loadgen";
/// How often the alerts are read while the timeline plays.
const POLL: Duration = Duration::from_millis(250);
/// How long Prometheus may take to scrape the mock once (its scrape manager ticks every 5 s).
const FIRST_SCRAPE: Duration = Duration::from_secs(30);

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

/// How much later than the alert's firing deadline its notification may arrive: Prometheus
/// sends on its next evaluation (1 s), Alertmanager waits its (scaled) group_wait.
pub const NOTIFY_SLACK: Duration = Duration::from_secs(2);

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
    #[error(transparent)]
    Prometheus(#[from] slo::LocalPrometheusError),
    #[error("asking Prometheus: {0}")]
    Api(#[from] slo::ApiError),
    #[error("Prometheus did not scrape the mock at {target} within {FIRST_SCRAPE:?}")]
    NoScrape { target: String },
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
    #[error(transparent)]
    Alertmanager(#[from] slo::LocalAlertmanagerError),
    #[error("starting the mock or the client metrics: {0}")]
    Start(String),
    #[error("interrupted before the timeline began")]
    Interrupted,
}

impl RehearseError {
    /// 64 for what the user wrote, 69 for Prometheus missing or failing, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        use crate::exit::{FAILED, UNAVAILABLE, USAGE};
        match self {
            RehearseError::Scenario(e) => e.exit_code(),
            RehearseError::Prometheus(_)
            | RehearseError::Alertmanager(_)
            | RehearseError::Api(_)
            | RehearseError::NoScrape { .. } => UNAVAILABLE,
            RehearseError::Start(_) => FAILED,
            RehearseError::Interrupted => crate::exit::INTERRUPTED,
            _ => USAGE,
        }
    }
}

/// Rule files to load, as (file name, contents).
type RuleFiles = Vec<(String, String)>;

/// An expectation's predicted firing time and its deadline, from its step's start.
pub type Timing = (Option<Duration>, Option<Duration>);

/// The rule files to load, and the spec they came from, if any.
fn rule_files(plan: &RehearsePlan) -> Result<(RuleFiles, Option<slo::Spec>), RehearseError> {
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

/// Each expectation's deadline after its step starts (scaled), and its prediction if any.
fn deadlines(
    plan: &RehearsePlan,
    spec: Option<&slo::Spec>,
    durations: &[Duration],
) -> Result<Vec<Timing>, RehearseError> {
    let scale = plan.time_scale;
    let by = slo::Compression::new(scale).ok_or(RehearseError::TimeScale)?;
    let startup = mock_server::Phase::workshop_default();
    let phases = mock_server::drive::timeline::PhasePlan::new(&plan.rehearsal.timeline, &startup)
        .map_err(|e| RehearseError::Start(e.to_string()))?;
    let steps: Vec<(Duration, &mock_server::Phase)> = durations
        .iter()
        .zip(&phases.steps)
        .map(|(d, s)| (*d, &*s.phase))
        .collect();
    let mut out = Vec::new();
    for e in &plan.rehearsal.expectations {
        let no = |why: &str| RehearseError::NoPrediction {
            step: e.step_name.clone(),
            alert: e.alert.clone(),
            why: why.into(),
        };
        out.push(match e.within {
            None => (None, None),
            Some(Within::Fixed(d)) => (None, Some(d / scale)),
            Some(Within::Predicted) => {
                let spec = spec.ok_or_else(|| {
                    no("needs rules generated from a spec (--spec or the default), not --rules")
                })?;
                let at = model::fires_after(spec, &e.alert, &steps, e.step, by).map_err(
                    |n| match n {
                        model::NoPrediction::NotInSpec => no("is not an alert of the spec"),
                        model::NoPrediction::Unmodelled => no("has no model for this SLO or phase"),
                        model::NoPrediction::NeverFires => {
                            no("is predicted never to fire in this step")
                        }
                    },
                )?;
                let extra = if e.notified.is_some() {
                    NOTIFY_SLACK
                } else {
                    Duration::ZERO
                };
                (Some(at), Some(model::slack(at) + extra))
            }
        });
    }
    Ok(out)
}

/// Runs the rehearsal; `on_verdict` sees each verdict as soon as it is decided.
pub async fn run(
    plan: RehearsePlan,
    mut on_verdict: impl FnMut(&Verdict),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RehearsalReport, RehearseError> {
    // Listen for the interrupt from the start (a signal handler is installed when first polled),
    // so Ctrl-C while Prometheus starts still ends here and stops it, rather than killing the
    // process and leaving Prometheus behind.
    let (interrupt_tx, interrupt_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = interrupt_tx.send(true);
    });
    let interrupted = move || {
        let mut rx = interrupt_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let scale = plan.time_scale.max(1);
    let (rules, spec) = rule_files(&plan)?;
    let durations: Vec<Duration> = plan
        .rehearsal
        .timeline
        .steps
        .iter()
        .map(|s| s.duration / scale)
        .collect();
    let deadlines = deadlines(&plan, spec.as_ref(), &durations)?;
    // Bad input is 64 before anything is looked for or started.
    if plan.host.is_some() && !plan.rehearsal.revisions.is_empty() {
        return Err(RehearseError::HostWithRevisions);
    }
    let revisions = plan
        .rehearsal
        .revisions
        .iter()
        .map(|r| {
            let mut config = revision_config(r)?;
            config.draws = plan.draws;
            Ok((r.name.clone(), config))
        })
        .collect::<Result<Vec<_>, RehearseError>>()?;
    if let Some(e) = plan
        .rehearsal
        .expectations
        .iter()
        .find(|e| e.notified.is_some())
        && plan.alertmanager.is_none()
    {
        return Err(RehearseError::NotifiedWithoutAlertmanager {
            step: e.step_name.clone(),
            alert: e.alert.clone(),
            receiver: e.notified.clone().unwrap_or_default(),
        });
    }
    let user_alertmanager_config = match &plan.alertmanager {
        Some(AlertmanagerSource::File(path)) => Some(
            scenarios::read_text(path, scenarios::RULES_LIMIT).map_err(|source| {
                RehearseError::AlertmanagerConfig {
                    path: path.clone(),
                    source,
                }
            })?,
        ),
        _ => None,
    };
    if slo::LocalPrometheus::binary().is_none() {
        return Err(slo::LocalPrometheusError::NotInstalled.into());
    }
    if plan.alertmanager.is_some() && slo::LocalAlertmanager::binary().is_none() {
        return Err(slo::LocalAlertmanagerError::NotInstalled.into());
    }

    // Bind first, so Prometheus can be told the addresses before anything serves them.
    let start = |e: std::io::Error| RehearseError::Start(e.to_string());
    let mut mocks: Vec<(TcpListener, mock_server::Config)> = Vec::new();
    let mut targets: Vec<(String, String)> = Vec::new();
    match (&plan.host, revisions.is_empty()) {
        (Some(url), _) => targets.push(("default".into(), host_authority(url)?)),
        (None, true) => {
            let l = TcpListener::bind("127.0.0.1:0").await.map_err(start)?;
            targets.push(("default".into(), l.local_addr().map_err(start)?.to_string()));
            let config = mock_server::Config {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                // Latencies are recorded, not slept: the SLIs see them, the load is not slowed.
                latency_mode: mock_server::LatencyMode::Record,
                draws: plan.draws,
                ..mock_server::Config::default()
            };
            mocks.push((l, config));
        }
        (None, false) => {
            for (name, config) in revisions {
                let l = TcpListener::bind("127.0.0.1:0").await.map_err(start)?;
                targets.push((name, l.local_addr().map_err(start)?.to_string()));
                mocks.push((l, config));
            }
        }
    }
    let target = targets
        .iter()
        .map(|(_, a)| a.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let metrics = ClientMetrics::new().map_err(|e| RehearseError::Start(e.to_string()))?;
    let metrics_listener = ClientMetrics::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| RehearseError::Start(e.to_string()))?;
    let metrics_addr = metrics_listener.local_addr().map_err(start)?;

    let names: Vec<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    // Alertmanager first: Prometheus' config names it. Its webhook receiver is loadgen's own.
    let notes: notify::Notes = Arc::default();
    let (hook_stop, hook_stopped) = tokio::sync::watch::channel(false);
    let alertmanager = match &plan.alertmanager {
        None => None,
        Some(source) => {
            let config = match (source, user_alertmanager_config) {
                (AlertmanagerSource::File(_), Some(text)) => text,
                _ => {
                    let hook = TcpListener::bind("127.0.0.1:0").await.map_err(start)?;
                    let hook_addr = hook.local_addr().map_err(start)?;
                    let mut receivers: Vec<String> = Vec::new();
                    for r in plan
                        .rehearsal
                        .expectations
                        .iter()
                        .filter_map(|e| e.notified.clone())
                    {
                        if !receivers.contains(&r) {
                            receivers.push(r);
                        }
                    }
                    let mut stopped = hook_stopped.clone();
                    tokio::spawn(notify::webhook(hook, Arc::clone(&notes), async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    }));
                    notify::generated_config(hook_addr, &receivers, scale)
                }
            };
            Some(tokio::select! {
                a = slo::LocalAlertmanager::start(&config) => a?,
                () = interrupted() => return Err(RehearseError::Interrupted),
            })
        }
    };
    let addresses: Vec<&str> = targets.iter().map(|(_, a)| a.as_str()).collect();
    let config = scrape_config(
        slo::Resolution::for_scale(slo::Compression::new(scale).ok_or(RehearseError::TimeScale)?),
        &addresses,
        metrics_addr,
        &names,
        alertmanager.as_ref().map(slo::LocalAlertmanager::address),
    );
    let files: Vec<(&str, &str)> = rules
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let prometheus = tokio::select! {
        p = slo::LocalPrometheus::start(&config, &files) => p?,
        () = interrupted() => return Err(RehearseError::Interrupted),
    };
    let client = prometheus.client();
    for t in unique_targets(&plan.rehearsal.expectations) {
        slo::client::wait::check_alert_labels(&client, &t.alert, &t.labels)
            .await
            .map_err(|e| match e {
                slo::WaitError::Api(a) => RehearseError::Api(a),
                other => RehearseError::UnknownAlert(other),
            })?;
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mocks: Vec<_> = mocks
        .into_iter()
        .map(|(listener, config)| {
            tokio::spawn(mock_server::run(listener, config, stopped(stop_rx.clone())))
        })
        .collect();
    tokio::spawn(
        metrics
            .clone()
            .serve(metrics_listener, stopped(stop_rx.clone())),
    );

    let outcome = async {
        tokio::select! {
            r = wait_for_scrape(&client, &target, targets.len()) => r?,
            () = interrupted() => return Err(RehearseError::Interrupted),
        }
        let options = ScenarioOptions {
            file: plan.file.clone(),
            host: match (&plan.host, plan.rehearsal.revisions.is_empty()) {
                (Some(h), _) => Some(h.clone()),
                (None, true) => Some(format!("http://{target}")),
                (None, false) => None,
            },
            targets: if plan.rehearsal.revisions.is_empty() {
                Vec::new()
            } else {
                targets
                    .iter()
                    .map(|(name, a)| (name.clone(), format!("http://{a}")))
                    .collect()
            },
            token: plan.token.clone(),
            users: 10,
            wait: None,
            journey: "workshop".into(),
            timeout: Duration::from_secs(20),
            stats_interval: Duration::ZERO,
            insecure: false,
        };
        let mut steps = scenario::plan_timeline(plan.rehearsal.timeline.clone(), &options)?;
        for (s, d) in steps.iter_mut().zip(&durations) {
            s.duration = *d;
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let began = Instant::now();
        let alerts = unique_targets(&plan.rehearsal.expectations);
        let poller = tokio::spawn(poll(
            client.clone(),
            alerts,
            began,
            Arc::clone(&seen),
            Arc::clone(&notes),
        ));
        let routes = match (&plan.alertmanager, &alertmanager) {
            (Some(AlertmanagerSource::File(_)), Some(am)) => Some(tokio::spawn(
                notify::poll_routes(am.address().to_owned(), Arc::clone(&notes), POLL),
            )),
            _ => None,
        };
        let judge = Mutex::new(verdict::Judge::new(
            &plan.rehearsal.expectations,
            &deadlines,
        ));
        let ends: Mutex<Vec<f64>> = Mutex::new(Vec::new());
        // Each verdict is printed the moment it is decided, between steps as within them.
        // Answers whether one of the verdicts just decided failed.
        let decide = |on_verdict: &mut dyn FnMut(&Verdict)| {
            let (Ok(seen), Ok(ends), Ok(mut judge)) = (seen.lock(), ends.lock(), judge.lock())
            else {
                return false;
            };
            let mut failed = false;
            for v in judge.decide(&seen, &ends, false) {
                failed |= !v.passed;
                on_verdict(&v);
            }
            failed
        };
        let mut failed = false;
        // --fail-fast stops the load as an interrupt would, and the verdicts left are "not played".
        let (abort_tx, abort_rx) = tokio::sync::watch::channel(false);
        let stop_load = {
            let interrupted = interrupted();
            let mut abort_rx = abort_rx.clone();
            async move {
                tokio::select! {
                    () = interrupted => {}
                    _ = abort_rx.wait_for(|a| *a) => {}
                }
            }
        };
        let load = scenario::run(
            steps,
            &options,
            Some(metrics.clone()),
            |_, _| {
                if let Ok(mut ends) = ends.lock() {
                    ends.push(began.elapsed().as_secs_f64());
                }
            },
            stop_load,
        );
        tokio::pin!(load);
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reports = loop {
            tokio::select! {
                r = &mut load => break r?,
                _ = tick.tick() => {
                    failed |= decide(&mut on_verdict);
                    if failed && plan.fail_fast {
                        let _ = abort_tx.send(true);
                    }
                }
            }
        };
        let failed_fast = *abort_rx.borrow();
        let ends_now = ends.lock().map(|e| e.clone()).unwrap_or_default();
        // Deadlines that run past the last step are waited out (bounded by the deadlines), and
        // decided as they pass.
        let interrupted = !failed_fast
            && (reports.len() < durations.len()
                || reports
                    .iter()
                    .any(|s| s.report.as_ref().is_some_and(|r| r.interrupted)));
        if !interrupted && !failed_fast {
            let end = *ends_now.last().unwrap_or(&0.0);
            let latest = judge.lock().ok().and_then(|j| j.latest_deadline(&ends_now));
            let wait = latest.map_or(0.0, |d| d - end);
            if wait > 0.0 {
                let until = Instant::now() + Duration::from_secs_f64(wait + POLL.as_secs_f64());
                while Instant::now() < until && !(failed && plan.fail_fast) {
                    tick.tick().await;
                    failed |= decide(&mut on_verdict);
                }
            }
        }
        poller.abort();
        if let Some(routes) = routes {
            routes.abort();
        }
        drain_notes(&notes, began, &seen);
        let seen = seen
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        if let Ok(mut judge) = judge.lock() {
            for v in judge.decide(&seen, &ends_now, true) {
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
            time_scale: scale,
            steps: plan
                .rehearsal
                .timeline
                .steps
                .iter()
                .zip(&ends_now)
                .map(|(s, e)| (s.name.clone(), *e))
                .collect(),
            verdicts: judge
                .into_inner()
                .map(verdict::Judge::into_verdicts)
                .unwrap_or_default(),
            interrupted,
        })
    }
    .await;

    // Stop the load's targets, then Prometheus, whatever the outcome.
    let _ = stop_tx.send(true);
    for mock in mocks {
        let _ = tokio::time::timeout(Duration::from_secs(15), mock).await;
    }
    prometheus.stop().await;
    let _ = hook_stop.send(true);
    if let Some(am) = alertmanager {
        am.stop().await;
    }
    outcome
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

/// An alert name, the labels its instances must carry, and the key the verdicts look it up
/// under ([`Expectation::target`]).
struct Target {
    alert: String,
    labels: std::collections::BTreeMap<String, String>,
    key: String,
}

/// The alerts (with their label matchers) the expectations use, each once, in order of
/// appearance.
fn unique_targets(expectations: &[Expectation]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for e in expectations {
        let key = e.target();
        if !out.iter().any(|t| t.key == key) {
            out.push(Target {
                alert: e.alert.clone(),
                labels: e.labels.clone(),
                key,
            });
        }
    }
    out
}

/// `host:port` of a base URL (the scrape target).
fn host_authority(url: &str) -> Result<String, RehearseError> {
    let uri: http::Uri = url.parse().map_err(|_| RehearseError::Host(url.into()))?;
    let authority = uri
        .authority()
        .ok_or_else(|| RehearseError::Host(url.into()))?;
    let port = authority
        .port_u16()
        .or_else(|| match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        })
        .ok_or_else(|| RehearseError::Host(url.into()))?;
    Ok(format!("{}:{port}", authority.host()))
}

/// The mock of one revision: its profile, recording latencies rather than sleeping them.
fn revision_config(r: &file::Revision) -> Result<mock_server::Config, RehearseError> {
    use mock_server::answer::profile::Profile;
    let bad = |message: String| RehearseError::Revision {
        name: r.name.clone(),
        message,
    };
    let profile = Profile::named(&r.profile).ok_or_else(|| {
        bad(format!(
            "profile {:?} is not one of {}",
            r.profile,
            Profile::NAMES.join(", ")
        ))
    })?;
    if !mock_server::config::valid_revision(&r.name) {
        return Err(bad(
            "a revision's name must be 1 to 63 letters, digits, '.', '_' or '-' (it becomes a \
             header and a label)"
                .into(),
        ));
    }
    Ok(mock_server::Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        latency_mode: mock_server::LatencyMode::Record,
        profile,
        revision: Some(r.name.clone()),
        ..mock_server::Config::default()
    })
}

/// Scrapes the mocks and loadgen's client metrics, and evaluates, as often as `every` says.
fn scrape_config(
    every: slo::Resolution,
    targets: &[&str],
    metrics: SocketAddr,
    rule_files: &[&str],
    alertmanager: Option<&str>,
) -> String {
    let mut config = format!(
        "global:\n  scrape_interval: {}\n  evaluation_interval: {}\nrule_files:\n",
        every.scrape, every.evaluation
    );
    for file in rule_files {
        config.push_str(&format!("  - {}\n", slo::rules::quote(file)));
    }
    config.push_str("scrape_configs:\n");
    let quoted = |addresses: &[String]| {
        addresses
            .iter()
            .map(|a| slo::rules::quote(a))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mocks: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
    for (job, addresses) in [
        (MOCK_JOB, quoted(&mocks)),
        (CLIENT_JOB, quoted(&[metrics.to_string()])),
    ] {
        config.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: [{addresses}]\n"
        ));
    }
    if let Some(address) = alertmanager {
        config.push_str(&format!(
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{}]\n",
            slo::rules::quote(address)
        ));
    }
    config
}

/// Waits until Prometheus has scraped each of the `count` mocks successfully once.
async fn wait_for_scrape(
    client: &slo::PrometheusClient,
    target: &str,
    count: usize,
) -> Result<(), RehearseError> {
    let deadline = Instant::now() + FIRST_SCRAPE;
    let query = format!("up{{job={MOCK_JOB:?}}} == 1");
    loop {
        let up = client.query(&query).await?;
        if up.iter().filter(|s| s.value == 1.0).count() >= count {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(RehearseError::NoScrape {
                target: target.to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads the firing alerts every [`POLL`] until aborted.
async fn poll(
    client: slo::PrometheusClient,
    alerts: Vec<Target>,
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
