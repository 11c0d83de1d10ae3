//! The users of one journey run, kept at a target count that may change while the run goes on
//! (`--web`'s "edit users"): one controller task starts users, or stops the newest ones, at the
//! spawn rate until the count meets the target, as Locust's runner does. The headless run is a
//! swarm whose target never changes, so both modes share this and the one user loop in `user`.
//!
//! Each user has its own stop flag, so stopping a few (users going down) leaves the rest alone;
//! the run's stop (`Ctx::stop`) stops every user and then the controller, which joins them all
//! and answers how many abandoned a request in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::journey::report::UsersEdit;
use crate::journey::user::{self, Ctx};

/// How many users the swarm should have, and how fast it gets there (users per second, up or
/// down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwarmSize {
    pub users: usize,
    pub spawn_rate: f64,
}

/// The handle on a running swarm, cheap to clone. Dropping it does not stop the users: set
/// `ctx().stop` (as `stop::drain` does).
#[derive(Clone)]
pub struct Swarm {
    ctx: Arc<Ctx>,
    control: Arc<watch::Sender<SwarmSize>>,
    running: Arc<AtomicUsize>,
    /// The most users running at once, for the final report.
    peak: Arc<AtomicUsize>,
    /// Each change of the users' target while the run went on.
    edits: Arc<Mutex<Vec<UsersEdit>>>,
}

/// The controller task: answers how many users abandoned a request, once every user has ended.
pub type Joined = JoinHandle<Result<u64, JoinError>>;

impl Swarm {
    /// Starts the controller, which starts users toward `target` from `ctx.start`.
    pub fn start(ctx: Arc<Ctx>, target: SwarmSize) -> (Swarm, Joined) {
        let (control, rx) = watch::channel(target);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let counts = Counts {
            running: running.clone(),
            peak: peak.clone(),
        };
        let joined = tokio::spawn(control_loop(ctx.clone(), rx, counts));
        let swarm = Swarm {
            ctx,
            control: Arc::new(control),
            running,
            peak,
            edits: Arc::default(),
        };
        (swarm, joined)
    }

    pub fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// A new target: the controller moves toward it from now, at its rate. A change of the
    /// users is kept for the final report.
    pub fn set(&self, target: SwarmSize) {
        let before = self.control.send_replace(target);
        if before.users != target.users
            && let Ok(mut edits) = self.edits.lock()
        {
            edits.push(UsersEdit {
                at_secs: self.ctx.start.elapsed().as_secs_f64(),
                from: before.users,
                to: target.users,
            });
        }
    }

    /// The users' changes so far, in order.
    pub fn edits(&self) -> Vec<UsersEdit> {
        self.edits.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The most users that ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn target(&self) -> SwarmSize {
        *self.control.borrow()
    }

    /// Users started and not told to stop.
    pub fn users(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }
}

/// The delay between two user starts (or stops) at `rate` per second, bounded so that a huge
/// rate starts everyone at once and a tiny one cannot overflow time.
fn step(rate: f64) -> Duration {
    Duration::from_secs_f64((1.0 / rate).clamp(0.0, 1e9))
}

/// The controller's counts the swarm's handle reads: users running now, and the most at once.
struct Counts {
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

async fn control_loop(
    ctx: Arc<Ctx>,
    mut control: watch::Receiver<SwarmSize>,
    counts: Counts,
) -> Result<u64, JoinError> {
    let Counts { running, peak } = counts;
    let mut stop = ctx.stop.subscribe();
    let mut users: Vec<watch::Sender<bool>> = Vec::new();
    let mut set: JoinSet<u64> = JoinSet::new();
    let mut abandoned = 0;
    let mut target = *control.borrow_and_update();
    // The ramp toward the target began at `ramp.0` with `ramp.1` users; change k after it is due
    // at ramp.0 + k / rate (so user k of the first ramp starts at start + k / rate).
    let mut ramp = (ctx.start, 0usize);
    let mut control_open = true;
    loop {
        if *stop.borrow() {
            break;
        }
        let now = Instant::now();
        let every = step(target.spawn_rate);
        while users.len() != target.users {
            if due(ramp, every, users.len()) > now {
                break;
            }
            if users.len() < target.users {
                let id = users.len();
                let (tx, rx) = watch::channel(false);
                users.push(tx);
                set.spawn(user::run(ctx.clone(), id, rx));
            } else if let Some(tx) = users.pop() {
                tx.send_replace(true);
            }
        }
        running.store(users.len(), Ordering::Relaxed);
        peak.fetch_max(users.len(), Ordering::Relaxed);
        // Every user ended by itself (the `--tasks` budget is spent) and no more are due.
        if set.is_empty() && users.len() == target.users && target.users > 0 {
            return Ok(abandoned);
        }
        let next = (users.len() != target.users).then(|| due(ramp, every, users.len()));
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            changed = control.changed(), if control_open => {
                match changed {
                    Ok(()) => {
                        target = *control.borrow_and_update();
                        ramp = (Instant::now(), users.len());
                    }
                    Err(_) => control_open = false,
                }
            }
            () = sleep_until_some(next) => {}
            Some(ended) = set.join_next() => abandoned += ended?,
        }
    }
    for tx in &users {
        tx.send_replace(true);
    }
    running.store(0, Ordering::Relaxed);
    while let Some(ended) = set.join_next().await {
        abandoned += ended?;
    }
    Ok(abandoned)
}

/// When the next change of the ramp is due, now that there are `users`.
fn due(ramp: (Instant, usize), every: Duration, users: usize) -> Instant {
    let done = u32::try_from(users.abs_diff(ramp.1)).unwrap_or(u32::MAX);
    every
        .checked_mul(done)
        .and_then(|d| ramp.0.checked_add(d))
        .unwrap_or_else(|| ramp.0 + MAX_WAIT)
}

/// Far enough to mean "not in this run" (the longest run is a year).
const MAX_WAIT: Duration = Duration::from_secs(2 * 365 * 24 * 3600);

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
