//! The `/ui` routes: the page, its scripts and styles (embedded in the binary), the data
//! document, the phase presets and the phase's field names. Every answer carries the shared security headers; reads
//! are open, and the page's writes go to `POST /phase`, which checks the admin token itself.

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

use super::Console;
use super::data::WINDOWS;
use crate::metrics::Metrics;

/// The page's own files, beside the shared ones from `webui`.
const PAGE: &[(&str, &str)] = &[
    ("console.js", include_str!("../../ui/console.js")),
    ("console.css", include_str!("../../ui/console.css")),
];
const INDEX: &str = include_str!("../../ui/console.html");

/// Answers a request under `/ui`; `path` is the URI path, `query` its query string.
pub fn respond(
    console: &Console,
    metrics: &Metrics,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": format!("{method} is not allowed here"), "allow": "GET"}),
        );
        r.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    match path.strip_prefix("/ui").unwrap_or(path) {
        "" | "/" => file(INDEX, "text/html; charset=utf-8"),
        "/data" => match window(query) {
            Ok(secs) => json(StatusCode::OK, &console.data(metrics, secs)),
            Err(e) => json(StatusCode::BAD_REQUEST, &e),
        },
        // Every field a phase document may hold: GET /phase leaves out default shapes and faults.
        "/fields" => json(
            StatusCode::OK,
            &json!({"fields": crate::phase::field_names().collect::<Vec<_>>()}),
        ),
        "/presets" => {
            let presets: serde_json::Map<String, serde_json::Value> = scenarios::PRESETS
                .iter()
                .filter_map(|(name, doc)| {
                    Some(((*name).to_owned(), serde_json::from_str(doc).ok()?))
                })
                .collect();
            json(StatusCode::OK, &presets)
        }
        other => {
            let name = other.trim_start_matches('/');
            match webui::asset(name) {
                Some(a) => file(a.body, a.content_type),
                None => match PAGE.iter().find(|(n, _)| *n == name) {
                    Some((n, body)) => file(body, webui::content_type(n)),
                    None => json(StatusCode::NOT_FOUND, &json!({"error": "no such page"})),
                },
            }
        }
    }
}

/// The `window` query parameter: one of the page's windows (`5m`, `15m`, `60m`), 5m if absent.
fn window(query: Option<&str>) -> Result<u64, serde_json::Value> {
    let given = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "window")
        .map(|(_, v)| v.into_owned());
    let Some(given) = given else {
        return Ok(WINDOWS[0].1);
    };
    WINDOWS
        .iter()
        .find(|(name, _)| *name == given)
        .map(|&(_, secs)| secs)
        .ok_or_else(|| {
            let names: Vec<&str> = WINDOWS.iter().map(|w| w.0).collect();
            json!({
                "error": format!("window must be one of {}", names.join(", ")),
                "field": "window",
            })
        })
}

fn secured(mut r: Response<Full<Bytes>>, content_type: &'static str) -> Response<Full<Bytes>> {
    webui::secure_headers(r.headers_mut(), content_type);
    r
}

fn file(body: &'static str, content_type: &'static str) -> Response<Full<Bytes>> {
    secured(
        Response::new(Full::new(Bytes::from_static(body.as_bytes()))),
        content_type,
    )
}

fn json<T: serde::Serialize>(status: StatusCode, doc: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising console data");
        b"{}".to_vec()
    });
    let mut r = secured(
        Response::new(Full::new(Bytes::from(body))),
        "application/json",
    );
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn windows_are_the_three_the_page_offers() {
        assert_eq!(window(None), Ok(300));
        assert_eq!(window(Some("window=15m")), Ok(900));
        assert_eq!(window(Some("x=1&window=60m")), Ok(3600));
        let e = window(Some("window=2h")).unwrap_err();
        assert_eq!(e["field"], "window");
        assert!(e["error"].as_str().unwrap().contains("5m, 15m, 60m"));
    }
}
