//! The validated plan of a load run, the engine's only input: targets, request, pacing, stop,
//! connections. `cli::hey_run` builds it (`Plan::try_from(HeyArgs)`) and checks everything
//! there, so the engine never meets a bad value and nothing downstream re-checks. `target` turns one URL
//! into a ready `Target`; journeys, the phase client and redirects use it too.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Uri};

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

/// A request counts as late when it is sent more than this after its due time: one interval of
/// the target rate, but never less than 5 ms, so ordinary timer jitter (tokio's timer has 1 ms
/// granularity) is not called late.
pub fn late_threshold(pacing: Pacing) -> Option<Duration> {
    match pacing {
        Pacing::Open { rate } => {
            Some(Duration::from_secs_f64(1.0 / rate).max(Duration::from_millis(5)))
        }
        Pacing::Closed | Pacing::PerWorker { .. } => None,
    }
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
    /// Headers a redirect to another origin does not carry: Authorization, Cookie and what
    /// `-a`/`-H` added (empty under `--redirect-keep-headers`).
    pub cross_origin_drop: Vec<header::HeaderName>,
    pub proxied: bool,
    /// Accept any TLS certificate, as hey does.
    pub insecure: bool,
}

/// A flag's value outside what it allows: one shape for every plan's range checks, turned into
/// each plan's own error (`PlanError::OutOfRange`, `JourneyPlanError::OutOfRange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfRange {
    pub flag: &'static str,
    /// What it must be, e.g. "between 1 and 100000".
    pub what: &'static str,
    pub value: String,
}

/// The one range-check error helper: `Err(out_of_range("-c", "between 1 and 100000", c))`.
pub fn out_of_range<E: From<OutOfRange>>(
    flag: &'static str,
    what: &'static str,
    value: impl ToString,
) -> E {
    E::from(OutOfRange {
        flag,
        what,
        value: value.to_string(),
    })
}

impl From<OutOfRange> for PlanError {
    fn from(OutOfRange { flag, what, value }: OutOfRange) -> PlanError {
        PlanError::OutOfRange { flag, what, value }
    }
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
    #[error(transparent)]
    Split(#[from] crate::weighted::SplitFlagError),
    #[error(
        "-H Transfer-Encoding: loadgen frames the body itself (Content-Length); drop the header"
    )]
    TransferEncoding,
    #[error("{0}")]
    BadGate(String),
    #[error(
        "--web shows a run that lasts: give it a duration with -z (e.g. -z 5m); a run of -n requests has no page"
    )]
    WebWithoutDuration,
    #[error("--expect-breach needs at least one --slo gate")]
    ExpectBreachWithoutGates,
}

/// The target a redirect to another origin lands on: the same headers (but its own Host, and
/// none of the credentials in `plan.cross_origin_drop`), the
/// same protocol and proxy. `None` if the location is not a URL loadgen can load.
pub(crate) fn redirect_target(plan: &Plan, from: &Target, url: &str) -> Option<Target> {
    let mut common = from.headers.clone();
    common.remove(header::HOST);
    for name in &plan.cross_origin_drop {
        common.remove(name);
    }
    let proxy = plan.proxied.then(|| (from.host.clone(), from.port));
    target(TargetSpec {
        name: &from.name,
        url,
        weight: from.weight,
        proxy: proxy.as_ref(),
        host: None,
        h2: plan.protocol == Protocol::Http2,
        headers: &common,
    })
    .ok()
}

/// What a `Target` is made from.
#[derive(Debug, Clone, Copy)]
pub struct TargetSpec<'a> {
    pub name: &'a str,
    /// The URL as given.
    pub url: &'a str,
    pub weight: u32,
    /// `-x host:port`: connect there instead of to the URL's host.
    pub proxy: Option<&'a (String, u16)>,
    /// `-host`: the Host header (or `:authority`) to send instead of the URL's.
    pub host: Option<&'a str>,
    pub h2: bool,
    /// Headers every request to it carries (Host is added here).
    pub headers: &'a HeaderMap,
}

/// Checks one URL and prepares everything its requests need.
pub fn target(spec: TargetSpec<'_>) -> Result<Target, PlanError> {
    let TargetSpec {
        name,
        url: raw,
        weight,
        proxy,
        host: host_override,
        h2,
        headers: common,
    } = spec;
    let bad = |reason: &str| bad_url(raw, reason);
    let (url, authority, tls) = checked_url(raw)?;
    let url_port = url_port(&authority, tls).map_err(|reason| bad(&reason))?;
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
        None => (unbracketed(&authority).to_string(), url_port),
    };
    let tls_name = if tls {
        let name = rustls::pki_types::ServerName::try_from(unbracketed(&authority).to_string())
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
        name: name.to_owned(),
        url,
        weight,
        host,
        port,
        request_uri,
        headers,
        tunnel: (tls && proxy.is_some()).then(|| format!("{}:{}", authority.host(), url_port)),
        tls_name,
    })
}

/// Why `raw` is not a usable target URL.
fn bad_url(raw: &str, reason: &str) -> PlanError {
    PlanError::BadUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    }
}

/// The URL parsed, its authority, and whether it is https: an absolute http(s) URL with a host
/// and no credentials, or an error saying which of those it lacks.
fn checked_url(raw: &str) -> Result<(Uri, Authority, bool), PlanError> {
    let bad = |reason: &str| bad_url(raw, reason);
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
    Ok((url, authority, tls))
}

/// The authority's host without an IPv6 address's brackets, as sockets and TLS names want it.
fn unbracketed(authority: &Authority) -> &str {
    authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
}

/// The URL's port, or the scheme's default when it names none. `http` reads a port it cannot
/// parse (`:99999`, `:8x`) as no port at all, which would quietly load port 80: refuse it.
fn url_port(authority: &Authority, tls: bool) -> Result<u16, String> {
    let text = authority.as_str();
    // An IPv6 host is bracketed and full of colons: the port follows the closing bracket.
    let after_host = text.rfind(']').map_or(text, |i| &text[i + 1..]);
    let given = match after_host.rfind(':') {
        Some(i) => &after_host[i + 1..],
        None => "",
    };
    if given.is_empty() {
        return Ok(if tls { 443 } else { 80 });
    }
    match given.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("port {given:?} is not a number from 1 to 65535")),
    }
}
