//! What hey mode's flags become: the engine's `Plan` plus the runner's `HeyRun` (what to
//! print, which gates judge the report, how many threads). Every check happens here, once: URLs,
//! headers, body, pacing, stop, shards and `--split` (by `weighted::split`, Cloud Run's rule).

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::Method;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::Authority;

use crate::cli::hey::HeyArgs;
use crate::output::OutputFormat;
use engine::plan::{
    Pacing, Plan, PlanError, Protocol, RequestSpec, Stop, Target, TargetSpec, out_of_range, target,
};
use engine::report::gate::Gate;
use engine::weighted::split_flags;

/// A hey-mode run as the runner carries it out: the engine's plan, plus the choices that are not
/// the engine's (output, gates, runtime threads, progress bar).
#[derive(Debug, Clone)]
pub struct HeyRun {
    pub plan: Plan,
    /// Runtime threads (`-cpus`; default: all).
    pub cpus: usize,
    pub output: OutputFormat,
    /// Judged by the runner against the finished report.
    pub gates: Vec<Gate>,
    pub expect_breach: bool,
    pub progress: bool,
    /// Where to serve the run page (`--web`), and the names it answers; only with `-z`.
    pub web: Option<engine::serve::PageAddr>,
    /// Where to write the HTML report (`--html`).
    pub html: Option<std::path::PathBuf>,
}

impl TryFrom<HeyArgs> for Plan {
    type Error = PlanError;

    fn try_from(a: HeyArgs) -> Result<Plan, PlanError> {
        HeyRun::try_from(a).map(|run| run.plan)
    }
}

impl TryFrom<HeyArgs> for HeyRun {
    type Error = PlanError;

    fn try_from(mut a: HeyArgs) -> Result<HeyRun, PlanError> {
        if let Some((i, n)) = a.shard {
            shard(&mut a, i, n)?;
        }
        if a.web.is_some() && a.duration.is_none() {
            return Err(PlanError::WebWithoutDuration);
        }
        if !(1..=MAX_WORKERS).contains(&a.concurrency) {
            return Err(out_of_range("-c", "between 1 and 100000", a.concurrency));
        }
        let stop = stop(&a)?;
        let pacing = pacing(&a)?;
        if !(0.0..=MAX_DURATION.as_secs_f64()).contains(&a.timeout_secs) {
            return Err(out_of_range(
                "-t",
                "seconds from 0 to 365 days",
                a.timeout_secs,
            ));
        }
        let timeout = (a.timeout_secs > 0.0).then(|| Duration::from_secs_f64(a.timeout_secs));
        let cpus = match a.cpus {
            Some(n) if !(1..=MAX_CPUS).contains(&n) => {
                return Err(out_of_range("-cpus", "between 1 and 1024", n));
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let method = Method::from_bytes(a.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| PlanError::BadMethod(a.method.clone()))?;
        let body = body(&a)?;
        let proxy = a.proxy.as_deref().map(parse_proxy).transpose()?;
        let targets = targets(&a, &body, proxy.as_ref())?;
        let gates = gates(&a, &targets)?;
        let plan = Plan {
            targets,
            request: RequestSpec { method, body },
            pacing,
            stop,
            concurrency: a.concurrency,
            timeout,
            protocol: if a.h2 {
                Protocol::Http2
            } else {
                Protocol::Http1
            },
            keepalive: !a.disable_keepalive,
            max_redirects: if a.disable_redirects { 0 } else { 10 },
            cross_origin_drop: cross_origin_drop(&a)?,
            proxied: proxy.is_some(),
            insecure: a.insecure,
        };
        Ok(HeyRun {
            plan,
            cpus,
            output: a.output.unwrap_or(OutputFormat::Text),
            gates,
            expect_breach: a.expect_breach,
            progress: !a.no_progress,
            web: a.web.map(|addr| engine::serve::PageAddr {
                addr,
                hosts: a.allowed_hosts.policy(),
            }),
            html: a.html.clone(),
        })
    }
}

/// `-z` or `-n`: a duration, or a count of at least one request per worker.
fn stop(a: &HeyArgs) -> Result<Stop, PlanError> {
    match a.duration {
        Some(d) if d.is_zero() || d > MAX_DURATION => Err(out_of_range(
            "-z",
            "longer than 0 and at most 365 days",
            humantime::format_duration(d),
        )),
        Some(d) => Ok(Stop::Duration(d)),
        None if a.requests == 0 => Err(out_of_range("-n", "at least 1", 0)),
        None if a.requests < a.concurrency as u64 => Err(PlanError::FewerRequestsThanWorkers {
            requests: a.requests,
            concurrency: a.concurrency,
        }),
        None => Ok(Stop::Count(a.requests)),
    }
}

/// `-q` (hey's per-worker limit) or `--rate` (an open model), not both; neither is closed.
fn pacing(a: &HeyArgs) -> Result<Pacing, PlanError> {
    if !(a.qps == 0.0 || (MIN_RATE..=MAX_RATE).contains(&a.qps)) {
        return Err(out_of_range(
            "-q",
            "0 (no limit) or between 0.001 and 1e9",
            a.qps,
        ));
    }
    if let Some(rate) = a.rate.filter(|r| !(MIN_RATE..=MAX_RATE).contains(r)) {
        return Err(out_of_range("--rate", "between 0.001 and 1e9", rate));
    }
    match (a.qps > 0.0, a.rate) {
        (true, Some(_)) => Err(PlanError::QpsAndRate),
        (true, None) => Ok(Pacing::PerWorker { qps: a.qps }),
        (false, Some(rate)) => Ok(Pacing::Open { rate }),
        (false, None) => Ok(Pacing::Closed),
    }
}

/// `-d` or `-D`, not both; none is an empty body.
fn body(a: &HeyArgs) -> Result<Bytes, PlanError> {
    match (&a.body, &a.body_file) {
        (Some(_), Some(_)) => Err(PlanError::TwoBodies),
        (Some(b), None) => Ok(Bytes::from(b.clone())),
        (None, Some(p)) => Ok(Bytes::from(std::fs::read(p).map_err(|source| {
            PlanError::BodyFile {
                path: p.display().to_string(),
                source,
            }
        })?)),
        (None, None) => Ok(Bytes::new()),
    }
}

/// The URL, or the `--target`s with their `--split` weights, each prepared once.
fn targets(
    a: &HeyArgs,
    body: &Bytes,
    proxy: Option<&(String, u16)>,
) -> Result<Vec<Target>, PlanError> {
    let headers = common_headers(a, body)?;
    let named: Vec<(String, String)> = match (&a.url, a.targets.is_empty()) {
        (None, true) => return Err(PlanError::NoUrl),
        (Some(_), false) => return Err(PlanError::UrlAndTargets),
        (Some(url), true) => vec![("default".to_string(), url.clone())],
        (None, false) => a.targets.clone(),
    };
    let weights = split_flags(&named, &a.splits)?;
    let mut targets = Vec::with_capacity(named.len());
    for ((name, url), weight) in named.into_iter().zip(weights) {
        if targets.iter().any(|t: &Target| t.name == name) {
            return Err(PlanError::DuplicateTarget(name));
        }
        targets.push(target(TargetSpec {
            name: &name,
            url: &url,
            weight,
            proxy,
            host: a.host.as_deref(),
            h2: a.h2,
            headers: &headers,
        })?);
    }
    Ok(targets)
}

/// The `--slo` gates, each naming (if it names one) a target of the run.
fn gates(a: &HeyArgs, targets: &[Target]) -> Result<Vec<Gate>, PlanError> {
    let mut gates = Vec::with_capacity(a.slo.len());
    for text in &a.slo {
        let gate: Gate = text.parse().map_err(PlanError::BadGate)?;
        if let Some(name) = &gate.target {
            if !targets.iter().any(|t| &t.name == name) {
                return Err(PlanError::UnknownTarget {
                    what: format!("--slo {text:?}"),
                    name: name.clone(),
                });
            }
        }
        gates.push(gate);
    }
    if a.expect_breach && gates.is_empty() {
        return Err(PlanError::ExpectBreachWithoutGates);
    }
    Ok(gates)
}

/// Bounds that keep every later computation (due times, deadlines, allocations per worker)
/// finite, so no input can make the engine panic or exhaust memory before it starts.
const MAX_WORKERS: usize = 100_000;
const MAX_CPUS: usize = 1024;
const MIN_RATE: f64 = 0.001;
const MAX_RATE: f64 = 1e9;
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Headers every request carries, in hey's manner: Content-Type (default text/html), the
/// User-Agent, Accept-Encoding unless -disable-compression, then -A, -a and each -H.
fn common_headers(a: &HeyArgs, body: &Bytes) -> Result<HeaderMap, PlanError> {
    let bad = |h: &str| PlanError::BadHeader(h.to_string());
    let mut map = HeaderMap::new();
    let value = |v: &str| HeaderValue::from_str(v).map_err(|_| bad(v));
    map.insert(header::CONTENT_TYPE, value(&a.content_type)?);
    map.insert(
        header::USER_AGENT,
        HeaderValue::from_static(concat!("loadgen/", env!("CARGO_PKG_VERSION"))),
    );
    if !a.disable_compression {
        map.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if a.disable_keepalive {
        map.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(accept) = &a.accept {
        map.insert(header::ACCEPT, value(accept)?);
    }
    if let Some(auth) = &a.basic_auth {
        let token = base64::engine::general_purpose::STANDARD.encode(auth);
        map.insert(header::AUTHORIZATION, value(&format!("Basic {token}"))?);
    }
    for h in &a.headers {
        let (name, v) = h.split_once(':').ok_or_else(|| bad(h))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad(h))?;
        // loadgen frames the body itself (Content-Length); a second framing makes the request
        // malformed.
        if name == header::TRANSFER_ENCODING {
            return Err(PlanError::TransferEncoding);
        }
        map.insert(name, HeaderValue::from_str(v.trim()).map_err(|_| bad(h))?);
    }
    if !body.is_empty() {
        map.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    Ok(map)
}

/// What a hop to another origin leaves behind: Authorization and Cookie whoever set them, and
/// every `-H` header but Content-Type (the body's type, not a credential); nothing under
/// `--redirect-keep-headers`.
fn cross_origin_drop(a: &HeyArgs) -> Result<Vec<HeaderName>, PlanError> {
    if a.redirect_keep_headers {
        return Ok(Vec::new());
    }
    let mut names = vec![header::AUTHORIZATION, header::COOKIE];
    for h in &a.headers {
        let name = h.split_once(':').map_or(h.as_str(), |(n, _)| n).trim();
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| PlanError::BadHeader(h.clone()))?;
        if name != header::CONTENT_TYPE && !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

fn parse_proxy(s: &str) -> Result<(String, u16), PlanError> {
    let auth: Authority = s.parse().map_err(|_| PlanError::BadProxy(s.to_string()))?;
    let port = auth
        .port_u16()
        .ok_or_else(|| PlanError::BadProxy(s.to_string()))?;
    Ok((auth.host().to_string(), port))
}

/// Shard `i` of `n` takes an even share of the requests, the workers and the rate, the first
/// `total % n` shards one more, so the shards together are exactly the unsharded run.
fn shard(a: &mut HeyArgs, i: u64, n: u64) -> Result<(), PlanError> {
    let share = |total: u64| total / n + u64::from(i < total % n);
    if (a.concurrency as u64) < n {
        return Err(PlanError::ShardWithoutWorker {
            shards: n,
            concurrency: a.concurrency,
        });
    }
    a.concurrency = share(a.concurrency as u64) as usize;
    if a.duration.is_none() {
        a.requests = share(a.requests);
    }
    a.rate = a.rate.map(|r| r / n as f64);
    Ok(())
}
