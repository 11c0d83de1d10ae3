//! One request of the load, start to finish: over the lean HTTP/1.1 client (`h1`) or hyper
//! (HTTP/2), on the worker's connection (opened or reopened on demand), following redirects as
//! the plan allows, with the time of each phase. The worker (`worker`) decides when and where;
//! this module only sends.

use std::sync::atomic::Ordering;
use std::time::Duration;

use http::{Method, StatusCode, Uri, Version, header};
use http_body_util::Full;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::failure::ErrorKind;
use crate::net::conn::{self, Sender, TargetConn};
use crate::net::h1;
use crate::plan::{self, Plan, Protocol, Target};

/// Time spent in each phase of one request, summed over redirect hops.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timing {
    pub dns: Duration,
    pub dns_dialup: Duration,
    pub req_write: Duration,
    pub resp_wait: Duration,
    pub resp_read: Duration,
    /// The request was resent once on a fresh connection (`h1::TargetConn::closed_before_answer`).
    pub retried: bool,
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A request as the lean client writes it.
pub fn encoded(method: &Method, uri: &Uri, headers: &http::HeaderMap, body: &[u8]) -> Vec<u8> {
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
    conn: &mut TargetConn,
    req: http::Request<conn::Body>,
    epoch: Instant,
) -> Result<h1::Answer, ErrorKind> {
    let reply = conn::exchange(conn, req, None).await?;
    let written = epoch + Duration::from_nanos(conn.last_write.load(Ordering::Relaxed));
    Ok(h1::Answer {
        status: reply.status,
        location: reply.location,
        body_bytes: reply.body_bytes,
        written_at: written,
        head_at: reply.head_at,
    })
}

/// Sends one request (following redirects as the plan allows) and reads the whole response.
/// Returns the final status and the body bytes received. `first_request` is the request
/// encoded for the lean client.
pub async fn exchange(
    plan: &Plan,
    tls: Option<&TlsConnector>,
    target: &Target,
    first_request: &[u8],
    slot: &mut Option<TargetConn>,
    epoch: Instant,
    timing: &mut Timing,
) -> Result<(u16, u64), ErrorKind> {
    let mut uri = target.request_uri.clone();
    let mut method = plan.request.method.clone();
    let mut body = plan.request.body.clone();
    let mut hops = 0u8;
    let mut bytes = 0u64;
    // Set while a redirect has taken the request to another origin: that hop gets a connection
    // of its own, closed when the request ends, and the worker's connection stays as it was.
    let mut elsewhere: Option<Target> = None;
    let mut elsewhere_conn: Option<TargetConn> = None;
    loop {
        let (here, slot) = match &elsewhere {
            Some(t) => (t, &mut elsewhere_conn),
            None => (target, &mut *slot),
        };
        let conn = ready_conn(plan, tls, here, slot, epoch, timing).await?;
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
                let resend = kind == ErrorKind::Reset
                    && !timing.retried
                    && is_idempotent(&method)
                    && matches!(&conn.sender, Sender::Lean(c) if c.closed_before_answer());
                *slot = None;
                if resend {
                    timing.retried = true;
                    continue;
                }
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

/// Methods a client may resend when it cannot know whether the server saw them (RFC 9110
/// section 9.2.2).
fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
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
    plan: &Plan,
    tls: Option<&TlsConnector>,
    target: &Target,
    slot: &'a mut Option<TargetConn>,
    epoch: Instant,
    timing: &mut Timing,
) -> Result<&'a mut TargetConn, ErrorKind> {
    let (c, dial) =
        conn::reuse_or_open(slot, target, plan.protocol, conn::Engine::Lean, tls, epoch).await?;
    if let Some(dial) = dial {
        timing.dns += dial.dns;
        timing.dns_dialup += dial.dns_dialup;
    }
    Ok(c)
}
