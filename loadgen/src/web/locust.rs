//! Locust's own HTTP API on the swarm page (issue 22), beside ours, so that the scripts and
//! exporters written for the workshop's Locust work against the swarm unchanged. Answered as
//! Locust 2.47 answers (`loadgen/tests/contract/locust-2.47.json`, recorded from a real one):
//!
//! - `POST /swarm` with a form (`user_count`, `spawn_rate`, `host`, `run_time`, as Locust's page
//!   and `curl -d` send it): `{success, message, host}`, 200 even when `success` is false,
//!   since that is what Locust's clients read; JSON (ours) answers with the same keys;
//! - `GET /stats/requests`, `/stats/requests/csv`, `/stats/failures/csv` (`locust_stats`);
//! - `GET /exceptions`, `/exceptions/csv`: always empty, the swarm runs no user code to raise;
//! - `GET /stats/report` (`?download=1` to save it): the journey's HTML report;
//! - `POST /stats/reset`: `ok`, as `POST /reset`; `POST /stop` is the page's own.
//!
//! Form posts pass the same guard as JSON ones (`engine::serve`): another site's form is refused
//! by its Origin or Sec-Fetch-Site.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::web::reply::{download, error, file, json, not_allowed};
use crate::web::swarm_state::{FormError, Status, SwarmForm, Web};

/// Locust's routes answered here; `/swarm` and `/stop` are shared with the page's own API.
pub(crate) const ROUTES: &[&str] = &[
    "/stats/requests",
    "/stats/requests/csv",
    "/stats/failures/csv",
    "/exceptions",
    "/exceptions/csv",
    "/stats/report",
    "/stats/reset",
];

/// The message of a swarm call that worked, in Locust's words (scripts compare it).
const STARTED: &str = "Swarming started";

/// Answers one of [`ROUTES`].
pub(crate) async fn respond(web: &Arc<Web>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let get = method == Method::GET || method == Method::HEAD;
    let csv = |body: String, name| download(body.into_bytes(), "text/csv; charset=utf-8", name);
    match (req.uri().path(), get) {
        ("/stats/requests", true) => json(StatusCode::OK, &web.locust_requests()),
        ("/stats/requests/csv", true) => csv(web.locust_requests_csv(), "requests.csv"),
        ("/stats/failures/csv", true) => csv(web.locust_failures_csv(), "failures.csv"),
        ("/exceptions", true) => json(StatusCode::OK, &json!({ "exceptions": [] })),
        ("/exceptions/csv", true) => {
            csv("Count,Message,Traceback,Nodes\r\n".into(), "exceptions.csv")
        }
        ("/stats/report", true) => stats_report(web, req.uri().query()),
        ("/stats/reset", false) if method == Method::POST => match web.reset() {
            Ok(()) => file("ok", "text/html; charset=utf-8"),
            Err(e) => refused(web, StatusCode::CONFLICT, &e),
        },
        ("/stats/reset", _) => not_allowed(&method, "POST"),
        (_, _) => not_allowed(&method, "GET"),
    }
}

/// `GET /stats/report`: the HTML report shown in place, as Locust shows its own. The report's
/// inline script needs the report's own policy (no fetch of any kind) instead of the page's.
fn stats_report(web: &Web, query: Option<&str>) -> Response<Full<Bytes>> {
    let Some(r) = web.report() else {
        return error(StatusCode::NOT_FOUND, "no run yet: start one first");
    };
    let page = crate::output::html::render(&crate::output::html::journey::page(&r)).into_bytes();
    // Locust saves the file with any non-empty `download`.
    let save = query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "download" && !v.is_empty())
    });
    let mut r = if save {
        download(page, "text/html; charset=utf-8", "report.html")
    } else {
        engine::serve::secured(
            Response::new(Full::new(Bytes::from(page))),
            "text/html; charset=utf-8",
        )
    };
    let policy = format!("{}; frame-ancestors 'none'", crate::output::html::CSP);
    if let Ok(v) = HeaderValue::from_str(&policy) {
        r.headers_mut().insert(CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// Whether a request's body is a form, as Locust's page and `curl -d` send it.
pub(crate) fn is_form<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `POST /swarm` with a form, answered as Locust does: 200, `success` saying whether it worked
/// and `message` why not.
pub(crate) async fn swarm_form(web: &Arc<Web>, body: &[u8]) -> Response<Full<Bytes>> {
    let (form, run_time) = match parse_form(body) {
        Ok(f) => f,
        Err(message) => return json(StatusCode::OK, &failed(web, &message)),
    };
    let editing = matches!(web.status(), Status::Spawning | Status::Running);
    match web.swarm(form).await {
        Ok(state) => json(
            StatusCode::OK,
            &started(web, state, run_time.filter(|_| !editing)),
        ),
        Err(e) => json(StatusCode::OK, &failed(web, &e.to_string())),
    }
}

/// The answer to a swarm call that worked: Locust's keys (`run_time` in seconds when one was
/// given to a new run), and ours, `state`.
pub(crate) fn started(web: &Web, state: Status, run_time: Option<Duration>) -> Value {
    let mut doc = json!({
        "success": true,
        "message": STARTED,
        "host": host(web),
        "state": state,
    });
    if let Some(t) = run_time {
        doc["run_time"] = json!(t.as_secs());
    }
    doc
}

/// A swarm call that did not work, as Locust says it.
fn failed(web: &Web, message: &str) -> Value {
    json!({ "success": false, "message": message, "host": host(web) })
}

/// A refusal of the JSON API's kind (`{"error": ...}` with a 4xx), with Locust's keys too.
pub(crate) fn refused(web: &Web, status: StatusCode, e: &FormError) -> Response<Full<Bytes>> {
    let message = e.to_string();
    json(
        status,
        &json!({ "error": message, "success": false, "message": message, "host": host(web) }),
    )
}

/// The host Locust would name: the run's base URL (several targets: each, comma-separated), or
/// the command line's before the first run; empty when there is none yet.
fn host(web: &Web) -> String {
    let form = web.current_form();
    match form.host {
        Some(h) => h,
        None => web
            .targets()
            .iter()
            .map(|(_, url, _)| url.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Locust's form fields, with its messages for a bad one (scripts show them). Other fields (Locust's user-class picker, custom arguments) are left
/// out, as Locust leaves out those it does not know; a field given twice counts its last value.
fn parse_form(body: &[u8]) -> Result<(SwarmForm, Option<Duration>), String> {
    let mut form = SwarmForm::default();
    let mut run_time = None;
    for (key, value) in form_urlencoded::parse(body) {
        let value = value.trim();
        match &*key {
            "user_count" => {
                let n = value.parse::<usize>().map_err(|_| {
                    format!("Invalid user_count value: '{value}' (must be an integer)")
                })?;
                form.users = Some(n);
            }
            "spawn_rate" => {
                let r = value.parse::<f64>().map_err(|_| {
                    format!("Invalid spawn_rate value: '{value}' (must be a number)")
                })?;
                form.spawn_rate = Some(r);
            }
            "host" => form.host = Some(value.to_owned()),
            "run_time" if value.is_empty() => form.run_time = Some(String::new()),
            "run_time" => {
                let t = timespan(value).ok_or_else(|| {
                    "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.".to_owned()
                })?;
                form.run_time = Some(humantime::format_duration(t).to_string());
                run_time = Some(t);
            }
            "journey" => form.journey = Some(value.to_owned()),
            _ => {}
        }
    }
    Ok((form, run_time))
}

/// Locust's `parse_timespan`: bare seconds (`20`) or units (`20s`, `3m`, `1h20m`).
fn timespan(s: &str) -> Option<Duration> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().map(Duration::from_secs);
    }
    humantime::parse_duration(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locust_timespans_are_read_as_locust_reads_them() {
        assert_eq!(timespan("20"), Some(Duration::from_secs(20)));
        assert_eq!(timespan("20s"), Some(Duration::from_secs(20)));
        assert_eq!(timespan("1h20m"), Some(Duration::from_secs(4800)));
        assert_eq!(timespan("3h30m10s"), Some(Duration::from_secs(12610)));
        assert_eq!(timespan("soon"), None);
    }

    #[test]
    fn a_form_fills_the_fields_it_names_and_leaves_out_the_rest() {
        let (form, t) =
            parse_form(b"user_count=3&spawn_rate=0.05&host=http%3A%2F%2F127.0.0.1%3A8080&run_time=90&user_classes=A")
                .unwrap();
        assert_eq!(form.users, Some(3));
        assert_eq!(form.spawn_rate, Some(0.05));
        assert_eq!(form.host.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(form.run_time.as_deref(), Some("1m 30s"));
        assert_eq!(t, Some(Duration::from_secs(90)));
        let (form, t) = parse_form(b"run_time=").unwrap();
        assert_eq!((form.run_time.as_deref(), t), (Some(""), None));
    }

    #[test]
    fn a_bad_field_is_named_in_locusts_words() {
        let e = parse_form(b"user_count=three").unwrap_err();
        assert_eq!(e, "Invalid user_count value: 'three' (must be an integer)");
        assert!(
            parse_form(b"spawn_rate=fast")
                .unwrap_err()
                .contains("spawn_rate")
        );
        assert!(
            parse_form(b"run_time=soon")
                .unwrap_err()
                .contains("run_time")
        );
    }
}
