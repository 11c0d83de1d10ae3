//! `--web` on hey mode (`-z`) and `scenario run`: a read-only page of the run going on (status,
//! elapsed, the timeline's step and phase, the per-target table, charts drawn in the browser from
//! polled snapshots) with the swarm page's split panel, and its JSON API on the same address:
//!
//! - `GET /stats`: a [`RunSnapshot`](engine::load::run_view::RunSnapshot), read only when asked;
//! - `GET /split`, `POST /split {"good":100}`: the live split, as on the swarm page.
//!
//! The server pieces (headers, CSP, assets, bodies) are the swarm page's, from `web`.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use webui::guard::HostPolicy;

use crate::web::reply::{body, error, file, json, not_allowed, page_file};
use engine::load::run_view::RunView;
use engine::serve::Access;

const INDEX: &str = include_str!("../../ui/run.html");
/// The page's own files, beside the shared ones from `webui`; `split.js` and `swarm.css` are
/// the swarm page's, shared.
const PAGE: &[(&str, &str)] = &[
    ("run.js", include_str!("../../ui/run.js")),
    ("split.js", include_str!("../../ui/split.js")),
    ("swarm.css", include_str!("../../ui/swarm.css")),
];

/// Serves the run page and its API on `listener` until `shutdown`, answering the names in
/// `hosts`.
pub async fn serve(
    view: Arc<RunView>,
    listener: TcpListener,
    hosts: HostPolicy,
    shutdown: impl Future<Output = ()>,
) {
    engine::serve::serve(listener, shutdown, Access::Guarded(hosts), move |req| {
        let view = view.clone();
        async move { respond(&view, req).await }
    })
    .await;
}

/// Answers one request.
pub async fn respond(view: &Arc<RunView>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let get = method == Method::GET || method == Method::HEAD;
    match (path.as_str(), get) {
        ("/", true) => file(INDEX, "text/html; charset=utf-8"),
        ("/stats", true) => json(StatusCode::OK, &view.snapshot()),
        ("/split", _) => split(view, req).await,
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

/// `GET`/`POST /split` on the run's split; a run that ended can be read, not changed.
async fn split(view: &Arc<RunView>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(split) = view.split() else {
        return error(
            StatusCode::NOT_FOUND,
            "this run has one target: there is no split to change (give several --target)",
        );
    };
    let method = req.method().clone();
    if method == Method::POST && view.is_finished() {
        return error(
            StatusCode::CONFLICT,
            "the run has ended: its split can be read, not changed",
        );
    }
    let body = match body(req).await {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let (status, doc) = crate::split_api::handle_split(split, &method, &body);
    json(status, &doc)
}
