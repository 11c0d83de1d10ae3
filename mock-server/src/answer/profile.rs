//! Revision profiles: which release of the service this process plays.
//!
//! The Serverless Journey deploys a good revision (`jokes`) and a canary built from a failing
//! image; `failing` plays that canary so its traffic share burns an error budget.

use http::StatusCode;
use rand::Rng;
use rand::seq::IndexedRandom;

use crate::route::Route;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Profile {
    /// The Movie Guru backend, driven by the phase.
    MovieGuru,
    /// The Serverless Journey's good revision: `GET /` answers a random joke.
    Jokes,
    /// The failing canary: with probability `ratio`, every route but the operational ones
    /// (health, readiness, metrics, phase) answers `status`.
    Failing { status: StatusCode, ratio: f64 },
}

impl Profile {
    /// Every profile's name, as `--profile` and a rehearsal's `profile =` spell it.
    pub const NAMES: [&'static str; 3] = ["movie-guru", "jokes", "failing"];

    /// The profile called `name`; `failing` fails every request with a 500, as `--profile
    /// failing` does without `--failing-status` or `--failing-ratio`.
    pub fn named(name: &str) -> Option<Profile> {
        match name {
            "movie-guru" => Some(Profile::MovieGuru),
            "jokes" => Some(Profile::Jokes),
            "failing" => Some(Profile::Failing {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                ratio: 1.0,
            }),
            _ => None,
        }
    }

    /// This profile's name, one of [`Profile::NAMES`].
    pub fn name(&self) -> &'static str {
        match self {
            Profile::MovieGuru => "movie-guru",
            Profile::Jokes => "jokes",
            Profile::Failing { .. } => "failing",
        }
    }

    /// The status this request must fail with under the failing profile, if any.
    pub fn injected_failure<R: Rng + ?Sized>(
        &self,
        route: Route,
        rng: &mut R,
    ) -> Option<StatusCode> {
        match *self {
            Profile::Failing { status, ratio }
                if !route.is_operational() && rng.random::<f64>() < ratio =>
            {
                Some(status)
            }
            _ => None,
        }
    }
}

const JOKES: &[&str] = &[
    "Why did the SRE bring a ladder? To reach the next nine.",
    "An SLO walks into a bar. The bartender says: you have 43 minutes of error budget left this month.",
    "There are two kinds of services: those with error budgets and those that will have incidents.",
    "I would tell you a UDP joke, but you might not get it.",
    "Hope is not a strategy, but it is a very popular rollback plan.",
    "Our canary was so reliable it never got any traffic.",
    "A latency SLO and a p99 walk into a bar. The p99 arrives eleven seconds later.",
    "It's not DNS. There's no way it's DNS. It was DNS.",
];

pub fn random_joke<R: Rng + ?Sized>(rng: &mut R) -> &'static str {
    JOKES.choose(rng).copied().unwrap_or(JOKES[0])
}
