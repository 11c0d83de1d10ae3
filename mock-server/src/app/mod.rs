//! A request's way through the app: the route table's dispatch, the request body, sleep mode's
//! wait, and the `http_*` series recorded when the answer is ready.
//!
//! The handlers live one floor down, one concern each: `endpoints` (the Movie Guru semantics),
//! `faults` (fault injection), `admin` (phase, readiness, metrics); they share `shared` (the phase
//! store, metrics and random source) and `response` (the answer types). None imports this file.

mod admin;
mod endpoints;
mod faults;
mod response;
mod shared;

use bytes::Bytes;
use http::header::{ALLOW, CONNECTION, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Either, Limited};
use hyper::body::Body;
use serde_json::json;
use tokio::time::{Duration, Instant};

pub use self::admin::phase_error_json;
pub use self::response::{HttpResponse, Outcome, ResponseBody};

use self::admin::Admin;
use self::endpoints::{Drawn, Endpoints};
use self::response::json_response;
use self::shared::Shared;
use crate::answer::fault::Fault;
use crate::answer::profile::Profile;
use crate::config::{Config, LatencyMode};
use crate::console::{self, Console};
use crate::metrics::Metrics;
use crate::phase::Timed;
use crate::route::Route;
use crate::state::draw::Draws;
use crate::state::{PhaseStore, RngSource};

/// Largest request body any route reads; larger ones get a 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const X_REVISION: HeaderName = HeaderName::from_static("x-revision");

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
    mode: LatencyMode,
    /// How long a request body may take to arrive, from the request's arrival.
    body_timeout: Duration,
    shared: Shared,
    endpoints: Endpoints,
    admin: Admin,
    console: Console,
}

impl App {
    pub fn new(config: &Config, metrics: Metrics) -> App {
        let phases = PhaseStore::new(config.startup_phase.clone(), &metrics);
        let console = Console::new(config, &metrics);
        App {
            profile: config.profile,
            revision: config
                .revision
                .as_deref()
                .and_then(|r| HeaderValue::from_str(r).ok()),
            mode: config.latency_mode,
            body_timeout: config.body_read_timeout(),
            shared: Shared {
                phases,
                metrics,
                rng: RngSource::new(config.seed),
                draws: Draws::new(config.draws, config.seed),
            },
            endpoints: Endpoints::new(),
            admin: Admin::new(config.admin_token.as_deref(), config.allowed_hosts.clone()),
            console,
        }
    }

    /// The console's samples and page (its sampler is started by [`crate::run`]).
    pub fn console(&self) -> &Console {
        &self.console
    }

    pub fn phases(&self) -> &PhaseStore {
        &self.shared.phases
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Readiness turns off when shutdown starts, so a load balancer stops sending new work.
    pub fn set_ready(&self, ready: bool) {
        self.admin.set_ready(ready);
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
    pub fn begin<B: Body>(&self, req: Request<B>) -> Begun<B> {
        let arrival = Instant::now();
        let route = Route::from_path(req.uri().path());
        let method = req.method().clone();
        if chunked_twice(req.headers()) {
            return Begun::Done(self.framing_refused(route, &method, arrival));
        }
        let fault = faults::draw(&self.shared, route, &method);
        if let Some((Fault::Drop, _)) = fault {
            // Lost before the app: neither the workshop series nor http_* ever hear of it.
            return Begun::Done(Outcome::Abort { reset: true });
        }
        // The operator's routes answer only their own names and same-origin writes (issue 24);
        // the mocked API answers any name, at no cost.
        let refused = match route {
            Route::Phase | Route::Ui => self.admin.refusal(&req),
            _ => None,
        };
        let request = Arrived {
            arrival,
            route,
            method,
            fault,
        };
        // Only the failing profile draws here, but every request takes its place in the seeded
        // sequence, so a seed gives the same draws whatever the profile.
        let failure = if matches!(self.profile, Profile::Failing { .. }) {
            self.profile
                .injected_failure(route, &mut self.shared.rng.next())
        } else {
            self.shared.rng.skip();
            None
        };
        let (response, wait) = match (failure, refused) {
            (Some(status), _) => (
                json_response(status, json!({"error": "failing revision"})),
                None,
            ),
            (None, Some(refused)) => (refused, None),
            (None, None)
                if route == Route::Phase
                    && request.method != Method::GET
                    && !self.admin.authorized(&req) =>
            {
                (Admin::unauthorized(), None)
            }
            // The console needs the path and query, which the route table does not carry; it
            // answers every method itself (405 for writes: those go to /phase).
            (None, None) if route == Route::Ui => {
                let r = console::page::respond(
                    &self.console,
                    &self.shared.metrics,
                    &request.method,
                    req.uri().path(),
                    req.uri().query(),
                );
                drop(req);
                (r, None)
            }
            // Bodies of routes that take one are read (and bounded) before anything is
            // counted, so a refused upload never shows up as an attempt.
            (None, None) if takes_body(&request.method) && route != Route::Unmatched => {
                return Begun::Later(Later {
                    request,
                    step: Step::ReadBody(req.into_body()),
                });
            }
            (None, None) => {
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
                let deadline = request.arrival + self.body_timeout;
                let read = match tokio::time::timeout_at(deadline, read_body(body)).await {
                    Ok(read) => read,
                    Err(_) => return self.body_timed_out(&request),
                };
                let (response, wait) = match read {
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
            Step::Hang => return faults::hang().await,
        };
        match self.conclude(&request, response) {
            Some(outcome) => outcome,
            None => faults::hang().await,
        }
    }

    /// A request whose body framing is ambiguous: a 400, counted, and the connection closed,
    /// since where its body ends is not known.
    fn framing_refused(&self, route: Route, method: &Method, arrival: Instant) -> Outcome {
        let mut r = json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "Transfer-Encoding names chunked more than once"}),
        );
        r.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        self.shared.metrics.observe_http(
            route,
            method,
            StatusCode::BAD_REQUEST,
            arrival.elapsed().as_secs_f64(),
        );
        Outcome::Respond(r.map(Either::Left))
    }

    /// A body that did not arrive in time: the connection is closed without an answer (a client
    /// that stalls its upload would not read one), and the request is counted as a 408.
    fn body_timed_out(&self, request: &Arrived) -> Outcome {
        self.shared.metrics.observe_http(
            request.route,
            &request.method,
            StatusCode::REQUEST_TIMEOUT,
            request.arrival.elapsed().as_secs_f64(),
        );
        Outcome::Abort { reset: false }
    }

    /// The answer is final: stamp it, count it, and apply the request's fault. `None` when the
    /// fault is to hang.
    fn conclude(&self, request: &Arrived, mut response: HttpResponse) -> Option<Outcome> {
        if let Some(revision) = &self.revision {
            response.headers_mut().insert(X_REVISION, revision.clone());
        }
        if !self.admin.is_ready() {
            // Draining: the client must not send its next request on this connection.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        self.shared.metrics.observe_http(
            request.route,
            &request.method,
            response.status(),
            request.arrival.elapsed().as_secs_f64(),
        );
        match request.fault {
            None => Some(Outcome::Respond(response.map(Either::Left))),
            Some((fault, endpoint)) => faults::apply(&self.shared, fault, endpoint, response),
        }
    }

    /// The route table: the route's answer, and the latency it drew (waited for in sleep mode).
    fn route(&self, route: Route, method: &Method, body: &Bytes, arrival: Instant) -> Drawn {
        let (s, e) = (&self.shared, &self.endpoints);
        let now = |response| (response, None);
        match (route, method) {
            (Route::Root, &Method::GET) if self.profile == Profile::Jokes => now(e.joke(s)),
            (Route::Root, &Method::GET) => now(e.healthcheck(s, arrival)),
            (Route::Login, &Method::POST) => e.endpoint(s, Timed::Login),
            (Route::Logout, &Method::GET) => e.logout(s),
            (Route::Logout | Route::History, &Method::POST) => now(e.uncounted_post()),
            (Route::History, &Method::GET) => now(e.history()),
            (Route::History, &Method::DELETE) => {
                now(response::respond(StatusCode::NO_CONTENT, Bytes::new()))
            }
            (Route::Chat, &Method::POST) => e.chat(s),
            (Route::Preferences, &Method::GET) => e.endpoint(s, Timed::PrefGet),
            (Route::Preferences, &Method::POST) => e.endpoint(s, Timed::PrefUpdate),
            (Route::Startup, &Method::GET) => e.endpoint(s, Timed::Startup),
            (Route::Phase, &Method::GET) => now(Admin::get_phase(s)),
            (Route::Phase, &Method::POST) => now(Admin::post_phase(s, body)),
            (Route::Phase, &Method::DELETE) => now(Admin::delete_phase(s)),
            (Route::Metrics, &Method::GET) => now(Admin::metrics(s)),
            (Route::Healthz, &Method::GET) => now(Admin::healthz()),
            (Route::Readyz, &Method::GET) => now(self.admin.readyz()),
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

    /// Sleep mode's wait for the drawn latency, counted from arrival (record mode answers at once).
    async fn wait(&self, arrival: Instant, ms: f64) {
        if self.mode == LatencyMode::Sleep {
            crate::answer::precise::sleep_until(arrival + Duration::from_secs_f64(ms / 1000.0))
                .await;
        }
    }
}

/// `chunked` given twice (two headers, or `chunked, chunked`): RFC 9112 section 6.1 forbids
/// it, and a proxy in front may frame such a body differently (request smuggling). hyper
/// accepts it, so it is refused here.
fn chunked_twice(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .filter(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"))
        .nth(1)
        .is_some()
}

fn takes_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
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
