//! What a rehearsal starts on loopback and stops when it ends: the mocks (none with `--host`),
//! loadgen's client metrics, an Alertmanager with loadgen's webhook as its receiver, and a real
//! Prometheus that scrapes them at the scale's resolution with the rules loaded. Nothing is
//! started before the plan's inputs are checked, so bad input is exit 64 with nothing to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::file;
use super::notify::{self, AlertmanagerSource};
use super::plan::{FIRST_SCRAPE, RehearseError, RehearsePlan, RuleFiles};
use engine::client_metrics::ClientMetrics;

/// Prometheus' job name for the mock; the shipped SLO rules select it.
pub const MOCK_JOB: &str = "mock-server";
/// Prometheus' job name for loadgen's client-side metrics.
pub const CLIENT_JOB: &str = "loadgen";

/// Resolves once the user interrupts. It listens from when it is made (the signal handler is
/// installed when `shutdown` is first polled), so Ctrl-C while Prometheus starts still ends the
/// rehearsal and stops Prometheus rather than killing the process and leaving it behind.
#[derive(Clone)]
pub struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    pub fn listen(shutdown: impl Future<Output = ()> + Send + 'static) -> Interrupt {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        Interrupt(rx)
    }

    /// A future that resolves at the interrupt; owns its receiver, so it can outlive `self`.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        raised(self.0.clone())
    }
}

/// Resolves once `flag` is set (or its sender is gone): how every part the rehearsal starts is
/// told to stop.
async fn raised(mut flag: watch::Receiver<bool>) {
    let _ = flag.wait_for(|s| *s).await;
}

/// The plan's inputs, checked: the revisions' mock configs and the user's Alertmanager config.
pub struct Checked {
    revisions: Vec<(String, mock_server::Config)>,
    alertmanager_config: Option<String>,
}

/// Everything that is the user's mistake, and the binaries that must be there, checked before
/// anything is looked for or started.
pub fn check(plan: &RehearsePlan) -> Result<Checked, RehearseError> {
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
    let alertmanager_config = match &plan.alertmanager {
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
        return Err(slo::LocalServiceError::NotInstalled(slo::Service::Prometheus).into());
    }
    if plan.alertmanager.is_some() && slo::LocalAlertmanager::binary().is_none() {
        return Err(slo::LocalServiceError::NotInstalled(slo::Service::Alertmanager).into());
    }
    Ok(Checked {
        revisions,
        alertmanager_config,
    })
}

/// What the rehearsal started, running; [`Stack::stop`] stops all of it.
pub struct Stack {
    /// The load's targets as (name, `host:port`): "default", or one per revision.
    pub targets: Vec<(String, String)>,
    pub metrics: Arc<ClientMetrics>,
    /// Notifications Alertmanager sent to loadgen's webhook.
    pub notes: notify::Notes,
    pub client: slo::PrometheusClient,
    pub alertmanager: Option<slo::LocalAlertmanager>,
    prometheus: slo::LocalPrometheus,
    hook_stop: watch::Sender<bool>,
    mocks_stop: watch::Sender<bool>,
    mocks: Vec<JoinHandle<Result<(), mock_server::Error>>>,
}

fn start_error(e: impl std::fmt::Display) -> RehearseError {
    RehearseError::Start(e.to_string())
}

impl Stack {
    /// Binds first, so Prometheus can be told the addresses before anything serves them; then
    /// Alertmanager (Prometheus' config names it), Prometheus, a check that every alert the
    /// expectations name is loaded, and last the mocks and the client metrics.
    pub async fn start(
        plan: &RehearsePlan,
        rules: &RuleFiles,
        checked: Checked,
        interrupt: &Interrupt,
    ) -> Result<Stack, RehearseError> {
        let scale = plan.time_scale.max(1);
        let (mocks, targets) = bind_mocks(plan, checked.revisions).await?;
        let metrics = ClientMetrics::new().map_err(start_error)?;
        let metrics_listener = ClientMetrics::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(start_error)?;
        let metrics_addr = metrics_listener.local_addr().map_err(start_error)?;

        let notes: notify::Notes = Arc::default();
        let (hook_stop, hook_stopped) = watch::channel(false);
        let alertmanager = match &plan.alertmanager {
            None => None,
            Some(source) => {
                let config = match (source, checked.alertmanager_config) {
                    (AlertmanagerSource::File(_), Some(text)) => text,
                    _ => webhook_config(plan, &notes, hook_stopped, scale).await?,
                };
                Some(tokio::select! {
                    a = slo::LocalAlertmanager::start(&config) => a?,
                    () = interrupt.wait() => return Err(RehearseError::Interrupted),
                })
            }
        };
        let addresses: Vec<&str> = targets.iter().map(|(_, a)| a.as_str()).collect();
        let names: Vec<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
        let config = scrape_config(
            slo::Resolution::for_scale(
                slo::Compression::new(scale).ok_or(RehearseError::TimeScale)?,
            ),
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
            () = interrupt.wait() => return Err(RehearseError::Interrupted),
        };
        let client = prometheus.client();
        for t in super::plan::unique_alerts(&plan.rehearsal.expectations) {
            slo::client::wait::check_alert_labels(&client, &t.alert, &t.labels)
                .await
                .map_err(|e| match e {
                    slo::WaitError::Api(a) => RehearseError::Api(a),
                    other => RehearseError::UnknownAlert(other),
                })?;
        }

        let (mocks_stop, stop_rx) = watch::channel(false);
        let mocks = mocks
            .into_iter()
            .map(|(listener, config)| {
                tokio::spawn(mock_server::run(listener, config, raised(stop_rx.clone())))
            })
            .collect();
        tokio::spawn(
            metrics
                .clone()
                .serve(metrics_listener, raised(stop_rx.clone())),
        );
        Ok(Stack {
            targets,
            metrics,
            notes,
            client,
            alertmanager,
            prometheus,
            hook_stop,
            mocks_stop,
            mocks,
        })
    }

    /// The mocks' addresses, as the errors name them.
    pub fn target_list(&self) -> String {
        self.targets
            .iter()
            .map(|(_, a)| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Waits until Prometheus has scraped each mock successfully once.
    pub async fn wait_for_scrape(&self) -> Result<(), RehearseError> {
        let deadline = Instant::now() + FIRST_SCRAPE;
        let query = format!("up{{job={MOCK_JOB:?}}} == 1");
        loop {
            let up = self.client.query(&query).await?;
            if up.iter().filter(|s| s.value == 1.0).count() >= self.targets.len() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let seen = self
                    .client
                    .query(&format!("up{{job={MOCK_JOB:?}}}"))
                    .await
                    .map(|all| match all.len() {
                        0 => "no scrape of it at all".to_owned(),
                        n => format!("{} of its {n} targets up", up.len()),
                    })
                    .unwrap_or_else(|e| e.to_string());
                return Err(RehearseError::NoScrape {
                    target: self.target_list(),
                    prometheus: self.client.base_url().to_owned(),
                    seen,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the load's targets, then Prometheus, then Alertmanager and its webhook.
    pub async fn stop(self) {
        let _ = self.mocks_stop.send(true);
        for mock in self.mocks {
            let _ = tokio::time::timeout(Duration::from_secs(15), mock).await;
        }
        self.prometheus.stop().await;
        let _ = self.hook_stop.send(true);
        if let Some(am) = self.alertmanager {
            am.stop().await;
        }
    }
}

/// The listeners and configs of the mocks to start, and the load's targets: `--host`'s, one
/// in-process mock, or one mock per revision.
async fn bind_mocks(
    plan: &RehearsePlan,
    revisions: Vec<(String, mock_server::Config)>,
) -> Result<MocksAndTargets, RehearseError> {
    let mut mocks = Vec::new();
    let mut targets = Vec::new();
    let bind = || TcpListener::bind("127.0.0.1:0");
    match (&plan.host, revisions.is_empty()) {
        (Some(url), _) => targets.push(("default".into(), host_authority(url)?)),
        (None, true) => {
            let l = bind().await.map_err(start_error)?;
            targets.push((
                "default".into(),
                l.local_addr().map_err(start_error)?.to_string(),
            ));
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
                let l = bind().await.map_err(start_error)?;
                targets.push((name, l.local_addr().map_err(start_error)?.to_string()));
                mocks.push((l, config));
            }
        }
    }
    Ok((mocks, targets))
}

type MocksAndTargets = (
    Vec<(TcpListener, mock_server::Config)>,
    Vec<(String, String)>,
);

/// Alertmanager's generated config, sending every receiver the expectations name to loadgen's
/// own webhook, which is started here and records into `notes`.
async fn webhook_config(
    plan: &RehearsePlan,
    notes: &notify::Notes,
    stopped: watch::Receiver<bool>,
    scale: u32,
) -> Result<String, RehearseError> {
    let hook = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(start_error)?;
    let hook_addr = hook.local_addr().map_err(start_error)?;
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
    tokio::spawn(notify::webhook(hook, Arc::clone(notes), raised(stopped)));
    Ok(notify::generated_config(hook_addr, &receivers, scale))
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
