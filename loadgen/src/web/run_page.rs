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

use crate::web::Page;
use crate::web::reply::{Files, error, json, not_allowed, route, split_answer};
use engine::load::run_view::RunView;

/// The page's own files, beside the shared ones from `webui`; `split.js` and `swarm.css` are
/// the swarm page's, shared.
const FILES: Files = Files {
    index: include_str!("../../ui/run.html"),
    own: &[
        ("run.js", include_str!("../../ui/run.js")),
        ("split.js", include_str!("../../ui/split.js")),
        ("swarm.css", include_str!("../../ui/swarm.css")),
    ],
};

impl Page for RunView {
    async fn respond(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        respond(&self, req).await
    }
}

/// Answers one request.
pub async fn respond(view: &Arc<RunView>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path, get) = route(&req);
    match (path.as_str(), get) {
        ("/stats", true) => json(StatusCode::OK, &view.snapshot()),
        ("/split", _) => split(view, req).await,
        (other, true) => FILES.get(other),
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
    if req.method() == Method::POST && view.is_finished() {
        return error(
            StatusCode::CONFLICT,
            "the run has ended: its split can be read, not changed",
        );
    }
    split_answer(split, req).await
}
