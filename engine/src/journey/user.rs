//! One simulated user: starts at its spawn time, then picks a task by weight, sends its requests
//! in order over its own keep-alive connection, thinks, and repeats until the run stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::{CONTENT_LENGTH, HeaderValue};
use http::{Request, Uri, Version};
use http_body_util::Full;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::failure::ErrorKind;
use crate::journey::plan::{JourneyTarget, RunPlan, TaskPacing};
use crate::journey::spec::TaskRequest;
use crate::journey::stats::{Answer, Recorder};
use crate::load::live_split::LiveSplit;
use crate::net::conn::{self, TargetConn};
use crate::plan::Protocol;
use crate::weighted::Weighted;

/// What every user of one run shares.
pub struct Ctx {
    pub plan: RunPlan,
    pub recorder: Arc<Recorder>,
    pub start: Instant,
    /// Task tickets handed out, for `--tasks`.
    pub tickets: AtomicU64,
    /// Set at the deadline or on shutdown: the swarm stops every user and starts no more.
    pub stop: watch::Sender<bool>,
    /// Set when the grace period after a stop ran out: abandon requests in flight.
    pub cancel: watch::Sender<bool>,
    /// Full URIs (origin form) per target and request, built once.
    pub uris: Vec<Vec<Vec<Uri>>>,
    tls: Option<tokio_rustls::TlsConnector>,
    tasks: Weighted,
    targets: Weighted,
    /// When the split can change during the run, users choose targets through it.
    split: Option<LiveSplit>,
}

impl Ctx {
    pub fn new(
        plan: RunPlan,
        recorder: Arc<Recorder>,
        start: Instant,
        split: Option<LiveSplit>,
    ) -> Ctx {
        let uris = plan
            .targets
            .iter()
            .map(|t| {
                plan.journey
                    .tasks
                    .iter()
                    .map(|task| task.requests.iter().map(|r| uri(t, r)).collect())
                    .collect()
            })
            .collect();
        let tls = plan
            .targets
            .iter()
            .any(|t| t.target.tls_name.is_some())
            .then(|| crate::net::tls::connector(Protocol::Http1, plan.insecure));
        Ctx {
            tasks: Weighted::new(plan.journey.tasks.iter().map(|t| t.weight)),
            targets: Weighted::new(plan.targets.iter().map(|t| t.weight)),
            split,
            uris,
            tls,
            recorder,
            start,
            tickets: AtomicU64::new(0),
            stop: watch::channel(false).0,
            cancel: watch::channel(false).0,
            plan,
        }
    }

    /// Slot of (target, endpoint) in the recorder.
    pub fn slot(&self, target: usize, endpoint: usize) -> usize {
        target * self.plan.journey.endpoints.len() + endpoint
    }
}

fn uri(t: &JourneyTarget, r: &TaskRequest) -> Uri {
    let path = format!("{}{}", t.base_path, r.path.as_str());
    path.parse().unwrap_or_else(|_| Uri::from(r.path.clone()))
}

/// Sleeps `d`, or less if the run stops; returns false if it stopped.
async fn sleep_or_stop(until: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => false,
        () = tokio::time::sleep_until(until) => true,
    }
}

/// Runs user `id` from now until `stop` (its own flag: the swarm sets it when there are too
/// many users, and for every user when the run stops) or the run's task budget is spent;
/// returns 1 if it abandoned a request in flight.
pub async fn run(ctx: Arc<Ctx>, id: usize, mut stop: watch::Receiver<bool>) -> u64 {
    let mut cancel = ctx.cancel.subscribe();
    let plan = &ctx.plan;
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let user = HeaderValue::from_str(&format!("user{id}@loadgen.example"))
        .expect("digits and ascii are a valid header value");
    let mut conns: Vec<Option<TargetConn>> = plan.targets.iter().map(|_| None).collect();
    let interval = match plan.pacing {
        TaskPacing::Rate(r) => Some(Duration::from_secs_f64(plan.users as f64 / r)),
        TaskPacing::Wait(_) => None,
    };
    let mut next_start = Instant::now();
    // Dropped when the user ends, which hands its request counts to the split.
    let mut picker = ctx.split.as_ref().map(LiveSplit::picker);
    'tasks: loop {
        if *stop.borrow() {
            break;
        }
        if let Some(n) = plan.stop.tasks {
            // No stop signal here: tasks other users have begun still finish.
            if ctx.tickets.fetch_add(1, Ordering::Relaxed) >= n {
                break;
            }
        }
        let t = ctx.tasks.pick(&mut rng);
        let g = match &mut picker {
            Some(p) => p.choose(&mut rng),
            None => ctx.targets.pick(&mut rng),
        };
        let task = &plan.journey.tasks[t];
        ctx.recorder.task_started(t);
        for (i, req) in task.requests.iter().enumerate() {
            let target = &plan.targets[g];
            if let Some(p) = &mut picker {
                p.count(g);
            }
            let send = exchange(
                &ctx,
                target,
                &mut conns[g],
                req,
                &ctx.uris[g][t][i],
                &user,
                &mut rng,
            );
            let outcome = tokio::select! {
                biased;
                _ = cancel.wait_for(|c| *c) => {
                    ctx.recorder.abandon(ctx.slot(g, req.endpoint));
                    return 1;
                }
                r = tokio::time::timeout(plan.timeout, send) => r.unwrap_or(Err(ErrorKind::Timeout)),
            };
            if outcome == Err(ErrorKind::Timeout) {
                conns[g] = None;
            }
            let failed = ctx.recorder.record(ctx.slot(g, req.endpoint), outcome);
            if failed && task.stop_on_failure {
                break;
            }
            let last = i + 1 == task.requests.len();
            if !last
                && !req.pause.is_zero()
                && !sleep_or_stop(Instant::now() + req.pause, &mut stop).await
            {
                break 'tasks;
            }
            if !last && *stop.borrow() {
                break 'tasks;
            }
        }
        let until = match (interval, plan.pacing) {
            (Some(every), _) => {
                next_start = (next_start + every).max(Instant::now());
                next_start
            }
            (None, TaskPacing::Wait(w)) => {
                let think = if w.max > w.min {
                    rng.random_range(w.min..=w.max)
                } else {
                    w.min
                };
                Instant::now() + think
            }
            (None, TaskPacing::Rate(_)) => unreachable!("a rate always sets an interval"),
        };
        if !sleep_or_stop(until, &mut stop).await {
            break;
        }
    }
    0
}

/// Sends one request and reads the whole response: its status, the microseconds from send to
/// the last byte, and the body's size.
async fn exchange(
    ctx: &Ctx,
    target: &JourneyTarget,
    slot: &mut Option<TargetConn>,
    spec: &TaskRequest,
    uri: &Uri,
    user: &HeaderValue,
    rng: &mut SmallRng,
) -> Result<Answer, ErrorKind> {
    // Latency counts connection set-up, as the load's does (hey's total includes DNS+dialup):
    // a user waiting on a slow TLS handshake waited for its answer.
    let sent = Instant::now();
    let (conn, _) = conn::reuse_or_open(
        slot,
        &target.target,
        Protocol::Http1,
        conn::Engine::Hyper,
        ctx.tls.as_ref(),
        ctx.start,
    )
    .await?;
    let body = match spec.bodies.len() {
        0 => bytes::Bytes::new(),
        1 => spec.bodies[0].clone(),
        n => spec.bodies[rng.random_range(0..n)].clone(),
    };
    let empty = body.is_empty();
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = spec.method.clone();
    *req.uri_mut() = uri.clone();
    *req.version_mut() = Version::HTTP_11;
    let headers = req.headers_mut();
    headers.clone_from(&target.target.headers);
    for (k, v) in &spec.headers {
        headers.insert(k, v.clone());
    }
    if let Some(name) = &ctx.plan.journey.user_header {
        headers.insert(name, user.clone());
    }
    if empty {
        headers.remove(CONTENT_LENGTH);
    }
    let reply = match conn::exchange(conn, req, None).await {
        Ok(reply) => reply,
        Err(kind) => {
            *slot = None;
            return Err(kind);
        }
    };
    Ok(Answer {
        status: reply.status,
        latency_us: u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX),
        body_bytes: reply.body_bytes,
    })
}
