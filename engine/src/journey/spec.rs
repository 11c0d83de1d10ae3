//! The journey file format (`scenarios/journeys/*.toml`) and its checked form.
//!
//! A journey is data: weighted tasks, each an ordered sequence of requests (login -> startup),
//! with realistic bodies and a think time after each task. Parsing checks everything once, so a
//! simulated user never meets a bad method, path, header or body.
//!
//! ```toml
//! description = "the workshop's Locust swarm"
//! user_header = "user"          # a header naming the simulated user; "" sends none
//! wait = "1s..2s"               # think time after each task
//! [[task]]
//! name = "preferences"
//! weight = 3
//! [[task.request]]
//! method = "POST"
//! path = "/preferences"
//! json = [{ content = { likes = { genres = ["drama"] } } }]   # one is picked per request
//! pause = "200ms"               # optional, before the task's next request
//! [[task.request]]
//! path = "/preferences"
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, uri::PathAndQuery};
use serde::Deserialize;

/// The workshop's swarm, embedded so the binary works anywhere.
pub const DEFAULT_JOURNEY: &str = include_str!("../../../scenarios/journeys/workshop.toml");
/// Journeys shipped in `scenarios/journeys/`, by name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("workshop", DEFAULT_JOURNEY),
    (
        "challenge1",
        include_str!("../../../scenarios/journeys/challenge1.toml"),
    ),
];

/// The longest think time or pause accepted (a day): anything longer is a typo.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("reading the journey {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("no journey named {0:?} (shipped: workshop, challenge1) and no such file")]
    Unknown(String),
    #[error("the journey is not valid TOML or has unknown keys: {0}")]
    Syntax(String),
    #[error("a journey needs at least one [[task]] with a weight above 0")]
    NoTasks,
    #[error("task {task:?}: {what}")]
    Task { task: String, what: String },
    #[error("wait {0:?} is not MIN..MAX with MIN <= MAX, e.g. 1s..2s (each at most 24h)")]
    Wait(String),
    #[error("user_header {0:?} is not a valid header name")]
    UserHeader(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJourney {
    description: Option<String>,
    user_header: Option<String>,
    wait: Option<String>,
    #[serde(rename = "task", default)]
    tasks: Vec<RawTask>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: String,
    weight: u32,
    #[serde(default)]
    stop_on_failure: bool,
    #[serde(rename = "request", default)]
    requests: Vec<RawRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    name: Option<String>,
    method: Option<String>,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    bodies: Option<Vec<String>>,
    json: Option<Vec<toml::Value>>,
    pause: Option<String>,
}

/// Think time between tasks: uniform in `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub min: Duration,
    pub max: Duration,
}

impl Wait {
    /// `1s..2s`, `10ms..50ms`, or one duration for a fixed wait.
    pub fn parse(s: &str) -> Result<Wait, SpecError> {
        let bad = || SpecError::Wait(s.to_owned());
        let one = |d: &str| humantime::parse_duration(d.trim()).map_err(|_| bad());
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (one(a)?, one(b)?),
            None => (one(s)?, one(s)?),
        };
        if min > max || max > MAX_WAIT {
            return Err(bad());
        }
        Ok(Wait { min, max })
    }
}

/// One checked journey.
#[derive(Debug, Clone)]
pub struct Journey {
    pub description: Option<String>,
    pub user_header: Option<HeaderName>,
    /// Think time after each task, unless the run overrides it.
    pub wait: Wait,
    pub tasks: Vec<Task>,
    /// Distinct endpoint names, in first-seen order; requests refer to them by index.
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub weight: u32,
    /// Skip the task's remaining requests after a failure (a user who cannot log in stops).
    pub stop_on_failure: bool,
    pub requests: Vec<TaskRequest>,
}

/// What stats are kept under: requests with the same name share them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub method: Method,
    pub path: String,
}

#[derive(Debug, Clone)]
pub struct TaskRequest {
    pub endpoint: usize,
    pub method: Method,
    pub path: PathAndQuery,
    pub headers: HeaderMap,
    /// One is picked at random per request; empty means no body.
    pub bodies: Vec<Bytes>,
    pub pause: Duration,
}

impl Journey {
    /// A shipped journey by name, or else a file.
    pub fn load(name_or_path: &str) -> Result<Journey, SpecError> {
        if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Journey::parse(text);
        }
        let path = Path::new(name_or_path);
        let text = scenarios::read_text(path, scenarios::SPEC_LIMIT).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                SpecError::Unknown(name_or_path.to_owned())
            } else {
                SpecError::Read {
                    path: path.display().to_string(),
                    source,
                }
            }
        })?;
        Journey::parse(&text)
    }

    pub fn default_workshop() -> Journey {
        Journey::parse(DEFAULT_JOURNEY).expect("the embedded journey is checked by a test")
    }

    pub fn parse(text: &str) -> Result<Journey, SpecError> {
        let raw: RawJourney = toml::from_str(text).map_err(|e| SpecError::Syntax(e.to_string()))?;
        let user_header = match raw.user_header.as_deref() {
            Some("") => None,
            Some(h) => Some(
                HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| SpecError::UserHeader(h.to_owned()))?,
            ),
            None => Some(HeaderName::from_static("user")),
        };
        let wait = match raw.wait.as_deref() {
            Some(w) => Wait::parse(w)?,
            None => Wait {
                min: Duration::from_secs(1),
                max: Duration::from_secs(2),
            },
        };
        let mut endpoints = Vec::new();
        let mut tasks = Vec::new();
        for t in raw.tasks {
            let err = |what: String| SpecError::Task {
                task: t.name.clone(),
                what,
            };
            if t.requests.is_empty() {
                return Err(err("a task needs at least one [[task.request]]".into()));
            }
            let requests = t
                .requests
                .into_iter()
                .map(|r| check_request(r, &mut endpoints))
                .collect::<Result<Vec<_>, String>>()
                .map_err(err)?;
            tasks.push(Task {
                name: t.name,
                weight: t.weight,
                stop_on_failure: t.stop_on_failure,
                requests,
            });
        }
        if tasks.iter().all(|t| t.weight == 0) {
            return Err(SpecError::NoTasks);
        }
        Ok(Journey {
            description: raw.description,
            user_header,
            wait,
            tasks,
            endpoints,
        })
    }
}

fn check_request(r: RawRequest, endpoints: &mut Vec<Endpoint>) -> Result<TaskRequest, String> {
    let method_text = r.method.unwrap_or_else(|| "GET".into());
    let method = Method::from_bytes(method_text.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("{method_text:?} is not an HTTP method"))?;
    if !r.path.starts_with('/') {
        return Err(format!("path {:?} must start with /", r.path));
    }
    let path: PathAndQuery = r
        .path
        .parse()
        .map_err(|_| format!("path {:?} is not a valid request path", r.path))?;
    let mut headers = HeaderMap::new();
    for (k, v) in &r.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("header name {k:?} is not valid"))?;
        let value =
            HeaderValue::from_str(v).map_err(|_| format!("header {k:?} has an invalid value"))?;
        headers.insert(name, value);
    }
    let bodies: Vec<Bytes> = match (r.body, r.bodies, r.json) {
        (None, None, None) => Vec::new(),
        (Some(b), None, None) => vec![Bytes::from(b)],
        (None, Some(bs), None) if !bs.is_empty() => bs.into_iter().map(Bytes::from).collect(),
        (None, None, Some(js)) if !js.is_empty() => {
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            js.iter()
                .map(|v| serde_json::to_vec(v).map(Bytes::from))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("a json body cannot be encoded: {e}"))?
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err("bodies and json need at least one entry".into());
        }
        _ => return Err("give one of body, bodies or json".into()),
    };
    let pause = match r.pause.as_deref() {
        None => Duration::ZERO,
        Some(p) => humantime::parse_duration(p)
            .ok()
            .filter(|d| *d <= MAX_WAIT)
            .ok_or_else(|| format!("pause {p:?} is not a duration of at most 24h"))?,
    };
    let name = r
        .name
        .unwrap_or_else(|| format!("{} {}", method.as_str(), path.path()));
    let endpoint = match endpoints.iter().position(|e| e.name == name) {
        Some(i) => i,
        None => {
            endpoints.push(Endpoint {
                name,
                method: method.clone(),
                path: path.path().to_owned(),
            });
            endpoints.len() - 1
        }
    };
    Ok(TaskRequest {
        endpoint,
        method,
        path,
        headers,
        bodies,
        pause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_journeys_parse() {
        for (name, text) in SHIPPED {
            let j = Journey::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!j.tasks.is_empty(), "{name}");
        }
    }

    #[test]
    fn the_default_is_the_workshop_swarm() {
        let j = Journey::default_workshop();
        let weights: Vec<(&str, u32, usize)> = j
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.weight, t.requests.len()))
            .collect();
        assert_eq!(
            weights,
            [
                ("chat", 6, 1),
                ("preferences", 3, 2),
                ("login", 1, 1),
                ("logout", 1, 1),
                ("delete history", 1, 1),
                ("get history", 1, 1),
                ("startup", 1, 1),
            ]
        );
        assert_eq!(
            j.wait,
            Wait {
                min: Duration::from_secs(1),
                max: Duration::from_secs(2)
            }
        );
        let prefs = &j.tasks[1].requests;
        assert_eq!(
            (prefs[0].method.as_str(), prefs[1].method.as_str()),
            ("POST", "GET")
        );
    }

    #[test]
    fn mistakes_are_named() {
        let task =
            |req: &str| format!("[[task]]\nname = \"t\"\nweight = 1\n[[task.request]]\n{req}");
        for (text, words) in [
            (String::new(), "at least one [[task]]"),
            (
                "[[task]]\nname = \"t\"\nweight = 1".into(),
                "at least one [[task.request]]",
            ),
            (task("path = \"chat\""), "must start with /"),
            (
                task("path = \"/\"\nmethod = \"GE T\""),
                "not an HTTP method",
            ),
            (
                task("path = \"/\"\nbody = \"a\"\njson = [1]"),
                "one of body",
            ),
            (task("path = \"/\"\npause = \"later\""), "pause"),
            (
                task("path = \"/\"\nheaders = { \"a b\" = \"x\" }"),
                "header name",
            ),
            (task("path = \"/\"\nmethd = \"GET\""), "unknown"),
            (
                format!("wait = \"2s..1s\"\n{}", task("path = \"/\"")),
                "MIN..MAX",
            ),
        ] {
            let e = Journey::parse(&text).unwrap_err().to_string();
            assert!(e.contains(words), "{text:?}: {e}");
        }
    }

    #[test]
    fn waits_parse() {
        let ms = Duration::from_millis;
        assert_eq!(
            Wait::parse("10ms..50ms").unwrap(),
            Wait {
                min: ms(10),
                max: ms(50)
            }
        );
        assert_eq!(
            Wait::parse("0s").unwrap(),
            Wait {
                min: ms(0),
                max: ms(0)
            }
        );
        assert!(Wait::parse("5..6").is_err());
    }
}
