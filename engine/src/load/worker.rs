//! One worker: claims tickets from the schedule, sends each request over its own connection and
//! records the outcome into the `Stats` of the thread it runs on. Shared per request: one atomic
//! ticket counter, two relaxed progress counters owned by this worker, and an uncontended lock
//! on the thread's stats.
//!
//! Stats are per thread, not per worker: a worker's histograms grow to cover the slowest answer
//! it saw (~140 KB each for multi-second latencies), which at `-c 10000` was gigabytes, and fifty
//! workers' histograms and status arrays spread every record over a megabyte of cache.

use std::io::Write;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::time::Instant;

use crate::failure::ErrorKind;
use crate::load::live_split::LiveSplit;
use crate::load::schedule::{Schedule, WorkerClock};
use crate::net::conn::TargetConn;
use crate::net::exchange::{Timing, encoded, exchange, micros};
use crate::plan::Plan;
use crate::report::stats::Stats;
use crate::weighted::Weighted;

/// Where `-o csv` rows go; workers lock it once per 64 KiB of rows, not per request.
pub type CsvSink = Arc<Mutex<CsvOut>>;

/// The CSV output and the first write that failed: after it nothing more is written (a closed
/// pipe stays closed), the measurement goes on, and the run ends as failed (`load::run`).
pub struct CsvOut {
    pub out: Box<dyn Write + Send>,
    pub error: Option<std::io::Error>,
}

/// A worker's live counters for the progress bar, and how to wake it when the run is cancelled;
/// padded to a cache line so workers do not slow each other down by sharing one.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Progress {
    pub done: AtomicU64,
    pub failed: AtomicU64,
    cancel: AtomicWaker,
}

/// What all workers share for the whole run.
pub struct Shared {
    pub plan: Plan,
    pub schedule: Schedule,
    pub progress: Box<[Progress]>,
    pub csv: Option<CsvSink>,
    /// Set after the grace period of an interrupt: abandon requests still in flight.
    cancelled: AtomicBool,
    pub late_threshold: Option<Duration>,
    /// Recorded outcomes, one set per target in each stripe; a worker records into the stripe of
    /// the thread it is running on (see `stripe`).
    stats: Box<[Stripe]>,
    /// Target weights, for routing by weight.
    targets: Weighted,
    /// When the split can change while the run goes on: each worker picks through its own
    /// `Picker` instead of `targets`.
    split: Option<LiveSplit>,
    /// Each target's request as the lean HTTP/1.1 client writes it, encoded once.
    first_requests: Vec<Vec<u8>>,
    /// Built once when any target is https.
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Shared {
    pub fn new(
        plan: Plan,
        schedule: Schedule,
        csv: Option<CsvSink>,
        split: Option<LiveSplit>,
    ) -> Shared {
        let targets = Weighted::new(plan.targets.iter().map(|t| t.weight));
        // Two stripes per runtime thread keep threads whose slots collide (see `stripe`) rare.
        let threads =
            tokio::runtime::Handle::try_current().map_or(1, |h| h.metrics().num_workers());
        let stripes = (2 * threads).clamp(1, plan.concurrency.max(1));
        let first_requests = plan
            .targets
            .iter()
            .map(|t| {
                encoded(
                    &plan.request.method,
                    &t.request_uri,
                    &t.headers,
                    &plan.request.body,
                )
            })
            .collect();
        Shared {
            first_requests,
            stats: (0..stripes)
                .map(|_| {
                    Stripe(Mutex::new(
                        plan.targets.iter().map(|_| Stats::default()).collect(),
                    ))
                })
                .collect(),
            progress: (0..plan.concurrency).map(|_| Progress::default()).collect(),
            late_threshold: crate::plan::late_threshold(plan.pacing),
            cancelled: AtomicBool::new(false),
            tls: plan
                .targets
                .iter()
                .any(|t| t.tls_name.is_some())
                .then(|| crate::net::tls::connector(plan.protocol, plan.insecure)),
            plan,
            schedule,
            csv,
            targets,
            split,
        }
    }

    /// Abandons every request still in flight (after an interrupt's grace period).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        for p in &*self.progress {
            p.cancel.wake();
        }
    }

    /// Whether worker `id` must abandon its request; arranges to be woken when that changes.
    /// A flag and a per-worker waker: two uncontended atomics per poll, where a `watch`
    /// channel's wait would take a lock.
    fn cancelled(&self, id: usize, cx: &mut Context<'_>) -> bool {
        self.progress[id].cancel.register(cx.waker());
        self.cancelled.load(Ordering::Acquire)
    }

    /// The calling thread's stripe of the stats. Threads take slots in the order they first
    /// record; a worker task that moves between threads moves between stripes with them.
    fn stripe(&self) -> std::sync::MutexGuard<'_, Vec<Stats>> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local!(static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed));
        let i = SLOT.with(|s| *s) % self.stats.len();
        self.stats[i].0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything recorded, per target in plan order, merged over the stripes.
    pub fn take_stats(&self) -> Vec<Stats> {
        let mut all: Vec<Stats> = self.plan.targets.iter().map(|_| Stats::default()).collect();
        for stripe in &*self.stats {
            let stripe = stripe.0.lock().unwrap_or_else(|p| p.into_inner());
            for (acc, s) in all.iter_mut().zip(stripe.iter()) {
                acc.merge(s);
            }
        }
        all
    }
}

/// One stripe of the stats (lock striping: one lock per few threads, not one for all), on a
/// cache line of its own. Not to be confused with `--shard`, which splits a run across processes.
#[repr(align(64))]
struct Stripe(Mutex<Vec<Stats>>);

/// What a worker hands back when its schedule ends (its outcomes are in `Shared`'s stats).
#[derive(Debug)]
pub struct Finished {
    /// 1 if the worker abandoned a request in flight on cancel.
    pub abandoned: u64,
}

/// Runs one worker to the end of the schedule.
pub async fn run(shared: Arc<Shared>, id: usize) -> Finished {
    let mut abandoned = 0;
    let plan = &shared.plan;
    let mut conns: Vec<Option<TargetConn>> = plan.targets.iter().map(|_| None).collect();
    let mut clock = WorkerClock::default();
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut csv = shared.csv.clone().map(CsvBuf::new);
    let progress = &shared.progress[id];
    let epoch = shared.schedule.start;
    // One timer per worker, pushed forward for each request: creating a `timeout` per request
    // would move the request's future into it and take a wheel slot each time.
    let mut deadline = pin!(tokio::time::sleep(Duration::ZERO));
    // Dropped when the worker ends, which hands its pick counts to the split.
    let mut picker = shared.split.as_ref().map(LiveSplit::picker);

    while let Some(ticket) = shared.schedule.next(&mut clock).await {
        let t = match &mut picker {
            Some(p) => p.pick(&mut rng),
            None => shared.targets.pick(&mut rng),
        };
        let target = &plan.targets[t];
        let sent = Instant::now();
        let mut timing = Timing::default();
        if let Some(limit) = plan.timeout {
            deadline.as_mut().reset(sent + limit);
        }
        let outcome = {
            let first = &shared.first_requests[t];
            let mut exchange = pin!(exchange(
                &shared.plan,
                shared.tls.as_ref(),
                target,
                first,
                &mut conns[t],
                epoch,
                &mut timing
            ));
            std::future::poll_fn(|cx| {
                if shared.cancelled(id, cx) {
                    return Poll::Ready(None);
                }
                // The deadline is polled first: an exchange fed without pause (interim heads
                // streamed for ever) can spend the task's coop budget, and a timer polled after
                // it would then never report, leaving `-t` unenforced.
                if plan.timeout.is_some() && deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(ErrorKind::Timeout)));
                }
                if let Poll::Ready(r) = exchange.as_mut().poll(cx) {
                    return Poll::Ready(Some(r));
                }
                Poll::Pending
            })
            .await
        };
        let Some(outcome) = outcome else {
            abandoned = 1;
            break;
        };
        let timed_out = outcome == Err(ErrorKind::Timeout);
        let failed = record(&shared, t, ticket.due, sent, &timing, outcome, csv.as_mut());
        if timed_out {
            // The connection is mid-exchange; it cannot carry the next request.
            conns[t] = None;
        }
        progress.done.fetch_add(1, Ordering::Relaxed);
        if failed {
            progress.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Some(csv) = &mut csv {
        csv.flush();
    }
    Finished { abandoned }
}

/// Records one exchange's outcome (and its CSV row) into the calling thread's stripe; returns
/// whether it counts as failed.
fn record(
    shared: &Shared,
    t: usize,
    due: Option<Instant>,
    sent: Instant,
    timing: &Timing,
    outcome: Result<(u16, u64), ErrorKind>,
    csv: Option<&mut CsvBuf>,
) -> bool {
    let done = Instant::now();
    let mut stripe = shared.stripe();
    let s = &mut stripe[t];
    if let (Some(due), Some(limit)) = (due, shared.late_threshold) {
        if sent.saturating_duration_since(due) > limit {
            s.late += 1;
        }
    }
    s.retries += u64::from(timing.retried);
    match outcome {
        Ok((status, bytes)) => {
            let latency = micros(done - due.map_or(sent, |due| due.min(sent)));
            let service = due.map(|_| micros(done - sent));
            s.record_response(status, latency, service, bytes);
            let p = &mut s.stages;
            p.dns.record(micros(timing.dns));
            p.dns_dialup.record(micros(timing.dns_dialup));
            p.req_write.record(micros(timing.req_write));
            p.resp_wait.record(micros(timing.resp_wait));
            p.resp_read.record(micros(timing.resp_read));
            if let Some(csv) = csv {
                csv.row(done - sent, timing, status, sent - shared.schedule.start);
            }
            status >= 400
        }
        Err(kind) => {
            s.record_error(kind);
            true
        }
    }
}

/// A worker's buffer of CSV rows, handed to the shared sink in 64 KiB pieces.
struct CsvBuf {
    sink: CsvSink,
    buf: Vec<u8>,
}

impl CsvBuf {
    const FLUSH_AT: usize = 64 * 1024;

    fn new(sink: CsvSink) -> CsvBuf {
        CsvBuf {
            sink,
            buf: Vec::with_capacity(Self::FLUSH_AT + 256),
        }
    }

    /// hey's columns: response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,
    /// status-code,offset.
    fn row(&mut self, total: Duration, t: &Timing, status: u16, offset: Duration) {
        let _ = writeln!(
            self.buf,
            "{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{},{:.4}",
            total.as_secs_f64(),
            t.dns_dialup.as_secs_f64(),
            t.dns.as_secs_f64(),
            t.req_write.as_secs_f64(),
            t.resp_wait.as_secs_f64(),
            t.resp_read.as_secs_f64(),
            status,
            offset.as_secs_f64(),
        );
        if self.buf.len() >= Self::FLUSH_AT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if sink.error.is_none() {
            if let Err(e) = sink.out.write_all(&self.buf) {
                sink.error = Some(e);
            }
        }
        self.buf.clear();
    }
}
