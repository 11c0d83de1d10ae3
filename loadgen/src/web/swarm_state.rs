//! The swarm page's state: waiting for the form, a run going on (spawning or running), or the
//! last run stopped; and what the page's buttons do to it (start, change users, stop, reset).
//! Every run is `journey::run_with`, the headless run with a handle on its swarm, so the page
//! drives the same engine and the same recorder.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::web::history::{self, History};
use crate::web::window::PollWindow;
use engine::Live;
use engine::client_metrics::ClientMetrics;
use engine::journey::plan::{JourneyPlanError, MAX_RUN, MAX_USERS, RunPlan, targets};
use engine::journey::report::JourneyReport;
use engine::journey::spec::{Journey, SHIPPED};
use engine::journey::swarm::SwarmSize;
use engine::journey::{self, Handle};
use engine::load::live_split::LiveSplit;

/// What the page was started with (`--web [ADDR]`, `--autostart`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOptions {
    pub addr: std::net::SocketAddr,
    pub autostart: bool,
    /// The host names the page answers beside addresses and localhost (`--allowed-host`).
    pub hosts: webui::guard::HostPolicy,
}

/// The start form, as the page sends it (`POST /swarm`) and as `GET /stats` pre-fills it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SwarmForm {
    /// Locust's name for it, `user_count`, is read too.
    #[serde(alias = "user_count")]
    pub users: Option<usize>,
    pub spawn_rate: Option<f64>,
    /// Base URL; ignored (and shown read-only) when the run has several `--target`s.
    pub host: Option<String>,
    /// A duration such as `90s` or `7h`; empty for "until stopped".
    pub run_time: Option<String>,
    /// The command line's journey or a shipped one.
    pub journey: Option<String>,
}

/// A request the page (or a script) got wrong; the message names the field.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FormError {
    #[error("{field} must be {what}")]
    Field {
        field: &'static str,
        what: &'static str,
    },
    #[error("host: {0}")]
    Host(String),
    #[error("journey: {0}")]
    Journey(String),
    #[error("nothing is running to {0}")]
    NotRunning(&'static str),
    #[error("this run has one target: there is no split to change (give several --target)")]
    OneTarget,
    #[error("a run is starting; try again in a moment")]
    Starting,
    #[error("the run could not start: {0}")]
    Failed(String),
}

/// The state the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No run yet: the form waits (no `--host`, or no `--autostart`).
    Ready,
    Spawning,
    Running,
    Stopped,
}

/// One run started from the page, going on or ended.
pub(crate) struct Run {
    pub handle: Handle,
    pub journey: Arc<Journey>,
    pub form: SwarmForm,
    stop: Arc<Notify>,
    pub started: Instant,
    /// Set when the run ended (stopped, run time over, or task budget spent).
    pub ended: Option<(Instant, JourneyReport)>,
}

pub(crate) struct Inner {
    pub run: Option<Run>,
    /// A start is under way (between the form's check and the swarm's existence).
    starting: bool,
    pub window: PollWindow,
    /// The charts' points of the current or last run, sampled whether or not a page is open.
    pub history: History,
}

/// The page's state, shared by its server and the runs it starts.
pub struct Web {
    base: RunPlan,
    journey_arg: String,
    metrics: Option<Arc<ClientMetrics>>,
    /// `--stats-interval`: the headless live table on stderr, for logs (`docker compose logs`).
    stats_interval: Option<Duration>,
    /// Sample each run once a second for the HTML report's charts (`--html` given): off by
    /// default, so a closed page costs nothing.
    series: bool,
    inner: Mutex<Inner>,
}

impl Web {
    /// `base` is the command line's plan (with no targets when `--host` was not given);
    /// `journey_arg` the `--journey` it was loaded from.
    pub fn new(
        base: RunPlan,
        journey_arg: String,
        metrics: Option<Arc<ClientMetrics>>,
        stats_interval: Option<Duration>,
        series: bool,
    ) -> Arc<Web> {
        Arc::new(Web {
            base,
            journey_arg,
            metrics,
            stats_interval,
            series,
            inner: Mutex::new(Inner {
                run: None,
                starting: false,
                window: PollWindow::default(),
                history: History::default(),
            }),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn base_journey(&self) -> Arc<Journey> {
        self.base.journey.clone()
    }

    /// The targets' names and URLs, for the form (one target: its URL is the host).
    pub fn targets(&self) -> Vec<(String, String, u32)> {
        self.base
            .targets
            .iter()
            .map(|t| (t.target.name.clone(), t.target.url.to_string(), t.weight))
            .collect()
    }

    /// The form as the command line fills it.
    pub fn defaults(&self) -> SwarmForm {
        SwarmForm {
            users: Some(self.base.users),
            spawn_rate: Some(self.base.spawn_rate),
            host: match self.base.targets.as_slice() {
                [one] => Some(one.target.url.to_string()),
                _ => None,
            },
            run_time: self
                .base
                .stop
                .run_time
                .map(|d| humantime::format_duration(d).to_string()),
            journey: Some(self.journey_arg.clone()),
        }
    }

    /// Journeys the form may name: the command line's, then the shipped ones.
    pub fn journeys(&self) -> Vec<String> {
        let mut names = vec![self.journey_arg.clone()];
        names.extend(
            SHIPPED
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .filter(|n| *n != self.journey_arg),
        );
        names
    }

    pub fn status(&self) -> Status {
        status(&self.lock())
    }

    /// The current or last run's form; before the first run, the command line's.
    pub fn current_form(&self) -> SwarmForm {
        match self.lock().run.as_ref() {
            Some(run) => run.form.clone(),
            None => self.defaults(),
        }
    }

    /// `POST /swarm`: while a run goes on, a new user count and spawn rate; otherwise a new run
    /// from the form (fields left out keep the command line's values).
    pub async fn swarm(self: &Arc<Self>, form: SwarmForm) -> Result<Status, FormError> {
        let plan = {
            let mut inner = self.lock();
            if let Some(run) = inner.run.as_mut().filter(|r| r.ended.is_none()) {
                let now = run.handle.swarm.target();
                let users = form.users.unwrap_or(now.users);
                if users > MAX_USERS {
                    return Err(FormError::Field {
                        field: "users",
                        what: "between 0 and 100000",
                    });
                }
                let spawn_rate = check_rate(form.spawn_rate.unwrap_or(now.spawn_rate))?;
                run.handle.swarm.set(SwarmSize { users, spawn_rate });
                run.form.users = Some(users);
                run.form.spawn_rate = Some(spawn_rate);
                return Ok(status(&inner));
            }
            if inner.starting {
                return Err(FormError::Starting);
            }
            let plan = self.plan(form)?;
            inner.starting = true;
            plan
        };
        // On a task of its own: a client that hangs up mid-request must not cancel the start
        // halfway, which would leave a run going that the page cannot see or stop.
        let me = self.clone();
        let start = tokio::spawn(async move {
            let run = me.spawn(plan.0, plan.1).await;
            let mut inner = me.lock();
            inner.starting = false;
            let (run, registered) = run?;
            inner.window = PollWindow::default();
            inner.history.restart();
            let started = run.started;
            inner.run = Some(run);
            let now = status(&inner);
            drop(inner);
            tokio::spawn(history::every_tick(started, move || {
                me.sample_history(started)
            }));
            let _ = registered.send(());
            Ok(now)
        });
        start
            .await
            .unwrap_or_else(|e| Err(FormError::Failed(e.to_string())))
    }

    /// Adds a chart point of the run that started at `started`; false once it ended or another
    /// run took its place.
    fn sample_history(&self, started: Instant) -> bool {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some(run) = inner
            .run
            .as_ref()
            .filter(|r| r.started == started && r.ended.is_none())
        else {
            return false;
        };
        let total = history::merged(&run.handle.recorder.snapshot());
        inner.history.sample(&total, run.handle.swarm.users());
        true
    }

    /// `POST /stop`: users stop starting tasks; requests in flight get the usual grace.
    pub fn stop(&self) -> Result<(), FormError> {
        let inner = self.lock();
        match inner.run.as_ref().filter(|r| r.ended.is_none()) {
            Some(run) => {
                run.stop.notify_one();
                Ok(())
            }
            None => Err(FormError::NotRunning("stop")),
        }
    }

    /// The current (or last) run's live split, when it has several targets.
    pub fn split(&self) -> Result<(LiveSplit, bool), FormError> {
        let inner = self.lock();
        let run = inner.run.as_ref().ok_or(FormError::NotRunning("split"))?;
        match &run.handle.split {
            Some(s) => Ok((s.clone(), run.ended.is_none())),
            None => Err(FormError::OneTarget),
        }
    }

    /// `POST /reset`: the statistics of the running run start again from zero; the users carry
    /// on.
    pub fn reset(&self) -> Result<(), FormError> {
        let mut inner = self.lock();
        // An ended run's report is final (the downloads serve it): only a live run resets.
        let Some(run) = inner.run.as_ref().filter(|r| r.ended.is_none()) else {
            return Err(FormError::NotRunning("reset"));
        };
        run.handle.recorder.reset();
        inner.window = PollWindow::default();
        inner.history.restart();
        Ok(())
    }

    /// The report of the current or last run as it stands: the downloads.
    pub fn report(&self) -> Option<JourneyReport> {
        let inner = self.lock();
        let run = inner.run.as_ref()?;
        if let Some((_, r)) = &run.ended {
            return Some(r.clone());
        }
        let since = run.handle.recorder.since().unwrap_or(run.started);
        Some(JourneyReport {
            split_events: split_events(&run.handle),
            ..journey::final_report(
                &run.journey,
                &run.handle.names,
                &run.handle.recorder,
                since.elapsed().as_secs_f64(),
                run.handle.swarm.users(),
            )
        })
    }

    /// Checks the form against the command line's plan.
    pub fn plan(&self, form: SwarmForm) -> Result<(RunPlan, SwarmForm), FormError> {
        let d = self.defaults();
        let users = form.users.or(d.users).unwrap_or(1);
        if !(1..=MAX_USERS).contains(&users) {
            return Err(FormError::Field {
                field: "users",
                what: "between 1 and 100000",
            });
        }
        let spawn_rate = check_rate(form.spawn_rate.or(d.spawn_rate).unwrap_or(1.0))?;
        let run_time = match form.run_time.as_deref().map(str::trim) {
            None => self.base.stop.run_time,
            Some("") => None,
            Some(s) => match humantime::parse_duration(s) {
                Ok(t) if !t.is_zero() && t <= MAX_RUN => Some(t),
                _ => {
                    return Err(FormError::Field {
                        field: "run_time",
                        what: "a duration such as 90s, 10m or 7h (at most 365 days), or empty",
                    });
                }
            },
        };
        let journey_name = form.journey.clone().unwrap_or(self.journey_arg.clone());
        let journey = if journey_name == self.journey_arg {
            self.base.journey.clone()
        } else if SHIPPED.iter().any(|(n, _)| *n == journey_name) {
            Arc::new(Journey::load(&journey_name).map_err(|e| FormError::Journey(e.to_string()))?)
        } else {
            // A page reachable by others must not open server-side files by name.
            return Err(FormError::Journey(format!(
                "{journey_name:?} is not one of {}",
                self.journeys().join(", ")
            )));
        };
        let mut plan = self.base.clone();
        if plan.targets.len() <= 1 {
            let host = form.host.clone().or(d.host).unwrap_or_default();
            let host = host.trim();
            if host.is_empty() {
                return Err(FormError::Host("give the base URL to load".into()));
            }
            plan.targets = targets(&[("default".to_owned(), host.to_owned())], &[])
                .map_err(|e: JourneyPlanError| FormError::Host(e.to_string()))?;
        }
        plan.journey = journey;
        plan.users = users;
        plan.spawn_rate = spawn_rate;
        plan.stop.run_time = run_time;
        let form = SwarmForm {
            users: Some(users),
            spawn_rate: Some(spawn_rate),
            host: (plan.targets.len() == 1).then(|| plan.targets[0].target.url.to_string()),
            run_time: run_time.map(|d| humantime::format_duration(d).to_string()),
            journey: Some(journey_name),
        };
        Ok((plan, form))
    }

    /// Starts `plan` on its own task and answers once its swarm exists, with the sender to call
    /// once the run is in the state: the run records its end there only after that, so a run
    /// that ends at once (a tiny `--tasks`) still lands as stopped.
    async fn spawn(
        self: &Arc<Self>,
        plan: RunPlan,
        form: SwarmForm,
    ) -> Result<(Run, oneshot::Sender<()>), FormError> {
        let (registered, is_registered) = oneshot::channel::<()>();
        let stop = Arc::new(Notify::new());
        let journey = plan.journey.clone();
        let (tx, rx) = oneshot::channel();
        // Several targets: the page's split panel (and POST /split) can move traffic mid-run.
        let split = (plan.targets.len() > 1).then(|| {
            let weights: Vec<(String, u32)> = plan
                .targets
                .iter()
                .map(|t| (t.target.name.clone(), t.weight))
                .collect();
            LiveSplit::new(&weights)
        });
        let live = Live {
            table: self
                .stats_interval
                .map(|_| Box::new(std::io::stderr()) as Box<dyn std::io::Write + Send>),
            interval: self.stats_interval,
            metrics: self.metrics.clone(),
            split,
            series: self.series,
            view: None,
            ..Live::default()
        };
        let me = self.clone();
        let stopped = stop.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let result = journey::run_with(plan, live, stopped.notified(), |h| {
                let _ = tx.send(h);
            })
            .await;
            if is_registered.await.is_err() {
                return result.map(drop);
            }
            let mut inner = me.lock();
            let inner = &mut *inner;
            let Some(run) = inner.run.as_mut().filter(|r| r.started == started) else {
                return result.map(drop);
            };
            let report = match result {
                Ok(report) => report,
                Err(e) => {
                    eprintln!("loadgen journey --web: the run failed: {e}");
                    JourneyReport {
                        interrupted: true,
                        split_events: split_events(&run.handle),
                        ..journey::final_report(
                            &run.journey,
                            &run.handle.names,
                            &run.handle.recorder,
                            started.elapsed().as_secs_f64(),
                            0,
                        )
                    }
                }
            };
            run.ended = Some((Instant::now(), report));
            // Under the lock the sampler takes: no tick lands after this last point.
            let total = history::merged(&run.handle.recorder.snapshot());
            inner.history.finish(&total);
            Ok(())
        });
        match rx.await {
            Ok(handle) => Ok((
                Run {
                    handle,
                    journey,
                    form,
                    stop,
                    started,
                    ended: None,
                },
                registered,
            )),
            // The run failed before its users started (client metrics could not register).
            Err(_) => Err(FormError::Failed(match task.await {
                Ok(Err(e)) => e.to_string(),
                _ => "the run ended before it started".to_owned(),
            })),
        }
    }
}

fn split_events(h: &Handle) -> Vec<engine::load::live_split::SplitEvent> {
    h.split.as_ref().map(LiveSplit::events).unwrap_or_default()
}

fn check_rate(rate: f64) -> Result<f64, FormError> {
    if rate.is_finite() && (0.001..=1e6).contains(&rate) {
        Ok(rate)
    } else {
        Err(FormError::Field {
            field: "spawn_rate",
            what: "between 0.001 and 1000000 users/s",
        })
    }
}

pub(crate) fn status(inner: &Inner) -> Status {
    match &inner.run {
        None => Status::Ready,
        Some(r) if r.ended.is_some() => Status::Stopped,
        Some(r) => {
            if r.handle.swarm.users() == r.handle.swarm.target().users {
                Status::Running
            } else {
                Status::Spawning
            }
        }
    }
}

/// How long the run has gone on (to its end, if it ended), from the last reset if any.
pub(crate) fn elapsed(run: &Run) -> Duration {
    let since = run.handle.recorder.since().unwrap_or(run.started);
    let until = run.ended.as_ref().map_or_else(Instant::now, |(at, _)| *at);
    until.saturating_duration_since(since)
}
