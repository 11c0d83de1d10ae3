//! Fault application: whether a request is struck by its endpoint's fault (a die, or the
//! endpoint's exact fault sequence), and what becomes of its (already counted) answer when it is.

use http::{Method, Response};
use http_body_util::Either;
use rand::Rng;
use tokio::time::Duration;

use super::response::{HttpResponse, Outcome, full_bytes};
use super::shared::Shared;
use crate::answer::fault::{Fault, FaultBody};
use crate::phase::{MAX_LATENCY_MS, Timed};
use crate::route::Route;

/// Whether this request is struck by its endpoint's fault (only endpoints the phase times).
pub fn draw(s: &Shared, route: Route, method: &Method) -> Option<(Fault, Timed)> {
    let endpoint = match (route, method) {
        (Route::Login, &Method::POST) => Timed::Login,
        (Route::Chat, &Method::POST) => Timed::Chat,
        (Route::Startup, &Method::GET) => Timed::Startup,
        (Route::Preferences, &Method::GET) => Timed::PrefGet,
        (Route::Preferences, &Method::POST) => Timed::PrefUpdate,
        _ => return None,
    };
    if !s.phases.may_fault() {
        return None;
    }
    let spec = s.phases.current().fault(endpoint);
    let struck = spec.kind != Fault::None
        && match s.draws.exact() {
            None => s.rng.next().random::<f64>() < spec.ratio,
            Some(x) => x.fault(endpoint, spec.ratio),
        };
    struck.then_some((spec.kind, endpoint))
}

/// What the connection does with `response` under `fault`; `None` when the fault is to hang.
pub fn apply(s: &Shared, fault: Fault, endpoint: Timed, response: HttpResponse) -> Option<Outcome> {
    Some(match fault {
        Fault::None | Fault::Drop => Outcome::Respond(response.map(Either::Left)),
        Fault::Reset => Outcome::Abort { reset: true },
        Fault::Empty => Outcome::Abort { reset: false },
        Fault::Hang => return None,
        Fault::Truncated | Fault::SlowBody => {
            let (mut parts, body) = response.into_parts();
            let data = full_bytes(body);
            // The headers promise the whole body, so a short one is visibly cut off.
            parts
                .headers
                .insert(http::header::CONTENT_LENGTH, data.len().into());
            let body = if fault == Fault::Truncated {
                FaultBody::truncated(data)
            } else {
                let over = s.phases.current().latency(endpoint).max_ms;
                FaultBody::slow(data, Duration::from_millis(over))
            };
            Outcome::Respond(Response::from_parts(parts, Either::Right(body)))
        }
    })
}

/// No answer until the client gives up (bounded by the longest injectable latency), then close.
pub async fn hang() -> Outcome {
    tokio::time::sleep(Duration::from_millis(MAX_LATENCY_MS)).await;
    Outcome::Abort { reset: false }
}
