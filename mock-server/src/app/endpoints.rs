//! The Movie Guru endpoints, with the semantics of the original mock.
//!
//! Per endpoint, in this order: count the attempt; succeed when a uniform draw in [0, 1) is
//! below the ratio (so 0 never and 1 always succeeds); draw a latency and record it for
//! successes and failures alike; on a chat success draw safety, sentiment and outcome
//! independently. The `movieguru_*` series are recorded on arrival, as the original did. Each
//! handler returns its answer and the latency it drew, which the caller waits in sleep mode.
//!
//! With `--draws exact` the same draws, in the same places, read the endpoint's exact sequences
//! instead of dice (the reply body is still picked by the seeded dice).

use bytes::Bytes;
use http::Response;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use http_body_util::Full;
use rand::Rng;
use tokio::time::Instant;

use super::response::{HttpResponse, TEXT, respond};
use super::shared::Shared;
use crate::answer::bodies::Bodies;
use crate::answer::profile;
use crate::phase::{Ratio, Timed};

/// An answer and the latency drawn for it, in milliseconds (none: answer at once).
pub type Drawn = (HttpResponse, Option<f64>);

/// The canned bodies the endpoints answer with.
pub struct Endpoints {
    bodies: Bodies,
    failures: [Bytes; 5],
}

impl Endpoints {
    pub fn new() -> Endpoints {
        Endpoints {
            bodies: Bodies::new(),
            failures: Timed::ALL.map(|t| Bodies::failure(t.label())),
        }
    }

    /// `GET /` of the Serverless Journey's good revision: a random joke.
    pub fn joke(&self, s: &Shared) -> HttpResponse {
        let mut r = Response::new(Full::new(Bytes::from_static(
            profile::random_joke(&mut s.rng.next()).as_bytes(),
        )));
        r.headers_mut().insert(CONTENT_TYPE, TEXT);
        r
    }

    /// `GET /`: the original's health check, which is counted and timed but never fails.
    pub fn healthcheck(&self, s: &Shared, arrival: Instant) -> HttpResponse {
        let h = &s.metrics.health;
        h.attempts.inc();
        let response = respond(StatusCode::OK, self.bodies.health.clone());
        h.latency.observe(arrival.elapsed().as_secs_f64() * 1000.0);
        response
    }

    /// The original answered other methods on these two with an empty 200 and counted
    /// nothing; the workshop's Locust file relies on it.
    pub fn uncounted_post(&self) -> HttpResponse {
        respond(StatusCode::OK, self.bodies.empty.clone())
    }

    pub fn history(&self) -> HttpResponse {
        respond(StatusCode::OK, self.bodies.history.clone())
    }

    /// Login, startup and the two preference calls: roll, draw, record; the caller waits.
    pub fn endpoint(&self, s: &Shared, t: Timed) -> Drawn {
        let m = match t {
            Timed::Login => &s.metrics.login,
            Timed::Startup => &s.metrics.startup,
            Timed::PrefGet => &s.metrics.pref_get,
            Timed::PrefUpdate => &s.metrics.pref_update,
            Timed::Chat => return self.chat(s),
        };
        m.attempts.inc();
        let (ok, ms) = {
            let phase = s.phases.current();
            match s.draws.exact() {
                None => {
                    let mut rng = s.rng.next();
                    let ok = rng.random::<f64>() < phase.ratio(t.success());
                    (ok, phase.latency(t).sample(&mut rng))
                }
                Some(x) => (
                    x.success(t, phase.ratio(t.success())),
                    x.latency(t, phase.latency(t)),
                ),
            }
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
    pub fn logout(&self, s: &Shared) -> Drawn {
        let m = &s.metrics.logout;
        m.attempts.inc();
        let range = *s.phases.current().latency(Timed::Login);
        let ms = match s.draws.exact() {
            None => range.sample(&mut s.rng.next()),
            Some(x) => x.logout_latency(&range),
        };
        m.latency.observe(ms);
        m.success.inc();
        (
            respond(StatusCode::OK, self.bodies.logout.clone()),
            Some(ms),
        )
    }

    pub fn chat(&self, s: &Shared) -> Drawn {
        let m = &s.metrics.chat;
        m.calls.inc();
        let mut rng = s.rng.next();
        let phase = s.phases.current();
        let exact = s.draws.exact();
        let (ok, ms) = match exact {
            None => {
                let ok = rng.random::<f64>() < phase.ratio(Ratio::ChatSuccess);
                (ok, phase.latency(Timed::Chat).sample(&mut rng))
            }
            Some(x) => (
                x.success(Timed::Chat, phase.ratio(Ratio::ChatSuccess)),
                x.latency(Timed::Chat, phase.latency(Timed::Chat)),
            ),
        };
        m.latency.observe(ms);
        let response = if ok {
            m.success.inc();
            let (unsafe_, sentiment, outcome) = match exact {
                None => (
                    rng.random::<f64>() < phase.ratio(Ratio::ChatSafetyIssue),
                    cumulative_choice(&phase.sentiment_weights(), rng.random()),
                    cumulative_choice(&phase.outcome_weights(), rng.random()),
                ),
                Some(x) => (
                    x.safety_issue(phase.ratio(Ratio::ChatSafetyIssue)),
                    x.sentiment(&phase.sentiment_weights()),
                    x.outcome(&phase.outcome_weights()),
                ),
            };
            if unsafe_ {
                m.safety_issue.inc();
            }
            m.sentiment[sentiment].inc();
            m.outcome[outcome].inc();
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
