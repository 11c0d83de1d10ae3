//! The operator's routes: reading and changing the phase (behind the admin token when one is
//! set), readiness, liveness and the metrics exposition.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Body;
use serde_json::json;
use subtle::ConstantTimeEq;
use webui::guard::{self, HostPolicy};

use super::response::{HttpResponse, PROMETHEUS_TEXT, json_response, respond};
use super::shared::Shared;
use crate::phase::{Phase, PhaseError, field_names};

pub struct Admin {
    token: Option<Vec<u8>>,
    /// The names `/phase` and `/ui` answer, beside addresses and localhost.
    hosts: HostPolicy,
    ready: AtomicBool,
}

impl Admin {
    pub fn new(token: Option<&str>, hosts: HostPolicy) -> Admin {
        Admin {
            token: token.map(|t| t.as_bytes().to_vec()),
            hosts,
            ready: AtomicBool::new(true),
        }
    }

    /// Readiness turns off when shutdown starts, so a load balancer stops sending new work.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether a phase change may proceed: always without `--admin-token`, else only with the
    /// token, compared in constant time so its bytes cannot be guessed from response timing.
    pub fn authorized<B>(&self, req: &Request<B>) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| bearer_token(v.as_bytes()))
            .unwrap_or_default();
        bool::from(given.ct_eq(token))
    }

    /// The cross-origin guard of the operator's routes: a foreign `Host` (DNS rebinding), a
    /// browser's cross-origin write, or a phase not sent as JSON gets this answer, its reason.
    pub fn refusal<B: Body>(&self, req: &Request<B>) -> Option<HttpResponse> {
        let has_body = !req.body().is_end_stream();
        self.hosts
            .check_request(req, has_body, guard::JSON)
            .err()
            .map(|refusal| {
                let status =
                    StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
                tracing::info!(refused = %refusal, "operator request refused");
                json_response(status, json!({"error": refusal.to_string()}))
            })
    }

    /// False from the start of shutdown.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn unauthorized() -> HttpResponse {
        let mut r = json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "changing the phase needs Authorization: Bearer <admin token>"}),
        );
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    }

    pub fn readyz(&self) -> HttpResponse {
        if self.is_ready() {
            json_response(StatusCode::OK, json!({"status": "ready"}))
        } else {
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "shutting down"}),
            )
        }
    }

    pub fn healthz() -> HttpResponse {
        json_response(StatusCode::OK, json!({"status": "ok"}))
    }

    pub fn metrics(s: &Shared) -> HttpResponse {
        let mut r = Response::new(Full::new(Bytes::from(s.metrics.encode())));
        r.headers_mut().insert(CONTENT_TYPE, PROMETHEUS_TEXT);
        r
    }

    pub fn get_phase(s: &Shared) -> HttpResponse {
        phase_document(&s.phases.current())
    }

    pub fn post_phase(s: &Shared, body: &[u8]) -> HttpResponse {
        match s.phases.update(body, &s.metrics) {
            Ok(phase) => {
                tracing::info!(phase = %phase, "phase changed");
                phase_document(&phase)
            }
            Err(e) => {
                tracing::info!(error = %e, "phase rejected");
                json_response(StatusCode::BAD_REQUEST, phase_error_json(&e))
            }
        }
    }

    pub fn delete_phase(s: &Shared) -> HttpResponse {
        let phase = s.phases.reset(&s.metrics);
        tracing::info!(phase = %phase, "phase reset to the start-up phase");
        phase_document(&phase)
    }
}

fn phase_document(phase: &Phase) -> HttpResponse {
    respond(StatusCode::OK, Bytes::from(phase.to_document()))
}

/// The 400 body for a refused phase: what was wrong and which field, plus the valid keys when
/// the problem was an unknown one.
pub fn phase_error_json(e: &PhaseError) -> serde_json::Value {
    let mut doc = json!({"error": e.to_string(), "field": e.field()});
    if matches!(e, PhaseError::UnknownField { .. }) {
        doc["valid_fields"] = field_names().collect();
    }
    doc
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110 section 11.1), so
/// `bearer` and `BEARER` count too, and one or more spaces may follow it.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(b"Bearer".len())?;
    if !scheme.eq_ignore_ascii_case(b"Bearer") || !rest.starts_with(b" ") {
        return None;
    }
    Some(rest.trim_ascii_start())
}
