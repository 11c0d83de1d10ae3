//! `loadgen journey --web`: Locust's swarm page, served by loadgen itself. The page (embedded
//! from `loadgen/ui/`, charts from the shared `webui` helper, no inline script) polls
//! `GET /stats`; its buttons are the same JSON API a script can call:
//!
//! - `GET /stats`: state, users, rates, the per-endpoint table, failures with when each kind was
//!   first and last seen ([`live::StatsDoc`]);
//! - `GET /history?epoch=E&after=T`: the charts' points, kept by loadgen in a fixed-size ring
//!   (`history`): the whole series for a page that has none of it, then only the new points;
//! - `POST /swarm {"users":5,"spawn_rate":1,"host":"http://..","run_time":"30s","journey":"workshop"}`:
//!   starts a run, or while one goes on changes its users and spawn rate (up or down);
//! - `POST /stop`, `POST /reset`;
//! - `GET /split`, `POST /split {"good":100}` with several targets: `split_api`'s API, mounted
//!   here on the page's run (and on the run page of hey mode and timelines, `run_page`);
//! - `GET /stats/requests.csv` (Locust's statistics CSV), `GET /report.json` and
//!   `GET /report.html` (the self-contained report `--html` writes; its time-series charts need
//!   `--html`, which samples the run once a second).
//!
//! Locust's own API is answered beside it (`locust`, `locust_stats`, `locust_csv`): `POST /swarm` with a
//! form, `GET /stats/requests`, Locust's CSVs, `/exceptions`, `/stats/report`, `POST
//! /stats/reset`; `POST /swarm` and `POST /stop` answer Locust's `success` and `message` too.
//!
//! `swarm_state` holds the state and what the buttons do, `live` builds the polled document,
//! `history` keeps the charts, `reply` the answers every page sends.

pub mod history;
pub mod live;
mod locust;
mod locust_csv;
pub mod locust_stats;
mod reply;
pub mod run_page;
pub mod swarm_state;
mod window;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use webui::guard::HostPolicy;

use crate::output::{OutputFormat, Render};
use crate::web::reply::{Files, body, download, error, json, not_allowed, route, split_answer};
use engine::serve::Access;
pub use swarm_state::{FormError, Status, SwarmForm, Web, WebOptions};

/// The page's own files, beside the shared ones from `webui`.
const FILES: Files = Files {
    index: include_str!("../../ui/swarm.html"),
    own: &[
        ("swarm.js", include_str!("../../ui/swarm.js")),
        ("split.js", include_str!("../../ui/split.js")),
        ("swarm.css", include_str!("../../ui/swarm.css")),
    ],
};

/// What a `--web` page serves from: the swarm page's [`Web`], the run page's `RunView`.
pub trait Page: Send + Sync + 'static {
    /// Answers one request.
    fn respond(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send;
}

impl Page for Web {
    async fn respond(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        respond(&self, req).await
    }
}

/// Serves `page` and its API on `listener` until `shutdown`, answering the names in `hosts`.
pub async fn serve<P: Page>(
    page: Arc<P>,
    listener: TcpListener,
    hosts: HostPolicy,
    shutdown: impl Future<Output = ()>,
) {
    engine::serve::serve(listener, shutdown, Access::Guarded(hosts), move |req| {
        page.clone().respond(req)
    })
    .await;
}

/// Answers one request.
pub async fn respond(web: &Arc<Web>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path, get) = route(&req);
    match (path.as_str(), get) {
        ("/stats", true) => json(StatusCode::OK, &web.stats()),
        ("/history", true) => match history::Since::parse(req.uri().query()) {
            Ok(since) => json(StatusCode::OK, &web.history(since)),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        ("/stats/requests.csv", true) => match web.report() {
            Some(r) => {
                let mut out = Vec::new();
                let _ = r.render(OutputFormat::Csv, &mut out);
                download(out, "text/csv; charset=utf-8", "requests.csv")
            }
            None => no_run(),
        },
        ("/report.html", true) => match web.report() {
            // A download, opened from disk: the file carries its own policy (no network), and
            // this server's `script-src 'self'` would block its inline script if shown here.
            Some(r) => download(
                r.to_text(OutputFormat::Html)
                    .unwrap_or_default()
                    .into_bytes(),
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
        ("/swarm", false) if method == Method::POST => swarm(web, req).await,
        ("/split", _) => split(web, req).await,
        ("/stop", false) if method == Method::POST => match web.stop() {
            Ok(()) => json(
                StatusCode::OK,
                &serde_json::json!({"success": true, "message": "Test stopped"}),
            ),
            Err(e) => locust::refused(web, StatusCode::CONFLICT, &e),
        },
        ("/reset", false) if method == Method::POST => match web.reset() {
            Ok(()) => json(StatusCode::OK, &serde_json::json!({})),
            Err(e) => locust::refused(web, StatusCode::CONFLICT, &e),
        },
        ("/swarm" | "/stop" | "/reset", _) => not_allowed(&method, "POST"),
        (p, _) if locust::ROUTES.contains(&p) => locust::respond(web, req).await,
        (other, true) => FILES.get(other),
        (_, false) => not_allowed(&method, "GET"),
    }
}

/// `POST /swarm`: Locust's form (answered as Locust does), or our JSON (4xx for bad input);
/// both answer Locust's `success`, `message` and `host` beside `state`.
async fn swarm(web: &Arc<Web>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let form_body = locust::is_form(&req);
    let b = match body(req).await {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if form_body {
        return locust::swarm_form(web, &b).await;
    }
    let form = if b.iter().all(u8::is_ascii_whitespace) {
        SwarmForm::default()
    } else {
        match scenarios::json::from_slice::<SwarmForm>(&b) {
            Ok(f) => f,
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body: {e}")),
        }
    };
    match web.swarm(form).await {
        Ok(state) => json(StatusCode::OK, &locust::started(web, state, None)),
        Err(e @ (FormError::NotRunning(_) | FormError::Starting)) => {
            locust::refused(web, StatusCode::CONFLICT, &e)
        }
        Err(e) => locust::refused(web, StatusCode::BAD_REQUEST, &e),
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
    if req.method() == Method::POST && !running {
        return error(
            StatusCode::CONFLICT,
            "the run has ended: start one to change its split",
        );
    }
    split_answer(&split, req).await
}

fn no_run() -> Response<Full<Bytes>> {
    error(StatusCode::NOT_FOUND, "no run yet: start one first")
}
