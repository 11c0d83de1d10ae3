//! The request guard every operator surface of the workspace applies (mock-server's `/phase` and
//! `/ui`, loadgen's `--web` pages and its Alertmanager webhook): one policy, so a page on another
//! site cannot change what these servers do, whatever the server.
//!
//! These programs run on laptops beside a browser, and any page the user visits can reach
//! 127.0.0.1. Three checks close that:
//! - **Host** (DNS rebinding): a request is answered only when its `Host` (or HTTP/2's
//!   `:authority`), port ignored, is an IP literal, `localhost` or `*.localhost`, or a name the
//!   operator allowed (`--allowed-host`). A rebinding attack needs a DNS name of its own.
//! - **Cross-origin writes**: a write (any method but GET, HEAD, OPTIONS and TRACE) is refused
//!   when `Sec-Fetch-Site` says another origin, or `Origin` is not the request's own host.
//!   Clients that send neither (curl, scripts, Locust) are not browsers and pass.
//! - **Content type**: a write with a body must say it is one of the route's types
//!   (`application/json`), which a browser cannot send cross-origin without asking first.
//!
//! The policy reads header values as bytes ([`Head`]); [`HostPolicy::check_request`] fills a
//! `Head` from an `http` request head, so both servers call the same two lines.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The accepted body types of a JSON API route.
pub const JSON: &[&str] = &["application/json"];

/// The accepted body types of a route that also answers HTML forms (Locust's `POST /swarm`, as
/// its page and `curl -d` send it). A browser sends a form cross-origin without asking first, so
/// on these routes the Origin and Sec-Fetch-Site checks are what refuses another site's post.
pub const JSON_OR_FORM: &[&str] = &["application/json", "application/x-www-form-urlencoded"];

/// The host names a server answers on its guarded routes, beside IP literals and localhost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    /// Lower-cased names given with `--allowed-host`.
    names: Vec<String>,
    /// `--allowed-host '*'`: every name.
    any: bool,
}

/// A name `--allowed-host` cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHostName(pub String);

impl fmt::Display for BadHostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--allowed-host {:?}: give a host name alone (no scheme, port, path or space), \
             e.g. mock.example.com, or * for any name",
            self.0
        )
    }
}

impl std::error::Error for BadHostName {}

/// Why a guarded request was refused: its status and a short message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The `Host` names neither an address, localhost, nor an allowed name (403).
    Host(String),
    /// A browser said the write comes from another origin (403); what it said.
    CrossOrigin(String),
    /// A write whose body is not of the route's types (415).
    ContentType {
        given: Option<String>,
        accepted: &'static [&'static str],
    },
}

impl Refusal {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Host(_) | Refusal::CrossOrigin(_) => 403,
            Refusal::ContentType { .. } => 415,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Host(host) => write!(
                f,
                "host {host:?} is not allowed here: this server answers IP addresses, localhost \
                 and the names given with --allowed-host NAME"
            ),
            Refusal::CrossOrigin(said) => write!(
                f,
                "cross-origin writes are refused ({said}): change this from the server's own \
                 page, or from a client that is not a browser"
            ),
            Refusal::ContentType { given, accepted } => {
                let given = given.as_deref().unwrap_or("none");
                write!(
                    f,
                    "send the body with Content-Type: {} (given: {given})",
                    accepted.join(" or ")
                )
            }
        }
    }
}

/// What the guard reads of a request: its method and four headers, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Head<'a> {
    pub method: &'a str,
    /// HTTP/2's `:authority`, else the `Host` header; `None` when neither (HTTP/1.0).
    pub host: Option<&'a [u8]>,
    pub origin: Option<&'a [u8]>,
    pub sec_fetch_site: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    /// Whether a body follows the head (hyper's `!is_end_stream()`).
    pub has_body: bool,
}

impl HostPolicy {
    /// The policy for these `--allowed-host` names (`*` allows any name).
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<HostPolicy, BadHostName> {
        let mut policy = HostPolicy::default();
        for name in names.iter().map(AsRef::as_ref) {
            if name == "*" {
                policy.any = true;
            } else if valid_name(name) {
                policy.names.push(name.to_ascii_lowercase());
            } else {
                return Err(BadHostName(name.to_owned()));
            }
        }
        Ok(policy)
    }

    /// Whether a `Host` value (port ignored) may be answered.
    pub fn allows_host(&self, host: &[u8]) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        if name.starts_with('[') {
            return name
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .is_some_and(|n| n.parse::<Ipv6Addr>().is_ok());
        }
        let lower = name.to_ascii_lowercase();
        self.any
            || name.parse::<Ipv4Addr>().is_ok()
            || lower == "localhost"
            || lower.ends_with(".localhost")
            || self.names.contains(&lower)
    }

    /// Checks a request to a guarded route; `accepts` are the body types the route takes.
    pub fn check(&self, head: &Head<'_>, accepts: &'static [&'static str]) -> Result<(), Refusal> {
        if let Some(host) = head.host {
            if !self.allows_host(host) {
                return Err(Refusal::Host(String::from_utf8_lossy(host).into_owned()));
            }
        }
        if !is_write(head.method) {
            return Ok(());
        }
        if let Some(site) = head.sec_fetch_site {
            if !(site.eq_ignore_ascii_case(b"same-origin") || site.eq_ignore_ascii_case(b"none")) {
                return Err(Refusal::CrossOrigin(format!(
                    "Sec-Fetch-Site: {}",
                    String::from_utf8_lossy(site)
                )));
            }
        }
        if let Some(origin) = head.origin {
            if !same_origin(origin, head.host) {
                return Err(Refusal::CrossOrigin(format!(
                    "Origin: {}",
                    String::from_utf8_lossy(origin)
                )));
            }
        }
        if head.has_body && !head.content_type.is_some_and(|t| media_type_in(t, accepts)) {
            return Err(Refusal::ContentType {
                given: head
                    .content_type
                    .map(|t| String::from_utf8_lossy(t).into_owned()),
                accepted: accepts,
            });
        }
        Ok(())
    }
}

impl HostPolicy {
    /// [`HostPolicy::check`] on an `http` request head; `has_body` is whether a body follows
    /// (hyper's `!body.is_end_stream()`).
    pub fn check_request<B>(
        &self,
        req: &http::Request<B>,
        has_body: bool,
        accepts: &'static [&'static str],
    ) -> Result<(), Refusal> {
        let header = |name: http::header::HeaderName| req.headers().get(name).map(|v| v.as_bytes());
        let head = Head {
            method: req.method().as_str(),
            // HTTP/2 carries the host in the URI (`:authority`); HTTP/1.1 in the header.
            host: req
                .uri()
                .authority()
                .map(|a| a.as_str().as_bytes())
                .or_else(|| header(http::header::HOST)),
            origin: header(http::header::ORIGIN),
            sec_fetch_site: req.headers().get("sec-fetch-site").map(|v| v.as_bytes()),
            content_type: header(http::header::CONTENT_TYPE),
            has_body,
        };
        self.check(&head, accepts)
    }
}

/// Every method but the safe ones (RFC 9110: GET, HEAD, OPTIONS, TRACE) may change state.
fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// Letters, digits, `-`, `_` and `.`, 1 to 253 of them: a host name as DNS and compose write it.
fn valid_name(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The name part of a `Host` value: `[v6]` kept bracketed, a `:port` dropped. `None` when it is
/// not text or its port is not a number.
fn host_name(host: &[u8]) -> Option<&str> {
    let host = std::str::from_utf8(host).ok()?.trim();
    let (name, port) = match host.rfind(']') {
        Some(end) => (&host[..=end], &host[end + 1..]),
        None => match host.rsplit_once(':') {
            Some((name, _)) => (name, &host[name.len()..]),
            None => (host, ""),
        },
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (!name.is_empty() && port_ok).then_some(name)
}

/// Whether `Origin` (`scheme://host[:port]`) names the request's own host and port. `null`, a
/// missing host, or anything unparsable is another origin.
fn same_origin(origin: &[u8], host: Option<&[u8]>) -> bool {
    let (Ok(origin), Some(Ok(host))) = (std::str::from_utf8(origin), host.map(std::str::from_utf8))
    else {
        return false;
    };
    let Some((scheme, authority)) = origin.trim().split_once("://") else {
        return false;
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => "80",
        "https" => "443",
        _ => return false,
    };
    match (
        split_port(authority, default),
        split_port(host.trim(), default),
    ) {
        (Some((a, ap)), Some((b, bp))) => a.eq_ignore_ascii_case(b) && ap == bp,
        _ => false,
    }
}

/// `name[:port]` as (name, port), the port `default` when absent.
fn split_port<'a>(authority: &'a str, default: &'a str) -> Option<(&'a str, &'a str)> {
    let name = host_name(authority.as_bytes())?;
    let port = authority[name.len()..].strip_prefix(':').unwrap_or(default);
    Some((name, port))
}

/// Whether a `Content-Type` value's media type (parameters dropped) is one of `accepted`.
fn media_type_in(content_type: &[u8], accepted: &[&str]) -> bool {
    let Ok(text) = std::str::from_utf8(content_type) else {
        return false;
    };
    let media = text.split(';').next().unwrap_or("").trim();
    accepted.iter().any(|a| media.eq_ignore_ascii_case(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'a>(method: &'a str, host: &'a str) -> Head<'a> {
        Head {
            method,
            host: Some(host.as_bytes()),
            ..Head::default()
        }
    }

    #[test]
    fn addresses_and_localhost_are_answered_other_names_are_not() {
        let p = HostPolicy::default();
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "10.1.2.3:80",
            "[::1]:8080",
            "[::1]",
            "localhost",
            "LOCALHOST:8089",
            "app.localhost:3000",
        ] {
            assert!(p.allows_host(ok.as_bytes()), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[not-v6]:80",
            "::1",
            "127.0.0.1:",
            "127.0.0.1:x",
            "",
            "fakelocalhost",
        ] {
            assert!(!p.allows_host(refused.as_bytes()), "{refused}");
        }
        assert!(!p.allows_host(b"\xff\xfe"));
    }

    #[test]
    fn allowed_names_match_without_case_or_port_and_star_allows_all() {
        let p = HostPolicy::new(&["Mock-Server", "loadgen-swarm-web.movie-guru.svc"]).unwrap();
        assert!(p.allows_host(b"mock-server:8080"));
        assert!(p.allows_host(b"LOADGEN-SWARM-WEB.movie-guru.svc"));
        assert!(!p.allows_host(b"other:8080"));
        assert!(
            HostPolicy::new(&["*"])
                .unwrap()
                .allows_host(b"anything.example")
        );
    }

    #[test]
    fn names_with_a_scheme_port_path_or_space_are_refused() {
        for bad in ["http://x", "x:8080", "x/ui", "a b", "", "*.example"] {
            let e = HostPolicy::new(&[bad]).unwrap_err();
            assert_eq!(e, BadHostName(bad.to_owned()));
            assert!(e.to_string().contains("--allowed-host"), "{e}");
        }
        assert!(HostPolicy::new(&["compose_mock-server.1"]).is_ok());
    }

    #[test]
    fn a_foreign_host_is_refused_on_reads_and_writes_naming_the_flag() {
        let p = HostPolicy::default();
        for method in ["GET", "POST"] {
            let e = p.check(&head(method, "evil.example"), JSON).unwrap_err();
            assert_eq!(e, Refusal::Host("evil.example".into()));
            assert_eq!(e.status(), 403);
            assert!(e.to_string().contains("\"evil.example\""), "{e}");
            assert!(e.to_string().contains("--allowed-host"), "{e}");
        }
        // HTTP/1.0 may come without a Host: nothing to check.
        let no_host = Head {
            method: "GET",
            ..Head::default()
        };
        assert_eq!(p.check(&no_host, JSON), Ok(()));
    }

    #[test]
    fn writes_from_another_site_are_refused_by_sec_fetch_site() {
        let p = HostPolicy::default();
        for site in ["cross-site", "same-site", "Cross-Site"] {
            let h = Head {
                sec_fetch_site: Some(site.as_bytes()),
                ..head("POST", "127.0.0.1:8080")
            };
            let e = p.check(&h, JSON).unwrap_err();
            assert_eq!(e.status(), 403);
            assert!(e.to_string().contains(site), "{e}");
            // Reads are not writes: a page may look, as it may load an image.
            assert_eq!(p.check(&Head { method: "GET", ..h }, JSON), Ok(()));
        }
        for site in ["same-origin", "none"] {
            let h = Head {
                sec_fetch_site: Some(site.as_bytes()),
                ..head("DELETE", "127.0.0.1:8080")
            };
            assert_eq!(p.check(&h, JSON), Ok(()), "{site}");
        }
    }

    #[test]
    fn writes_whose_origin_is_not_the_host_are_refused() {
        let p = HostPolicy::new(&["mock.example"]).unwrap();
        let with = |origin: &'static str, host: &'static str| Head {
            origin: Some(origin.as_bytes()),
            ..head("PUT", host)
        };
        for (origin, host) in [
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://LOCALHOST:8089", "localhost:8089"),
            ("http://mock.example", "mock.example"),
            ("http://mock.example", "mock.example:80"),
            ("https://mock.example", "mock.example"),
            ("http://[::1]:8080", "[::1]:8080"),
        ] {
            assert_eq!(
                p.check(&with(origin, host), JSON),
                Ok(()),
                "{origin} {host}"
            );
        }
        for (origin, host) in [
            ("http://127.0.0.1:9999", "127.0.0.1:8080"),
            ("http://127.0.0.2:8080", "127.0.0.1:8080"),
            ("null", "127.0.0.1:8080"),
            ("https://mock.example", "mock.example:80"),
            ("ftp://127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://127.0.0.1:8080", "localhost:8080"),
        ] {
            let e = p.check(&with(origin, host), JSON).unwrap_err();
            assert_eq!(e, Refusal::CrossOrigin(format!("Origin: {origin}")));
        }
        // An Origin with no Host to compare it to is another origin.
        let no_host = Head {
            method: "POST",
            origin: Some(b"http://127.0.0.1:8080"),
            ..Head::default()
        };
        assert_eq!(p.check(&no_host, JSON).unwrap_err().status(), 403);
    }

    #[test]
    fn a_write_with_a_body_must_be_json() {
        let p = HostPolicy::default();
        let with = |content_type: Option<&'static str>| Head {
            content_type: content_type.map(str::as_bytes),
            has_body: true,
            ..head("POST", "127.0.0.1:8080")
        };
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
        ] {
            assert_eq!(p.check(&with(Some(ok)), JSON), Ok(()), "{ok}");
        }
        for bad in [Some("text/plain"), Some("application/jsonx"), None] {
            let e = p.check(&with(bad), JSON).unwrap_err();
            assert_eq!(e.status(), 415);
            let says = e.to_string();
            assert!(says.contains("Content-Type: application/json"), "{says}");
            assert!(says.contains(bad.unwrap_or("none")), "{says}");
        }
        // No body (POST /stop), or a read: no type to check.
        assert_eq!(
            p.check(
                &Head {
                    has_body: false,
                    ..with(None)
                },
                JSON
            ),
            Ok(())
        );
        assert_eq!(
            p.check(
                &Head {
                    method: "GET",
                    ..with(None)
                },
                JSON
            ),
            Ok(())
        );
        // A route that also takes forms (Locust's POST /swarm) says so.
        let form = with(Some("application/x-www-form-urlencoded"));
        assert_eq!(p.check(&form, JSON_OR_FORM), Ok(()));
        // ... and a form from another site is still refused there.
        let cross = Head {
            origin: Some(b"http://evil.example"),
            ..form
        };
        assert_eq!(p.check(&cross, JSON_OR_FORM).unwrap_err().status(), 403);
        assert!(
            p.check(&form, JSON)
                .unwrap_err()
                .to_string()
                .contains("(given: application/x-www-form-urlencoded)")
        );
    }
}
