//! `loadgen journey`: simulated users walking through a journey file, as the workshop's Locust
//! swarm did, with Locust's live stats, a final report (text, JSON, CSV) and client-side
//! Prometheus metrics, in memory that does not grow with the run's length.
//!
//! `spec` reads journey files, `plan` is the checked run (`cli::journey` makes it from the
//! flags), `user` is one simulated user, `swarm` keeps the users at a (changeable) count,
//! `stats` the shared recorder, `report` what comes out.
//! [`run`] is what the runner, `scenario run` and the tests call.

pub mod plan;
pub mod report;
pub mod spec;
pub mod stats;
pub mod swarm;
pub mod user;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::client_metrics::{ClientMetrics, EndpointMetrics, MetricsError};
use crate::journey::plan::RunPlan;
use crate::journey::report::JourneyReport;
use crate::journey::stats::Recorder;
use crate::journey::swarm::{Joined, Swarm, SwarmSize};
use crate::journey::user::Ctx;
use crate::load::Live;
use crate::load::live_split::LiveSplit;
use crate::load::run_view::RunView;
use crate::report::series::Sampler;

/// How long requests in flight may finish after a Ctrl-C before they are abandoned.
pub use crate::stop::INTERRUPT_GRACE;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("a simulated user failed: {0}")]
    User(#[from] tokio::task::JoinError),
}

/// Runs the plan until its stop (run time, task count) or `shutdown`, and reports.
/// On shutdown, users stop starting requests and those in flight get `INTERRUPT_GRACE`.
pub async fn run(
    plan: RunPlan,
    live: Live,
    shutdown: impl Future<Output = ()>,
) -> Result<JourneyReport, RunError> {
    run_with(plan, live, shutdown, |_| {}).await
}

/// What a controlled run hands its controller (`--web`) as it starts.
#[derive(Clone)]
pub struct Handle {
    pub swarm: Swarm,
    pub recorder: Arc<Recorder>,
    pub names: Arc<[String]>,
    /// The run's live split, when it has several targets and was given one.
    pub split: Option<LiveSplit>,
}

/// [`run`], handing `on_start` the swarm and the recorder, to change the users and read or reset
/// the stats while the run goes on. The page's "stop" is `shutdown`.
pub async fn run_with(
    plan: RunPlan,
    mut live: Live,
    shutdown: impl Future<Output = ()>,
    on_start: impl FnOnce(Handle),
) -> Result<JourneyReport, RunError> {
    let journey = plan.journey.clone();
    let names: Vec<String> = plan.targets.iter().map(|t| t.target.name.clone()).collect();
    let handles = endpoint_metrics(live.metrics.as_deref(), &names, &journey)?;
    let recorder = Arc::new(Recorder::new(
        names.len() * journey.endpoints.len(),
        journey.tasks.len(),
        handles,
    ));
    let start = Instant::now();
    let users = plan.users;
    let run_time = plan.stop.run_time;
    let split = live.split.clone();
    if let Some(s) = &split {
        s.started(start);
    }
    let target = SwarmSize {
        users,
        spawn_rate: plan.spawn_rate,
    };
    let ctx = Ctx::new(plan, recorder.clone(), start, split.clone());
    let (swarm, joined) = Swarm::start(Arc::new(ctx), target);
    let ctx = swarm.ctx().clone();
    let story = swarm.clone();
    on_start(Handle {
        swarm,
        recorder: recorder.clone(),
        names: names.clone().into(),
        split: split.clone(),
    });
    if let Some(v) = &live.view {
        v.started(start);
        attach_view(v, recorder.clone(), names.len(), journey.endpoints.len());
    }

    let ticker = spawn_ticker(
        &mut live,
        recorder.clone(),
        journey.clone(),
        names.clone(),
        start,
    );
    let sampler = live.series.then(|| spawn_sampler(recorder.clone(), start));
    let deadline = run_time.map(|d| start + d);
    let (abandoned, interrupted) = wait(joined, &ctx, deadline, shutdown).await?;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(v) = &live.view {
        v.detach();
    }
    let elapsed = recorder.since().unwrap_or(start).elapsed().as_secs_f64();
    let series = match sampler {
        Some((task, sampler)) => {
            task.abort();
            let mut s = sampler.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *s).finish(elapsed, &merged(&recorder.snapshot()))
        }
        None => Vec::new(),
    };
    Ok(JourneyReport {
        interrupted,
        abandoned,
        // Every user has ended and handed in its counts: the events' counts are exact.
        split_events: split.map(|s| s.events()).unwrap_or_default(),
        series,
        users_story: users_story(&story),
        ..final_report(&journey, &names, &recorder, elapsed, users)
    })
}

/// The users reached and their edits, for a run whose users were edited; `None` otherwise, so a
/// headless run's report is as before.
pub fn users_story(swarm: &Swarm) -> Option<report::UsersStory> {
    let edits = swarm.edits();
    (!edits.is_empty()).then(|| report::UsersStory {
        reached: swarm.peak(),
        edits,
    })
}

/// Each (target, endpoint) slot's client metrics, target-major as the recorder's slots are.
fn endpoint_metrics(
    metrics: Option<&ClientMetrics>,
    names: &[String],
    journey: &spec::Journey,
) -> Result<Option<Vec<EndpointMetrics>>, MetricsError> {
    let Some(m) = metrics else {
        return Ok(None);
    };
    names
        .iter()
        .flat_map(|t| journey.endpoints.iter().map(move |e| (t, e)))
        .map(|(t, e)| m.endpoint(t, &e.name, &e.path))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Lets `--web`'s run page read one record per target when it polls.
fn attach_view(view: &RunView, recorder: Arc<Recorder>, targets: usize, endpoints: usize) {
    let n = endpoints.max(1);
    view.attach(Arc::new(move || {
        // Slots are (target, endpoint), target-major: one record per target.
        let mut per = vec![crate::report::stats::Stats::default(); targets];
        for (i, s) in recorder.snapshot().iter().enumerate() {
            if let Some(acc) = per.get_mut(i / n) {
                acc.merge(s);
            }
        }
        per
    }));
}

/// Waits for every user to end, or for the run time (`deadline`) or `shutdown` and then the
/// drain; returns the requests abandoned in flight and whether the run was interrupted.
async fn wait(
    joined: Joined,
    ctx: &Ctx,
    deadline: Option<Instant>,
    shutdown: impl Future<Output = ()>,
) -> Result<(u64, bool), RunError> {
    let mut joined = Box::pin(async move { Ok::<_, RunError>(joined.await??) });
    let deadline = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let stop = || {
        ctx.stop.send_replace(true);
    };
    let cancel = || {
        ctx.cancel.send_replace(true);
    };
    Ok(tokio::select! {
        r = &mut joined => (r?, false),
        // The run time bounds the run: requests in flight get the grace, as after Ctrl-C,
        // so a slow server cannot stretch it.
        () = deadline => (crate::stop::drain(&mut joined, stop, cancel).await?, false),
        () = shutdown => (crate::stop::drain(&mut joined, stop, cancel).await?, true),
    })
}

/// The report of what `recorder` holds, over `elapsed` seconds: the run's end, and `--web`'s
/// downloads. Not interrupted, nothing abandoned, no split events: the caller sets those.
pub fn final_report(
    journey: &spec::Journey,
    names: &[String],
    recorder: &Recorder,
    elapsed: f64,
    users: usize,
) -> JourneyReport {
    let slots = recorder.snapshot();
    let (endpoints, total) = report::build(journey, names, &slots, None, elapsed);
    let tasks = journey
        .tasks
        .iter()
        .zip(recorder.tasks())
        .map(|(t, n)| (t.name.clone(), n))
        .collect();
    JourneyReport {
        schema_version: report::SCHEMA_VERSION,
        duration_secs: elapsed,
        users,
        interrupted: false,
        abandoned: 0,
        tasks,
        endpoints,
        total,
        peak_rss_kib: crate::report::peak_rss_kib(),
        split_events: Vec::new(),
        users_story: None,
        series: Vec::new(),
        latency: Some(merged(&slots).latency),
    }
}

/// Every slot's record in one.
fn merged(slots: &[crate::report::stats::Stats]) -> crate::report::stats::Stats {
    let mut total = crate::report::stats::Stats::default();
    for s in slots {
        total.merge(s);
    }
    total
}

/// Samples the run once a second for `JourneyReport::series`.
fn spawn_sampler(
    recorder: Arc<Recorder>,
    start: Instant,
) -> (tokio::task::JoinHandle<()>, Arc<std::sync::Mutex<Sampler>>) {
    let sampler = Arc::new(std::sync::Mutex::new(Sampler::default()));
    let s = sampler.clone();
    let every = Duration::from_secs(1);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(start + every, every);
        loop {
            tick.tick().await;
            let total = merged(&recorder.snapshot());
            let t = start.elapsed().as_secs_f64();
            s.lock()
                .unwrap_or_else(|p| p.into_inner())
                .sample(t, &total);
        }
    });
    (task, sampler)
}

/// Prints the live table every interval: cumulative latency figures, current rates.
fn spawn_ticker(
    live: &mut Live,
    recorder: Arc<Recorder>,
    journey: Arc<spec::Journey>,
    names: Vec<String>,
    start: Instant,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = live.interval?;
    let mut sink = live.table.take()?;
    Some(tokio::spawn(async move {
        let mut prev = recorder.snapshot();
        let mut tick = tokio::time::interval_at(start + every, every);
        loop {
            tick.tick().await;
            let now = recorder.snapshot();
            let (endpoints, total) =
                report::build(&journey, &names, &now, Some(&prev), every.as_secs_f64());
            let mut buf = Vec::new();
            let _ = writeln!(buf, "\n[{:.0} s]", start.elapsed().as_secs_f64());
            let _ = report::table(&mut buf, &endpoints, &total);
            // A closed stderr must not stop the users.
            let _ = sink.write_all(&buf);
            let _ = sink.flush();
            prev = now;
        }
    }))
}
