//! One worker: claims tickets from the schedule, sends each request over its own connection and
//! records the outcome into its own `Stats`. Nothing here is shared per request except one
//! atomic ticket counter and two relaxed progress counters owned by this worker.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, StatusCode, Uri, Version, header};
use http_body_util::{BodyExt, Full};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::conn::{self, Conn};
use crate::plan::{self, Plan, Protocol, Target};
use crate::schedule::{Schedule, WorkerClock};
use crate::stats::{ErrorKind, Stats};

/// Where `-o csv` rows go; workers lock it once per 64 KiB of rows, not per request.
pub type CsvSink = Arc<Mutex<Box<dyn Write + Send>>>;

/// A worker's live counters for the progress bar, padded to a cache line so workers do not
/// slow each other down by sharing one.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Progress {
    pub done: AtomicU64,
    pub failed: AtomicU64,
}

/// What all workers share for the whole run.
pub struct Shared {
    pub plan: Plan,
    pub schedule: Schedule,
    pub progress: Box<[Progress]>,
    pub csv: Option<CsvSink>,
    /// Set after the grace period of an interrupt: abandon requests still in flight.
    pub cancel: watch::Sender<bool>,
    pub late_threshold: Option<Duration>,
    /// Cumulative target weights, for routing by weight.
    cumulative: Vec<u64>,
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
        Shared {
            progress: (0..plan.concurrency).map(|_| Progress::default()).collect(),
            late_threshold: crate::schedule::late_threshold(plan.pacing),
            cancel: watch::channel(false).0,
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

/// What a worker hands back when its schedule ends.
#[derive(Debug)]
pub struct Finished {
    /// One record per target, in plan order.
    pub stats: Vec<Stats>,
    /// 1 if the worker abandoned a request in flight on cancel.
    pub abandoned: u64,
}

/// Runs one worker to the end of the schedule.
pub async fn run(shared: Arc<Shared>, id: usize) -> Finished {
    let mut abandoned = 0;
    let plan = &shared.plan;
    let mut stats: Vec<Stats> = plan.targets.iter().map(|_| Stats::default()).collect();
    let mut conns: Vec<Option<Conn>> = plan.targets.iter().map(|_| None).collect();
    let mut clock = WorkerClock::default();
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut csv = shared.csv.clone().map(CsvBuf::new);
    let mut cancel = shared.cancel.subscribe();
    let progress = &shared.progress[id];
    let epoch = shared.schedule.start;

    while let Some(ticket) = shared.schedule.next(&mut clock).await {
        let t = shared.pick(&mut rng);
        let target = &plan.targets[t];
        let sent = Instant::now();
        let mut timing = Timing::default();
        let exchange = exchange(&shared, target, &mut conns[t], epoch, &mut timing);
        let outcome = tokio::select! {
            biased;
            _ = cancel.wait_for(|c| *c) => {
                abandoned = 1;
                break;
            }
            r = with_timeout(plan.timeout, exchange) => r,
        };
        let done = Instant::now();
        let s = &mut stats[t];
        if let (Some(due), Some(limit)) = (ticket.due, shared.late_threshold) {
            if sent.saturating_duration_since(due) > limit {
                s.late += 1;
            }
        }
        let failed = match outcome {
            Ok((status, bytes)) => {
                let latency = micros(done - ticket.due.map_or(sent, |due| due.min(sent)));
                let service = micros(done - sent);
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
        progress.done.fetch_add(1, Ordering::Relaxed);
        if failed {
            progress.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Some(csv) = &mut csv {
        csv.flush();
    }
    Finished { stats, abandoned }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn with_timeout<F>(limit: Option<Duration>, f: F) -> Result<(u16, u64), ErrorKind>
where
    F: Future<Output = Result<(u16, u64), ErrorKind>>,
{
    match limit {
        Some(d) => tokio::time::timeout(d, f)
            .await
            .unwrap_or(Err(ErrorKind::Timeout)),
        None => f.await,
    }
}

/// Sends one request (following redirects as the plan allows) and reads the whole response.
/// Returns the final status and the body bytes received.
async fn exchange(
    shared: &Shared,
    target: &Target,
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
        let mut req = http::Request::new(Full::new(body.clone()));
        *req.method_mut() = method.clone();
        *req.uri_mut() = uri.clone();
        *req.headers_mut() = here.headers.clone();
        if body.is_empty() {
            req.headers_mut().remove(header::CONTENT_LENGTH);
        }
        *req.version_mut() = match plan.protocol {
            Protocol::Http1 => Version::HTTP_11,
            Protocol::Http2 => Version::HTTP_2,
        };
        let send_at = Instant::now();
        let resp = match conn.sender.send(req).await {
            Ok(r) => r,
            Err(e) => {
                *slot = None;
                return Err(conn::classify_hyper(&e));
            }
        };
        let head_at = Instant::now();
        let written = epoch + Duration::from_nanos(conn.last_write.load(Ordering::Relaxed));
        let written = written.clamp(send_at, head_at);
        timing.req_write += written - send_at;
        timing.resp_wait += head_at - written;

        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let mut incoming = resp.into_body();
        while let Some(frame) = incoming.frame().await {
            match frame {
                Ok(f) => bytes += f.data_ref().map_or(0, |d| d.len() as u64),
                Err(e) => {
                    *slot = None;
                    return Err(conn::classify_hyper(&e));
                }
            }
        }
        timing.resp_read += head_at.elapsed();
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
    if let Some(c) = slot.as_mut() {
        if !c.sender.ready().await {
            *slot = None;
        }
    }
    if slot.is_none() {
        let (c, dial) =
            conn::open(target, shared.plan.protocol, shared.tls.as_ref(), epoch).await?;
        timing.dns += dial.dns;
        timing.dns_dialup += dial.dns_dialup;
        *slot = Some(c);
    }
    Ok(slot.as_mut().expect("just filled"))
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
