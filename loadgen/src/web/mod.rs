//! `loadgen journey --web`: Locust's swarm page, served by loadgen itself. The page (embedded
//! from `loadgen/ui/`, charts from the shared `webui` helper, no inline script) polls
//! `GET /stats`; its buttons are the same JSON API a script can call:
//!
//! - `GET /stats`: state, users, rates, the per-endpoint table, failures ([`live::StatsDoc`]);
//! - `POST /swarm {"users":5,"spawn_rate":1,"host":"http://..","run_time":"30s","journey":"workshop"}`:
//!   starts a run, or while one goes on changes its users and spawn rate (up or down);
//! - `POST /stop`, `POST /reset`;
//! - `GET /split`, `POST /split {"good":100}` with several targets: `split_api`'s API, mounted
//!   here on the page's run (and on the run page of hey mode and timelines, `run_page`);
//! - `GET /stats/requests.csv` (Locust's statistics CSV), `GET /report.json` and
//!   `GET /report.html` (the self-contained report `--html` writes; its time-series charts need
//!   `--html`, which samples the run once a second).
//!
//! `swarm_state` holds the state and what the buttons do, `live` builds the polled document.

pub mod live;
pub mod run_page;
pub mod swarm_state;
mod window;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_DISPOSITION, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;
use webui::guard::HostPolicy;

use engine::journey::report;
use engine::serve::{Access, secured};
pub use swarm_state::{FormError, Status, SwarmForm, Web, WebOptions};

const INDEX: &str = include_str!("../../ui/swarm.html");
/// The page's own files, beside the shared ones from `webui`.
const PAGE: &[(&str, &str)] = &[
    ("swarm.js", include_str!("../../ui/swarm.js")),
    ("split.js", include_str!("../../ui/split.js")),
    ("swarm.css", include_str!("../../ui/swarm.css")),
];
/// The largest request body the API reads (a form is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Serves the page and its API on `listener` until `shutdown`, answering the names in `hosts`.
pub async fn serve(
    web: Arc<Web>,
    listener: TcpListener,
    hosts: HostPolicy,
    shutdown: impl Future<Output = ()>,
) {
    engine::serve::serve(listener, shutdown, Access::Guarded(hosts), move |req| {
        let web = web.clone();
        async move { respond(&web, req).await }
    })
    .await;
}

/// Answers one request.
pub async fn respond(web: &Arc<Web>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let get = method == Method::GET || method == Method::HEAD;
    match (path.as_str(), get) {
        ("/", true) => file(INDEX, "text/html; charset=utf-8"),
        ("/stats", true) => json(StatusCode::OK, &web.stats()),
        ("/stats/requests.csv", true) => match web.report() {
            Some(r) => {
                let mut out = Vec::new();
                let _ = report::csv(&mut out, &r);
                download(out, "text/csv; charset=utf-8", "requests.csv")
            }
            None => no_run(),
        },
        ("/report.html", true) => match web.report() {
            // A download, opened from disk: the file carries its own policy (no network), and
            // this server's `script-src 'self'` would block its inline script if shown here.
            Some(r) => download(
                engine::output::html_report::render(&report::html_page(&r)).into_bytes(),
                "text/html; charset=utf-8",
                "report.html",
            ),
            None => no_run(),
        },
        ("/report.json", true) => match web.report() {
            Some(r) => download(
                serde_json::to_vec_pretty(&r).unwrap_or_default(),
                "application/json",
                "report.json",
            ),
            None => no_run(),
        },
        ("/swarm", false) if method == Method::POST => {
            let form = match body(req).await {
                Ok(b) if b.iter().all(u8::is_ascii_whitespace) => SwarmForm::default(),
                Ok(b) => match scenarios::json::from_slice::<SwarmForm>(&b) {
                    Ok(f) => f,
                    Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body: {e}")),
                },
                Err(e) => return error(StatusCode::BAD_REQUEST, &e),
            };
            done(web.swarm(form).await.map(|s| json!({"state": s})))
        }
        ("/split", _) => split(web, req).await,
        ("/stop", false) if method == Method::POST => done(web.stop().map(|()| json!({}))),
        ("/reset", false) if method == Method::POST => done(web.reset().map(|()| json!({}))),
        ("/swarm" | "/stop" | "/reset", _) => not_allowed(&method, "POST"),
        (other, true) => {
            let name = other.trim_start_matches('/');
            match webui::asset(name) {
                Some(a) => file(a.body, a.content_type),
                None => page_file(PAGE, name),
            }
        }
        (_, false) => not_allowed(&method, "GET"),
    }
}

/// `GET`/`POST /split`: the same logic as the run page's, on the current run's split; a run that
/// ended can be read, not changed.
async fn split(web: &Arc<Web>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (split, running) = match web.split() {
        Ok(s) => s,
        Err(e @ FormError::OneTarget) => return error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => return error(StatusCode::CONFLICT, &e.to_string()),
    };
    let method = req.method().clone();
    if method == Method::POST && !running {
        return error(
            StatusCode::CONFLICT,
            "the run has ended: start one to change its split",
        );
    }
    let body = match body(req).await {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let (status, doc) = crate::split_api::handle_split(&split, &method, &body);
    json(status, &doc)
}

/// One of a page's own embedded files, by name, or a 404.
pub(crate) fn page_file(
    files: &[(&'static str, &'static str)],
    name: &str,
) -> Response<Full<Bytes>> {
    match files.iter().find(|(n, _)| *n == name) {
        Some((n, body)) => file(body, webui::content_type(n)),
        None => error(StatusCode::NOT_FOUND, "no such page"),
    }
}

/// Reads a request body of at most `MAX_BODY` bytes.
pub(crate) async fn body(req: Request<Incoming>) -> Result<Bytes, String> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(format!("body: {e}")),
    }
}

fn done(r: Result<serde_json::Value, FormError>) -> Response<Full<Bytes>> {
    match r {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e @ (FormError::NotRunning(_) | FormError::Starting)) => {
            error(StatusCode::CONFLICT, &e.to_string())
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

fn no_run() -> Response<Full<Bytes>> {
    error(StatusCode::NOT_FOUND, "no run yet: start one first")
}

pub(crate) fn not_allowed(method: &Method, allow: &'static str) -> Response<Full<Bytes>> {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{method} is not allowed here"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

pub(crate) fn file(body: &'static str, content_type: &'static str) -> Response<Full<Bytes>> {
    secured(
        Response::new(Full::new(Bytes::from_static(body.as_bytes()))),
        content_type,
    )
}

fn download(
    body: Vec<u8>,
    content_type: &'static str,
    name: &'static str,
) -> Response<Full<Bytes>> {
    let mut r = secured(Response::new(Full::new(Bytes::from(body))), content_type);
    let disposition = format!("attachment; filename=\"{name}\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    r
}

pub(crate) fn json<T: serde::Serialize>(status: StatusCode, doc: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(doc).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = secured(
        Response::new(Full::new(Bytes::from(body))),
        "application/json",
    );
    *r.status_mut() = status;
    r
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json(status, &json!({ "error": message }))
}
