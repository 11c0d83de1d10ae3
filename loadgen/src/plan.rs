//! The validated plan of a run. `Plan::try_from(HeyArgs)` is the only way in, and it checks
//! everything, so the engine never meets a bad value and nothing downstream re-checks.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Uri};

use crate::cli::{HeyArgs, OutputKind};
use crate::gate::Gate;

/// How requests are paced. Independent of when the run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Each worker sends its next request as soon as the previous one completes (hey's default).
    Closed,
    /// hey's `-q`: each worker sends at most `qps` requests per second. Latency counts from send,
    /// as in hey.
    PerWorker { qps: f64 },
    /// `--rate`: request i of the whole run is due at start + i/rate, and its latency counts
    /// from then, so a stalled server cannot hide its stall (coordinated omission).
    Open { rate: f64 },
}

/// When the run stops scheduling new requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Count(u64),
    Duration(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    /// HTTP/2 over cleartext with prior knowledge (h2c).
    Http2,
}

/// One place traffic goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub url: Uri,
    /// Share of requests, relative to the other targets' weights.
    pub weight: u32,
    /// Where the TCP connection goes: the URL's host and port, or the proxy.
    pub host: String,
    pub port: u16,
    /// The request-target on the wire: origin form, or absolute form through a proxy.
    pub request_uri: Uri,
    /// Headers prepared once; each request clones them.
    pub headers: HeaderMap,
    /// For https targets: the name the certificate must carry (also sent as SNI).
    pub tls_name: Option<rustls::pki_types::ServerName<'static>>,
    /// For https through a proxy: the host:port to ask the proxy to `CONNECT` to.
    pub tunnel: Option<String>,
}

/// What every request carries, apart from its target.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub body: Bytes,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub request: RequestSpec,
    pub pacing: Pacing,
    pub stop: Stop,
    /// Workers, each with its own connection(s), as hey's and wrk's `-c`.
    pub concurrency: usize,
    /// Per-request timeout; `None` waits forever (hey's `-t 0`).
    pub timeout: Option<Duration>,
    pub protocol: Protocol,
    pub keepalive: bool,
    /// Redirect hops to follow (hey/Go follow 10); 0 records the 3xx as the response.
    pub max_redirects: u8,
    pub proxied: bool,
    /// Accept any TLS certificate, as hey does.
    pub insecure: bool,
    /// Runtime threads.
    pub cpus: usize,
    pub output: OutputKind,
    pub gates: Vec<Gate>,
    pub expect_breach: bool,
    pub progress: bool,
}

/// A usage error: the plan cannot be made from these arguments. Exit code 64.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("give a URL, or --target NAME=URL (repeatable) to split traffic")]
    NoUrl,
    #[error("give either a URL or --target, not both")]
    UrlAndTargets,
    #[error("{url:?} is not a usable URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("--shard into {shards} parts needs at least one worker each, but -c is {concurrency}")]
    ShardWithoutWorker { shards: u64, concurrency: usize },
    #[error("-n cannot be less than -c ({requests} < {concurrency})")]
    FewerRequestsThanWorkers { requests: u64, concurrency: usize },
    #[error("{flag} must be {what}, got {value}")]
    OutOfRange {
        flag: &'static str,
        what: &'static str,
        value: String,
    },
    #[error("-q (per-worker QPS) and --rate (global open-model rate) cannot be combined")]
    QpsAndRate,
    #[error("invalid method {0:?}")]
    BadMethod(String),
    #[error("invalid header {0:?}: write it as \"Name: value\"")]
    BadHeader(String),
    #[error("-d and -D both give a body; use one")]
    TwoBodies,
    #[error("cannot read request body file {path}: {source}")]
    BodyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("-x {0:?} is not host:port")]
    BadProxy(String),
    #[error("target name {0:?} is used twice")]
    DuplicateTarget(String),
    #[error("{what} names {name:?}, which is not a --target")]
    UnknownTarget { what: String, name: String },
    #[error("--split {name}={value}: weight must be a whole number >= 0")]
    BadWeight { name: String, value: String },
    #[error(
        "--split weights given to some targets sum to 100 or more, leaving nothing for {0:?}: give it a weight"
    )]
    MissingWeight(String),
    #[error("all --split weights are 0")]
    ZeroWeights,
    #[error("{0}")]
    BadGate(String),
    #[error("--expect-breach needs at least one --slo gate")]
    ExpectBreachWithoutGates,
}

impl TryFrom<HeyArgs> for Plan {
    type Error = PlanError;

    fn try_from(mut a: HeyArgs) -> Result<Plan, PlanError> {
        if let Some((i, n)) = a.shard {
            shard(&mut a, i, n)?;
        }
        if !(1..=MAX_WORKERS).contains(&a.concurrency) {
            return Err(out_of_range("-c", "between 1 and 100000", a.concurrency));
        }
        let stop = match a.duration {
            Some(d) if d.is_zero() || d > MAX_DURATION => {
                return Err(out_of_range(
                    "-z",
                    "longer than 0 and at most 365 days",
                    humantime::format_duration(d),
                ));
            }
            Some(d) => Stop::Duration(d),
            None if a.requests == 0 => return Err(out_of_range("-n", "at least 1", 0)),
            None if a.requests < a.concurrency as u64 => {
                return Err(PlanError::FewerRequestsThanWorkers {
                    requests: a.requests,
                    concurrency: a.concurrency,
                });
            }
            None => Stop::Count(a.requests),
        };
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
        let pacing = match (a.qps > 0.0, a.rate) {
            (true, Some(_)) => return Err(PlanError::QpsAndRate),
            (true, None) => Pacing::PerWorker { qps: a.qps },
            (false, Some(rate)) => Pacing::Open { rate },
            (false, None) => Pacing::Closed,
        };
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
        let body = match (&a.body, &a.body_file) {
            (Some(_), Some(_)) => return Err(PlanError::TwoBodies),
            (Some(b), None) => Bytes::from(b.clone()),
            (None, Some(p)) => {
                Bytes::from(std::fs::read(p).map_err(|source| PlanError::BodyFile {
                    path: p.display().to_string(),
                    source,
                })?)
            }
            (None, None) => Bytes::new(),
        };
        let proxy = a.proxy.as_deref().map(parse_proxy).transpose()?;
        let headers = common_headers(&a, &body)?;

        let named: Vec<(String, String)> = match (&a.url, a.targets.is_empty()) {
            (None, true) => return Err(PlanError::NoUrl),
            (Some(_), false) => return Err(PlanError::UrlAndTargets),
            (Some(url), true) => vec![("default".to_string(), url.clone())],
            (None, false) => a.targets.clone(),
        };
        let weights = weights(&named, &a.splits)?;
        let mut targets = Vec::with_capacity(named.len());
        for ((name, url), weight) in named.into_iter().zip(weights) {
            if targets.iter().any(|t: &Target| t.name == name) {
                return Err(PlanError::DuplicateTarget(name));
            }
            let t = target(
                name,
                &url,
                weight,
                proxy.as_ref(),
                a.host.as_deref(),
                a.h2,
                &headers,
            )?;
            targets.push(t);
        }

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

        Ok(Plan {
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
            proxied: proxy.is_some(),
            insecure: a.insecure,
            cpus,
            output: a.output.unwrap_or(OutputKind::Summary),
            gates,
            expect_breach: a.expect_breach,
            progress: !a.no_progress,
        })
    }
}

/// Bounds that keep every later computation (due times, deadlines, allocations per worker)
/// finite, so no input can make the engine panic or exhaust memory before it starts.
const MAX_WORKERS: usize = 100_000;
const MAX_CPUS: usize = 1024;
const MIN_RATE: f64 = 0.001;
const MAX_RATE: f64 = 1e9;
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

fn out_of_range(flag: &'static str, what: &'static str, value: impl ToString) -> PlanError {
    PlanError::OutOfRange {
        flag,
        what,
        value: value.to_string(),
    }
}

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
        map.insert(name, HeaderValue::from_str(v.trim()).map_err(|_| bad(h))?);
    }
    if !body.is_empty() {
        map.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    Ok(map)
}

fn parse_proxy(s: &str) -> Result<(String, u16), PlanError> {
    let auth: Authority = s.parse().map_err(|_| PlanError::BadProxy(s.to_string()))?;
    let port = auth
        .port_u16()
        .ok_or_else(|| PlanError::BadProxy(s.to_string()))?;
    Ok((auth.host().to_string(), port))
}

fn weights(named: &[(String, String)], splits: &[(String, String)]) -> Result<Vec<u32>, PlanError> {
    for (name, _) in splits {
        if !named.iter().any(|(n, _)| n == name) {
            return Err(PlanError::UnknownTarget {
                what: format!("--split {name}"),
                name: name.clone(),
            });
        }
    }
    let given: Vec<Option<u32>> = named
        .iter()
        .map(|(name, _)| {
            splits
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| {
                    v.parse::<u32>().map_err(|_| PlanError::BadWeight {
                        name: name.clone(),
                        value: v.clone(),
                    })
                })
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    let weights = if splits.is_empty() {
        vec![1; named.len()]
    } else {
        // Weights given to some targets only are percentages, and the others share what is
        // left of 100, as `--to-tags next=10` leaves 90% to the rest on Cloud Run.
        let sum: u64 = given.iter().flatten().map(|&w| u64::from(w)).sum();
        let missing = given.iter().filter(|w| w.is_none()).count() as u32;
        if missing > 0 && sum >= 100 {
            let name = named[given.iter().position(Option::is_none).unwrap_or(0)]
                .0
                .clone();
            return Err(PlanError::MissingWeight(name));
        }
        // Only read when some weight is missing, and then sum < 100.
        let left = 100u64.saturating_sub(sum) as u32;
        let share = left.checked_div(missing).unwrap_or(0);
        let extra = left.checked_rem(missing).unwrap_or(0);
        let mut nth = 0;
        given
            .iter()
            .map(|w| {
                w.unwrap_or_else(|| {
                    nth += 1;
                    share + u32::from(nth <= extra)
                })
            })
            .collect()
    };
    if weights.iter().all(|&w| w == 0) {
        return Err(PlanError::ZeroWeights);
    }
    Ok(weights)
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

/// The target a redirect to another origin lands on: the same headers (but its own Host), the
/// same protocol and proxy. `None` if the location is not a URL loadgen can load.
pub(crate) fn redirect_target(plan: &Plan, from: &Target, url: &str) -> Option<Target> {
    let mut common = from.headers.clone();
    common.remove(header::HOST);
    let proxy = plan.proxied.then(|| (from.host.clone(), from.port));
    let h2 = plan.protocol == Protocol::Http2;
    target(
        from.name.clone(),
        url,
        from.weight,
        proxy.as_ref(),
        None,
        h2,
        &common,
    )
    .ok()
}

pub(crate) fn target(
    name: String,
    raw: &str,
    weight: u32,
    proxy: Option<&(String, u16)>,
    host_override: Option<&str>,
    h2: bool,
    common: &HeaderMap,
) -> Result<Target, PlanError> {
    let bad = |reason: &str| PlanError::BadUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let url: Uri = raw
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    let tls = match url.scheme() {
        Some(s) if *s == Scheme::HTTP => false,
        Some(s) if *s == Scheme::HTTPS => true,
        Some(_) => return Err(bad("the scheme must be http or https")),
        None => {
            return Err(bad(
                "it needs a scheme and host, e.g. http://localhost:8080/",
            ));
        }
    };
    let authority = url
        .authority()
        .cloned()
        .ok_or_else(|| bad("it has no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad(
            "credentials in the URL are not supported; use -a user:pass",
        ));
    }
    let path = url
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let host_value = host_override.unwrap_or(authority.as_str());
    let bad_host = || PlanError::BadHeader(format!("Host: {host_value}"));
    let absolute = |auth: Authority| {
        Uri::builder()
            .scheme(if tls { Scheme::HTTPS } else { Scheme::HTTP })
            .authority(auth)
            .path_and_query(path.clone())
            .build()
            .map_err(|e| bad(&e.to_string()))
    };
    let (host, port) = match proxy {
        Some((h, p)) => (h.clone(), *p),
        None => {
            let h = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            (
                h.to_string(),
                authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            )
        }
    };
    let tls_name = if tls {
        let name = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(name.to_string())
            .map_err(|_| bad("its host is not a valid TLS server name"))?;
        Some(name)
    } else {
        None
    };
    let mut headers = common.clone();
    // HTTP/2 carries the host in :authority and forbids connection-specific headers.
    let request_uri = if h2 {
        headers.remove(header::CONNECTION);
        absolute(host_value.parse().map_err(|_| bad_host())?)?
    } else {
        headers.insert(
            header::HOST,
            HeaderValue::from_str(host_value).map_err(|_| bad_host())?,
        );
        // Plain http through a proxy names the whole URL; https tunnels, so the proxy never
        // sees the request and it goes in origin form.
        if proxy.is_some() && !tls {
            absolute(authority.clone())?
        } else {
            Uri::from(path.clone())
        }
    };
    Ok(Target {
        name,
        url,
        weight,
        host,
        port,
        request_uri,
        headers,
        tunnel: (tls && proxy.is_some()).then(|| {
            format!(
                "{}:{}",
                authority.host(),
                authority.port_u16().unwrap_or(443)
            )
        }),
        tls_name,
    })
}
