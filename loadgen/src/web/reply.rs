//! The answers every page of `--web` sends, in one place: JSON documents and errors, embedded
//! files, downloads, 405s, and the bounded read of a request body. Each answer carries the
//! shared security headers (`engine::serve::secured`).

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_DISPOSITION, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;

use engine::serve::secured;

/// The largest request body the API reads (a form is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// A page's embedded files: its HTML at `/`, then the shared `webui` assets, then its own.
pub(crate) struct Files {
    pub index: &'static str,
    pub own: &'static [(&'static str, &'static str)],
}

impl Files {
    /// The file at `path`, or a 404.
    pub(crate) fn get(&self, path: &str) -> Response<Full<Bytes>> {
        if path == "/" {
            return file(self.index, "text/html; charset=utf-8");
        }
        let name = path.trim_start_matches('/');
        match webui::asset(name) {
            Some(a) => file(a.body, a.content_type),
            None => page_file(self.own, name),
        }
    }
}

/// A request's method, its path, and whether it only reads (`GET` or `HEAD`).
pub(crate) fn route<B>(req: &Request<B>) -> (Method, String, bool) {
    let method = req.method().clone();
    let get = method == Method::GET || method == Method::HEAD;
    (method, req.uri().path().to_owned(), get)
}

/// `GET`/`POST /split` on `split` once the page has checked the run may be changed.
pub(crate) async fn split_answer(
    split: &engine::load::live_split::LiveSplit,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let body = match body(req).await {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let (status, doc) = crate::split_api::handle_split(split, &method, &body);
    json(status, &doc)
}

/// One of a page's own embedded files, by name, or a 404.
fn page_file(files: &[(&'static str, &'static str)], name: &str) -> Response<Full<Bytes>> {
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

/// A body the browser saves as `name` rather than shows.
pub(crate) fn download(
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
