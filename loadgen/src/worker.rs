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

use http::{Method, StatusCode, Uri, Version, header};
use http_body_util::{BodyExt, Full};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use crate::conn::{self, Conn, Sender};
use crate::h1;
use crate::plan::{self, Plan, Protocol, Target};
use crate::schedule::{Schedule, WorkerClock};
use crate::stats::{ErrorKind, Stats};

/// Where `-o csv` rows go; workers lock it once per 64 KiB of rows, not per request.
pub type CsvSink = Arc<Mutex<Box<dyn Write + Send>>>;

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
    /// Recorded outcomes, one set per target in each shard; a worker records into the shard of
    /// the thread it is running on (see `shard`).
    stats: Box<[Shard]>,
    /// Cumulative target weights, for routing by weight.
    cumulative: Vec<u64>,
    /// Each target's request as the lean HTTP/1.1 client writes it, encoded once.
    first_requests: Vec<Vec<u8>>,
    /// Built once when any target is https.
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Shared {
    pub fn new(plan: Plan, schedule: Schedule, csv: Option<CsvSink>) -> Shared {
        let mut sum = 0;
        let cumulative = plan
            .targets
            .iter()
            .map(|t| {
                sum += u64::from(t.weight);
                sum
            })
            .collect();
        // Two shards per runtime thread keep threads whose slots collide (see `shard`) rare.
        let threads =
            tokio::runtime::Handle::try_current().map_or(1, |h| h.metrics().num_workers());
        let shards = (2 * threads).clamp(1, plan.concurrency.max(1));
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
            stats: (0..shards)
                .map(|_| {
                    Shard(Mutex::new(
                        plan.targets.iter().map(|_| Stats::default()).collect(),
                    ))
                })
                .collect(),
            progress: (0..plan.concurrency).map(|_| Progress::default()).collect(),
            late_threshold: crate::schedule::late_threshold(plan.pacing),
            cancelled: AtomicBool::new(false),
            tls: plan
                .targets
                .iter()
                .any(|t| t.tls_name.is_some())
                .then(|| crate::tls::connector(plan.protocol, plan.insecure)),
            plan,
            schedule,
            csv,
            cumulative,
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

    /// The calling thread's shard of the stats. Threads take slots in the order they first
    /// record; a worker task that moves between threads moves between shards with them.
    fn shard(&self) -> std::sync::MutexGuard<'_, Vec<Stats>> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local!(static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed));
        let i = SLOT.with(|s| *s) % self.stats.len();
        self.stats[i].0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything recorded, per target in plan order, merged over the shards.
    pub fn take_stats(&self) -> Vec<Stats> {
        let mut all: Vec<Stats> = self.plan.targets.iter().map(|_| Stats::default()).collect();
        for shard in &*self.stats {
            let shard = shard.0.lock().unwrap_or_else(|p| p.into_inner());
            for (acc, s) in all.iter_mut().zip(shard.iter()) {
                acc.merge(s);
            }
        }
        all
    }

    fn pick(&self, rng: &mut SmallRng) -> usize {
        let total = *self
            .cumulative
            .last()
            .expect("a plan has at least one target");
        if self.cumulative.len() == 1 {
            return 0;
        }
        let x = rng.random_range(0..total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}

/// Time spent in each phase of one request, summed over redirect hops.
#[derive(Debug, Default, Clone, Copy)]
struct Timing {
    dns: Duration,
    dns_dialup: Duration,
    req_write: Duration,
    resp_wait: Duration,
    resp_read: Duration,
}

/// One shard of the stats, on a cache line of its own.
#[repr(align(64))]
struct Shard(Mutex<Vec<Stats>>);

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
    let mut conns: Vec<Option<Conn>> = plan.targets.iter().map(|_| None).collect();
    let mut clock = WorkerClock::default();
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut csv = shared.csv.clone().map(CsvBuf::new);
    let progress = &shared.progress[id];
    let epoch = shared.schedule.start;
    // One timer per worker, pushed forward for each request: creating a `timeout` per request
    // would move the request's future into it and take a wheel slot each time.
    let mut deadline = pin!(tokio::time::sleep(Duration::ZERO));

    while let Some(ticket) = shared.schedule.next(&mut clock).await {
        let t = shared.pick(&mut rng);
        let target = &plan.targets[t];
        let sent = Instant::now();
        let mut timing = Timing::default();
        if let Some(limit) = plan.timeout {
            deadline.as_mut().reset(sent + limit);
        }
        let outcome = {
            let first = &shared.first_requests[t];
            let mut exchange = pin!(exchange(
                &shared,
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
                if let Poll::Ready(r) = exchange.as_mut().poll(cx) {
                    return Poll::Ready(Some(r));
                }
                if plan.timeout.is_some() && deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(ErrorKind::Timeout)));
                }
                Poll::Pending
            })
            .await
        };
        let Some(outcome) = outcome else {
            abandoned = 1;
            break;
        };
        let done = Instant::now();
        let mut shard = shared.shard();
        let s = &mut shard[t];
        if let (Some(due), Some(limit)) = (ticket.due, shared.late_threshold) {
            if sent.saturating_duration_since(due) > limit {
                s.late += 1;
            }
        }
        let failed = match outcome {
            Ok((status, bytes)) => {
                let latency = micros(done - ticket.due.map_or(sent, |due| due.min(sent)));
                let service = ticket.due.map(|_| micros(done - sent));
                s.record_response(status, latency, service, bytes);
                let p = &mut s.phases;
                p.dns.record(micros(timing.dns));
                p.dns_dialup.record(micros(timing.dns_dialup));
                p.req_write.record(micros(timing.req_write));
                p.resp_wait.record(micros(timing.resp_wait));
                p.resp_read.record(micros(timing.resp_read));
                if let Some(csv) = &mut csv {
                    csv.row(done - sent, &timing, status, sent - epoch);
                }
                status >= 400
            }
            Err(kind) => {
                if kind == ErrorKind::Timeout {
                    // The connection is mid-exchange; it cannot carry the next request.
                    conns[t] = None;
                }
                s.record_error(kind);
                true
            }
        };
        drop(shard);
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

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A request as the lean client writes it.
fn encoded(method: &Method, uri: &Uri, headers: &http::HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    h1::encode(&mut out, method, uri, headers, body);
    out
}

fn hyper_request(
    plan: &Plan,
    method: &Method,
    uri: &Uri,
    headers: &http::HeaderMap,
    body: &bytes::Bytes,
) -> http::Request<conn::Body> {
    let mut req = http::Request::new(Full::new(body.clone()));
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri.clone();
    *req.headers_mut() = headers.clone();
    if body.is_empty() {
        req.headers_mut().remove(header::CONTENT_LENGTH);
    }
    *req.version_mut() = match plan.protocol {
        Protocol::Http1 => Version::HTTP_11,
        Protocol::Http2 => Version::HTTP_2,
    };
    req
}

/// One request over hyper (HTTP/2), answered in the lean client's terms. `written_at` is the
/// connection's last write, which the caller clamps into this request's span.
async fn send_hyper(
    conn: &mut Conn,
    req: http::Request<conn::Body>,
    epoch: Instant,
) -> Result<h1::Answer, ErrorKind> {
    let Conn {
        sender,
        driver,
        last_write,
    } = conn;
    let (status, location, body_bytes, head_at) = driver
        .run(async {
            let resp = sender.send(req).await?;
            let head_at = Instant::now();
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            let mut incoming = resp.into_body();
            let mut bytes = 0u64;
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(|e| conn::classify_hyper(&e))?;
                bytes += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            Ok::<_, ErrorKind>((status, location, bytes, head_at))
        })
        .await?;
    let written = epoch + Duration::from_nanos(last_write.load(Ordering::Relaxed));
    Ok(h1::Answer {
        status,
        location,
        body_bytes,
        written_at: written,
        head_at,
    })
}

/// Sends one request (following redirects as the plan allows) and reads the whole response.
/// Returns the final status and the body bytes received. `first_request` is the request
/// encoded for the lean client.
async fn exchange(
    shared: &Shared,
    target: &Target,
    first_request: &[u8],
    slot: &mut Option<Conn>,
    epoch: Instant,
    timing: &mut Timing,
) -> Result<(u16, u64), ErrorKind> {
    let plan = &shared.plan;
    let mut uri = target.request_uri.clone();
    let mut method = plan.request.method.clone();
    let mut body = plan.request.body.clone();
    let mut hops = 0u8;
    let mut bytes = 0u64;
    // Set while a redirect has taken the request to another origin: that hop gets a connection
    // of its own, closed when the request ends, and the worker's connection stays as it was.
    let mut elsewhere: Option<Target> = None;
    let mut elsewhere_conn: Option<Conn> = None;
    loop {
        let (here, slot) = match &elsewhere {
            Some(t) => (t, &mut elsewhere_conn),
            None => (target, &mut *slot),
        };
        let conn = ready_conn(shared, here, slot, epoch, timing).await?;
        let send_at = Instant::now();
        let answer = if let Sender::Lean(c) = &mut conn.sender {
            // The first hop's bytes were encoded once for the whole run.
            let scratch;
            let request = if hops == 0 {
                first_request
            } else {
                scratch = encoded(&method, &uri, &here.headers, &body);
                &scratch[..]
            };
            c.exchange(request, method == Method::HEAD).await
        } else {
            let req = hyper_request(plan, &method, &uri, &here.headers, &body);
            send_hyper(conn, req, epoch).await
        };
        let answer = match answer {
            Ok(a) => a,
            Err(kind) => {
                *slot = None;
                return Err(kind);
            }
        };
        bytes += answer.body_bytes;
        let written = answer.written_at.clamp(send_at, answer.head_at);
        timing.req_write += written - send_at;
        timing.resp_wait += answer.head_at - written;
        timing.resp_read += answer.head_at.elapsed();
        let status = StatusCode::from_u16(answer.status).map_err(|_| ErrorKind::Protocol)?;
        let location = answer.location;
        if !plan.keepalive {
            *slot = None;
        }
        let follow = plan.max_redirects > 0 && is_followed_redirect(status);
        let Some(location) = location.filter(|_| follow) else {
            return Ok((status.as_u16(), bytes));
        };
        if hops == plan.max_redirects {
            return Err(ErrorKind::Redirect);
        }
        hops += 1;
        match next_hop(here, &uri, &location).ok_or(ErrorKind::Redirect)? {
            Hop::Same(next) => uri = next,
            Hop::Origin(url) if same_origin(target, &url) => {
                uri = with_path(target, &url).ok_or(ErrorKind::Redirect)?;
                elsewhere = None;
                elsewhere_conn = None;
            }
            Hop::Origin(url) => {
                let there = plan::redirect_target(plan, target, &url.to_string());
                let there = there.ok_or(ErrorKind::Redirect)?;
                uri = there.request_uri.clone();
                elsewhere = Some(there);
                elsewhere_conn = None;
            }
        }
        // Go's client (and so hey) turns a redirected POST into a GET except on 307 and 308.
        if !matches!(
            status,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
        ) && method != Method::HEAD
        {
            method = Method::GET;
            body = bytes::Bytes::new();
        }
    }
}

fn is_followed_redirect(s: StatusCode) -> bool {
    matches!(s.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Where a redirect goes.
enum Hop {
    /// The same origin as the response: the next request-target.
    Same(Uri),
    /// An absolute URL, possibly on another origin.
    Origin(Uri),
}

fn next_hop(here: &Target, current: &Uri, location: &str) -> Option<Hop> {
    let loc: Uri = location.parse().ok()?;
    if loc.authority().is_some() {
        return if same_origin(here, &loc) {
            with_path(here, &loc).map(Hop::Same)
        } else {
            Some(Hop::Origin(loc))
        };
    }
    let path = if location.starts_with('/') {
        location.to_string()
    } else {
        let base = current.path();
        format!("{}{location}", &base[..=base.rfind('/').unwrap_or(0)])
    };
    let mut parts = here.request_uri.clone().into_parts();
    parts.path_and_query = Some(path.parse().ok()?);
    Uri::from_parts(parts).ok().map(Hop::Same)
}

fn same_origin(t: &Target, url: &Uri) -> bool {
    url.scheme() == t.url.scheme() && url.authority() == t.url.authority()
}

/// `t`'s request-target form (origin or absolute) with `url`'s path and query.
fn with_path(t: &Target, url: &Uri) -> Option<Uri> {
    let mut parts = t.request_uri.clone().into_parts();
    parts.path_and_query = Some(url.path_and_query()?.clone());
    Uri::from_parts(parts).ok()
}

/// The worker's connection to `target`, opened (or reopened, if the peer closed it) on demand.
async fn ready_conn<'a>(
    shared: &Shared,
    target: &Target,
    slot: &'a mut Option<Conn>,
    epoch: Instant,
    timing: &mut Timing,
) -> Result<&'a mut Conn, ErrorKind> {
    let protocol = shared.plan.protocol;
    let tls = shared.tls.as_ref();
    let (c, dial) =
        conn::reuse_or_open(slot, target, protocol, conn::Engine::Lean, tls, epoch).await?;
    if let Some(dial) = dial {
        timing.dns += dial.dns;
        timing.dns_dialup += dial.dns_dialup;
    }
    Ok(c)
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
        // A closed stdout (e.g. `| head`) must not stop the measurement; the report says nothing
        // about CSV completeness because the reader chose to stop reading.
        let _ = sink.write_all(&self.buf);
        self.buf.clear();
    }
}
