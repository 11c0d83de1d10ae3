//! Request handling: routing, the endpoint semantics of the original mock, and `/phase`.
//!
//! Per endpoint, in this order: count the attempt; succeed when a uniform draw in [0, 1) is
//! below the ratio (so 0 never and 1 always succeeds); draw a latency and record it for
//! successes and failures alike; on a chat success draw safety, sentiment and outcome
//! independently. The `movieguru_*` series are recorded on arrival, as the original did; the
//! `http_*` series when the response is ready. In sleep mode the answer waits until the drawn
//! latency has passed since the request arrived.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Body;
use rand::Rng;
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::time::{Duration, Instant};

use crate::bodies::Bodies;
use crate::config::{Config, LatencyMode};
use crate::fault::{Fault, FaultBody};
use crate::metrics::Metrics;
use crate::phase::{MAX_LATENCY_MS, Phase, PhaseError, Ratio, Timed, field_names};
use crate::profile::{self, Profile};
use crate::route::Route;
use crate::state::{PhaseStore, RngSource};

/// Largest request body any route reads; larger ones get a 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const X_REVISION: HeaderName = HeaderName::from_static("x-revision");
const PROMETHEUS_TEXT: HeaderValue =
    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");

pub type HttpResponse = Response<Full<Bytes>>;

/// What a response body is: the canned bytes, or a deliberately broken body.
pub type ResponseBody = Either<Full<Bytes>, FaultBody>;

/// What the connection should do with a request.
pub enum Outcome {
    Respond(Response<ResponseBody>),
    /// Close the connection without an answer; with `reset`, abortively (RST).
    Abort {
        reset: bool,
    },
}

/// How far [`App::begin`] got with a request.
pub enum Begun<B> {
    Done(Outcome),
    /// Something must be waited for first: hand this to [`App::finish`].
    Later(Later<B>),
}

/// A request with waiting left to do.
pub struct Later<B> {
    request: Arrived,
    step: Step<B>,
}

/// What a request keeps once its answer has begun: the head itself is dropped early.
struct Arrived {
    arrival: Instant,
    route: Route,
    method: Method,
    fault: Option<(Fault, Timed)>,
}

enum Step<B> {
    /// The route takes a body: read it, then answer (and wait, in sleep mode).
    ReadBody(B),
    /// The answer is ready; sleep mode holds it until the drawn latency has passed.
    Wait(HttpResponse, f64),
    /// The answer was counted, and the fault is never to send it.
    Hang,
}

/// Everything a request needs; shared by all connections.
pub struct App {
    profile: Profile,
    /// `X-Revision` on every answer, so a client of a traffic split sees who answered.
    revision: Option<HeaderValue>,
    phases: PhaseStore,
    metrics: Metrics,
    bodies: Bodies,
    failures: [Bytes; 5],
    mode: LatencyMode,
    rng: RngSource,
    ready: AtomicBool,
    admin_token: Option<Vec<u8>>,
}

impl App {
    pub fn new(config: &Config, metrics: Metrics) -> App {
        let phases = PhaseStore::new(config.startup_phase.clone(), &metrics);
        App {
            profile: config.profile,
            revision: config
                .revision
                .as_deref()
                .and_then(|r| HeaderValue::from_str(r).ok()),
            phases,
            metrics,
            bodies: Bodies::new(),
            failures: Timed::ALL.map(|t| Bodies::failure(t.label())),
            mode: config.latency_mode,
            rng: RngSource::new(config.seed),
            ready: AtomicBool::new(true),
            admin_token: config.admin_token.as_ref().map(|t| t.as_bytes().to_vec()),
        }
    }

    pub fn phases(&self) -> &PhaseStore {
        &self.phases
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Readiness turns off when shutdown starts, so a load balancer stops sending new work.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Handles a request to its end (for callers that can await; the server uses [`App::begin`]).
    pub async fn handle<B>(&self, req: Request<B>) -> Outcome
    where
        B: Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        match self.begin(req) {
            Begun::Done(outcome) => outcome,
            Begun::Later(later) => self.finish(later).await,
        }
    }

    /// Does everything about a request that needs no waiting, at once: most requests (every one
    /// in record mode that has no body) are answered here, with no future to build or move, and
    /// the request is dropped before hyper reads on, so hyper can reuse its read buffer.
    pub fn begin<B>(&self, req: Request<B>) -> Begun<B> {
        let arrival = Instant::now();
        let route = Route::from_path(req.uri().path());
        let method = req.method().clone();
        let fault = self.draw_fault(route, &method);
        if let Some((Fault::Drop, _)) = fault {
            // Lost before the app: neither the workshop series nor http_* ever hear of it.
            return Begun::Done(Outcome::Abort { reset: true });
        }
        let request = Arrived {
            arrival,
            route,
            method,
            fault,
        };
        // Only the failing profile draws here, but every request takes its place in the seeded
        // sequence, so a seed gives the same draws whatever the profile.
        let failure = if matches!(self.profile, Profile::Failing { .. }) {
            self.profile.injected_failure(route, &mut self.rng.next())
        } else {
            self.rng.skip();
            None
        };
        let (response, wait) = match failure {
            Some(status) => (
                json_response(status, json!({"error": "failing revision"})),
                None,
            ),
            None if route == Route::Phase
                && request.method != Method::GET
                && !self.authorized(&req) =>
            {
                let mut r = json_response(
                    StatusCode::UNAUTHORIZED,
                    json!({"error": "changing the phase needs Authorization: Bearer <admin token>"}),
                );
                r.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                (r, None)
            }
            // Bodies of routes that take one are read (and bounded) before anything is
            // counted, so a refused upload never shows up as an attempt.
            None if takes_body(&request.method) && route != Route::Unmatched => {
                return Begun::Later(Later {
                    request,
                    step: Step::ReadBody(req.into_body()),
                });
            }
            None => {
                drop(req);
                self.route(route, &request.method, &Bytes::new(), arrival)
            }
        };
        match wait {
            Some(ms) if self.mode == LatencyMode::Sleep => Begun::Later(Later {
                request,
                step: Step::Wait(response, ms),
            }),
            _ => match self.conclude(&request, response) {
                Some(outcome) => Begun::Done(outcome),
                None => Begun::Later(Later {
                    request,
                    step: Step::Hang,
                }),
            },
        }
    }

    /// The waiting part of a request [`App::begin`] could not finish.
    pub async fn finish<B>(&self, later: Later<B>) -> Outcome
    where
        B: Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let Later { request, step } = later;
        let response = match step {
            Step::ReadBody(body) => {
                let (response, wait) = match read_body(body).await {
                    Ok(body) => self.route(request.route, &request.method, &body, request.arrival),
                    Err(response) => (response, None),
                };
                if let Some(ms) = wait {
                    self.wait(request.arrival, ms).await;
                }
                response
            }
            Step::Wait(response, ms) => {
                self.wait(request.arrival, ms).await;
                response
            }
            Step::Hang => return hang().await,
        };
        match self.conclude(&request, response) {
            Some(outcome) => outcome,
            None => hang().await,
        }
    }

    /// The answer is final: stamp it, count it, and apply the request's fault. `None` when the
    /// fault is to hang.
    fn conclude(&self, request: &Arrived, mut response: HttpResponse) -> Option<Outcome> {
        if let Some(revision) = &self.revision {
            response.headers_mut().insert(X_REVISION, revision.clone());
        }
        self.metrics.observe_http(
            request.route,
            &request.method,
            response.status(),
            request.arrival.elapsed().as_secs_f64(),
        );
        let Some((fault, endpoint)) = request.fault else {
            return Some(Outcome::Respond(response.map(Either::Left)));
        };
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
                    let over = self.phases.current().latency(endpoint).max_ms;
                    FaultBody::slow(data, Duration::from_millis(over))
                };
                Outcome::Respond(Response::from_parts(parts, Either::Right(body)))
            }
        })
    }

    /// Whether this request is struck by its endpoint's fault (only endpoints the phase times).
    fn draw_fault(&self, route: Route, method: &Method) -> Option<(Fault, Timed)> {
        let endpoint = match (route, method) {
            (Route::Login, &Method::POST) => Timed::Login,
            (Route::Chat, &Method::POST) => Timed::Chat,
            (Route::Startup, &Method::GET) => Timed::Startup,
            (Route::Preferences, &Method::GET) => Timed::PrefGet,
            (Route::Preferences, &Method::POST) => Timed::PrefUpdate,
            _ => return None,
        };
        if !self.phases.may_fault() {
            return None;
        }
        let spec = self.phases.current().fault(endpoint);
        (spec.kind != Fault::None && self.rng.next().random::<f64>() < spec.ratio)
            .then_some((spec.kind, endpoint))
    }

    /// The route's answer, and the latency it drew (waited for in sleep mode).
    fn route(
        &self,
        route: Route,
        method: &Method,
        body: &Bytes,
        arrival: Instant,
    ) -> (HttpResponse, Option<f64>) {
        let now = |response| (response, None);
        match (route, method) {
            (Route::Root, &Method::GET) if self.profile == Profile::Jokes => {
                let mut r = Response::new(Full::new(Bytes::from_static(
                    profile::random_joke(&mut self.rng.next()).as_bytes(),
                )));
                r.headers_mut().insert(CONTENT_TYPE, TEXT);
                now(r)
            }
            (Route::Root, &Method::GET) => now(self.healthcheck(arrival)),
            (Route::Login, &Method::POST) => self.endpoint(Timed::Login),
            (Route::Logout, &Method::GET) => self.logout(),
            (Route::Logout | Route::History, &Method::POST) => {
                // The original answered other methods with an empty 200 and counted nothing;
                // the workshop's Locust file relies on it for these two.
                now(respond(StatusCode::OK, self.bodies.empty.clone()))
            }
            (Route::History, &Method::GET) => {
                now(respond(StatusCode::OK, self.bodies.history.clone()))
            }
            (Route::History, &Method::DELETE) => now(respond(StatusCode::NO_CONTENT, Bytes::new())),
            (Route::Chat, &Method::POST) => self.chat(),
            (Route::Preferences, &Method::GET) => self.endpoint(Timed::PrefGet),
            (Route::Preferences, &Method::POST) => self.endpoint(Timed::PrefUpdate),
            (Route::Startup, &Method::GET) => self.endpoint(Timed::Startup),
            (Route::Phase, &Method::GET) => now(self.phase_document(&self.phases.current())),
            (Route::Phase, &Method::POST) => now(self.post_phase(body)),
            (Route::Phase, &Method::DELETE) => {
                let phase = self.phases.reset(&self.metrics);
                tracing::info!(phase = %phase, "phase reset to the start-up phase");
                now(self.phase_document(&phase))
            }
            (Route::Metrics, &Method::GET) => {
                let mut r = Response::new(Full::new(Bytes::from(self.metrics.encode())));
                r.headers_mut().insert(CONTENT_TYPE, PROMETHEUS_TEXT);
                now(r)
            }
            (Route::Healthz, &Method::GET) => {
                now(json_response(StatusCode::OK, json!({"status": "ok"})))
            }
            (Route::Readyz, &Method::GET) => now(if self.ready.load(Ordering::Relaxed) {
                json_response(StatusCode::OK, json!({"status": "ready"}))
            } else {
                json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"status": "shutting down"}),
                )
            }),
            (Route::Unmatched, _) => now(json_response(
                StatusCode::NOT_FOUND,
                json!({"error": "no such route"}),
            )),
            (route, method) => {
                let mut r = json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    json!({"error": format!("{method} is not allowed here"), "allow": route.allow()}),
                );
                r.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(route.allow()));
                now(r)
            }
        }
    }

    /// Whether a phase change may proceed: always without `--admin-token`, else only with the
    /// token, compared in constant time so its bytes cannot be guessed from response timing.
    fn authorized<B>(&self, req: &Request<B>) -> bool {
        let Some(token) = &self.admin_token else {
            return true;
        };
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .unwrap_or_default();
        bool::from(given.ct_eq(token))
    }

    fn healthcheck(&self, arrival: Instant) -> HttpResponse {
        let h = &self.metrics.health;
        h.attempts.inc();
        let response = respond(StatusCode::OK, self.bodies.health.clone());
        h.latency.observe(arrival.elapsed().as_secs_f64() * 1000.0);
        response
    }

    /// Login, startup and the two preference calls: roll, draw, record; the caller waits.
    fn endpoint(&self, t: Timed) -> (HttpResponse, Option<f64>) {
        let m = match t {
            Timed::Login => &self.metrics.login,
            Timed::Startup => &self.metrics.startup,
            Timed::PrefGet => &self.metrics.pref_get,
            Timed::PrefUpdate => &self.metrics.pref_update,
            Timed::Chat => return self.chat(),
        };
        m.attempts.inc();
        let mut rng = self.rng.next();
        let (ok, ms) = {
            let phase = self.phases.current();
            let ok = rng.random::<f64>() < phase.ratio(t.success());
            (ok, phase.latency(t).sample(&mut rng))
        };
        m.latency.observe(ms);
        let response = if ok {
            m.success.inc();
            let body = match t {
                Timed::Login => &self.bodies.login,
                Timed::Startup => &self.bodies.startup,
                Timed::PrefGet => &self.bodies.preferences,
                Timed::PrefUpdate | Timed::Chat => &self.bodies.preferences_updated,
            };
            respond(StatusCode::OK, body.clone())
        } else {
            self.failure(t)
        };
        (response, Some(ms))
    }

    /// Logout never fails and borrows the login latency range, as in the original.
    fn logout(&self) -> (HttpResponse, Option<f64>) {
        let m = &self.metrics.logout;
        m.attempts.inc();
        let ms = self
            .phases
            .current()
            .latency(Timed::Login)
            .sample(&mut self.rng.next());
        m.latency.observe(ms);
        m.success.inc();
        (
            respond(StatusCode::OK, self.bodies.logout.clone()),
            Some(ms),
        )
    }

    fn chat(&self) -> (HttpResponse, Option<f64>) {
        let m = &self.metrics.chat;
        m.calls.inc();
        let mut rng = self.rng.next();
        let phase = self.phases.current();
        let ok = rng.random::<f64>() < phase.ratio(Ratio::ChatSuccess);
        let ms = phase.latency(Timed::Chat).sample(&mut rng);
        m.latency.observe(ms);
        let response = if ok {
            m.success.inc();
            let unsafe_ = rng.random::<f64>() < phase.ratio(Ratio::ChatSafetyIssue);
            if unsafe_ {
                m.safety_issue.inc();
            }
            m.sentiment[cumulative_choice(&phase.sentiment_weights(), rng.random())].inc();
            m.outcome[cumulative_choice(&phase.outcome_weights(), rng.random())].inc();
            let body = if unsafe_ {
                &self.bodies.chat_unsafe
            } else {
                &self.bodies.chat[rng.random_range(0..self.bodies.chat.len())]
            };
            respond(StatusCode::OK, body.clone())
        } else {
            self.failure(Timed::Chat)
        };
        (response, Some(ms))
    }

    fn failure(&self, t: Timed) -> HttpResponse {
        respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            self.failures[t as usize].clone(),
        )
    }

    /// Sleep mode's wait for the drawn latency, counted from arrival (record mode answers at once).
    async fn wait(&self, arrival: Instant, ms: f64) {
        if self.mode == LatencyMode::Sleep {
            crate::precise::sleep_until(arrival + Duration::from_secs_f64(ms / 1000.0)).await;
        }
    }

    fn post_phase(&self, body: &[u8]) -> HttpResponse {
        match self.phases.update(body, &self.metrics) {
            Ok(phase) => {
                tracing::info!(phase = %phase, "phase changed");
                self.phase_document(&phase)
            }
            Err(e) => {
                tracing::info!(error = %e, "phase rejected");
                json_response(StatusCode::BAD_REQUEST, phase_error_json(&e))
            }
        }
    }

    fn phase_document(&self, phase: &Phase) -> HttpResponse {
        respond(StatusCode::OK, Bytes::from(phase.to_document()))
    }
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

/// Picks index i with probability `weights[i]`; whatever the weights leave over goes to the
/// last (Unclassified) slot, as in the original.
fn cumulative_choice(weights: &[f64; 4], draw: f64) -> usize {
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if draw < acc {
            return i;
        }
    }
    weights.len() - 1
}

/// No answer until the client gives up (bounded by the longest injectable latency), then close.
async fn hang() -> Outcome {
    tokio::time::sleep(Duration::from_millis(MAX_LATENCY_MS)).await;
    Outcome::Abort { reset: false }
}

fn takes_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// The bytes of a `Full` body, which are ready on its first poll (so no waker is ever needed).
fn full_bytes(mut body: Full<Bytes>) -> Bytes {
    match Pin::new(&mut body).poll_frame(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

async fn read_body<B>(body: B) -> Result<Bytes, HttpResponse>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("request body is larger than {MAX_BODY_BYTES} bytes")}),
        )),
        Err(e) => Err(json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("reading the request body: {e}")}),
        )),
    }
}

fn respond(status: StatusCode, body: Bytes) -> HttpResponse {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, JSON);
    r
}

fn json_response(status: StatusCode, doc: serde_json::Value) -> HttpResponse {
    respond(status, Bytes::from(doc.to_string()))
}

#[cfg(test)]
mod tests {
    use super::cumulative_choice;

    #[test]
    fn cumulative_choice_gives_the_remainder_to_unclassified() {
        let w = [0.5, 0.1, 0.05, 0.1];
        assert_eq!(cumulative_choice(&w, 0.0), 0);
        assert_eq!(cumulative_choice(&w, 0.5), 1);
        assert_eq!(cumulative_choice(&w, 0.6499), 2);
        assert_eq!(cumulative_choice(&w, 0.70), 3);
        assert_eq!(cumulative_choice(&w, 0.99), 3);
        // A zero weight is never chosen, even for a draw of exactly 0.
        assert_eq!(cumulative_choice(&[0.0, 1.0, 0.0, 0.0], 0.0), 1);
    }
}
