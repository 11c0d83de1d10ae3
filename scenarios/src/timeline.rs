//! Timelines: a sequence of steps, each applying a phase (and, for loadgen, a load and a traffic
//! split) and holding it for a duration.
//!
//! ```toml
//! description = "healthy, then a bad change burns the chat latency SLO, then the fix"
//! [[step]]
//! name = "healthy"
//! phase = "challenge5"          # a preset, a JSON file, or an inline table of fields
//! duration = "2m"
//! load = { rate = 20 }          # read by `loadgen scenario run`, ignored by mock-server
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::presets::{PresetError, resolve_phase};

/// Where a step's phase comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum PhaseRef {
    /// A preset name (`challenge6`) or a path to a JSON phase document.
    Named(String),
    /// Fields merged onto the phase in force, as a partial `POST /phase` would.
    Inline(toml::Table),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    duration: String,
    phase: Option<PhaseRef>,
    load: Option<toml::Table>,
    split: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeline {
    description: Option<String>,
    #[serde(default)]
    repeat: bool,
    #[serde(rename = "step", default)]
    steps: Vec<RawStep>,
}

/// One checked step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub duration: Duration,
    /// The phase document to post (JSON), resolved from a preset, a file or an inline table.
    pub phase: Option<String>,
    /// Load settings for loadgen; their meaning is loadgen's to check.
    pub load: Option<toml::Table>,
    /// Traffic split by target name, for loadgen.
    pub split: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub description: Option<String>,
    /// Start again from the first step after the last (mock-server's self-driving mode).
    pub repeat: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("reading the timeline {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Unknown(#[from] crate::names::UnknownName),
    #[error("the timeline is not valid TOML or has unknown keys: {0}")]
    Syntax(String),
    #[error("a timeline needs at least one [[step]]")]
    Empty,
    #[error("step {step:?}: duration {source}")]
    Duration {
        step: String,
        source: crate::duration::DurationError,
    },
    #[error("step {step:?}: a duration must be longer than zero")]
    ZeroDuration { step: String },
    #[error("step {step:?}: {source}")]
    Phase { step: String, source: PresetError },
    #[error(
        "step {step:?}: split weight for {target:?} must be a finite number >= 0, got {weight}"
    )]
    SplitWeight {
        step: String,
        target: String,
        weight: f64,
    },
    #[error(
        "a repeating timeline must set a phase in its first step, or each cycle would inherit the last one"
    )]
    RepeatWithoutPhase,
    #[error("step {step:?}: a repeating timeline's steps must last at least 100ms, got {value}")]
    RepeatTooShort { step: String, value: String },
    #[error("step {step:?}: phase field {field:?} is not a number (nan and inf are not allowed)")]
    NotANumber { step: String, field: String },
}

/// The shortest step of a repeating timeline: shorter ones would cycle phases in a busy loop.
pub const MIN_REPEATING_STEP: Duration = Duration::from_millis(100);

impl Timeline {
    /// A timeline file, or else a shipped timeline's name (`chat-latency-breach`); see
    /// [`crate::resolve`].
    pub fn load(name_or_path: &Path) -> Result<Timeline, TimelineError> {
        match crate::names::resolve(crate::names::Kind::Timeline, name_or_path, None)? {
            crate::names::Source::File(path) => Timeline::from_file(&path),
            crate::names::Source::Shipped(text) => Timeline::parse(text, None),
        }
    }

    pub fn from_file(path: &Path) -> Result<Timeline, TimelineError> {
        let text =
            crate::file::read_to_string_bounded(path).map_err(|source| TimelineError::Read {
                path: path.to_owned(),
                source,
            })?;
        Timeline::parse(&text, path.parent())
    }

    /// Parses and checks a timeline; relative phase paths are taken from `base`.
    pub fn parse(text: &str, base: Option<&Path>) -> Result<Timeline, TimelineError> {
        let raw: RawTimeline =
            toml::from_str(text).map_err(|e| TimelineError::Syntax(e.to_string()))?;
        if raw.steps.is_empty() {
            return Err(TimelineError::Empty);
        }
        let steps = raw
            .steps
            .into_iter()
            .map(|s| check_step(s, base))
            .collect::<Result<Vec<_>, _>>()?;
        if raw.repeat && steps[0].phase.is_none() {
            return Err(TimelineError::RepeatWithoutPhase);
        }
        if let Some(s) = steps
            .iter()
            .find(|s| raw.repeat && s.duration < MIN_REPEATING_STEP)
        {
            return Err(TimelineError::RepeatTooShort {
                step: s.name.clone(),
                value: humantime::format_duration(s.duration).to_string(),
            });
        }
        Ok(Timeline {
            description: raw.description,
            repeat: raw.repeat,
            steps,
        })
    }

    /// The time one pass through every step takes.
    pub fn total(&self) -> Duration {
        self.steps.iter().map(|s| s.duration).sum()
    }
}

fn check_step(raw: RawStep, base: Option<&Path>) -> Result<Step, TimelineError> {
    let duration =
        crate::duration::parse(&raw.duration).map_err(|source| TimelineError::Duration {
            step: raw.name.clone(),
            source,
        })?;
    if duration.is_zero() {
        return Err(TimelineError::ZeroDuration { step: raw.name });
    }
    let phase = match raw.phase {
        None => None,
        Some(PhaseRef::Named(name)) => {
            Some(
                resolve_phase(&name, base).map_err(|source| TimelineError::Phase {
                    step: raw.name.clone(),
                    source,
                })?,
            )
        }
        // TOML tables become the JSON object a POST /phase takes.
        Some(PhaseRef::Inline(table)) => {
            // JSON has no NaN or infinity: they would become `null`.
            if let Some(field) = non_number(&table) {
                return Err(TimelineError::NotANumber {
                    step: raw.name,
                    field,
                });
            }
            Some(serde_json::to_string(&table).expect("a TOML table always serializes to JSON"))
        }
    };
    if let Some(split) = &raw.split {
        for (target, &weight) in split {
            if !weight.is_finite() || weight < 0.0 {
                return Err(TimelineError::SplitWeight {
                    step: raw.name,
                    target: target.clone(),
                    weight,
                });
            }
        }
    }
    Ok(Step {
        name: raw.name,
        duration,
        phase,
        load: raw.load,
        split: raw.split,
    })
}

/// The first field (dotted path) holding a float that is NaN or infinite.
fn non_number(table: &toml::Table) -> Option<String> {
    fn walk(v: &toml::Value, path: &str) -> Option<String> {
        match v {
            toml::Value::Float(f) if !f.is_finite() => Some(path.to_owned()),
            toml::Value::Table(t) => t.iter().find_map(|(k, v)| {
                walk(
                    v,
                    &if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    },
                )
            }),
            toml::Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            _ => None,
        }
    }
    walk(&toml::Value::Table(table.clone()), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_resolve_presets_and_inline_phases() {
        let t = Timeline::parse(
            r#"
            [[step]]
            name = "healthy"
            phase = "challenge5"
            duration = "1m30s"
            [[step]]
            name = "breach"
            phase = { ChatLatencyMinMS = 6000, ChatLatencyMaxMS = 9000 }
            duration = "2m"
            load = { rate = 20 }
            "#,
            None,
        )
        .unwrap();
        assert_eq!(t.steps.len(), 2);
        assert_eq!(t.steps[0].duration, Duration::from_secs(90));
        assert!(
            t.steps[0]
                .phase
                .as_deref()
                .unwrap()
                .contains("\"ChatSuccess\": 0.95")
        );
        let inline: serde_json::Value =
            serde_json::from_str(t.steps[1].phase.as_deref().unwrap()).unwrap();
        assert_eq!(inline["ChatLatencyMinMS"], 6000);
        assert_eq!(t.total(), Duration::from_secs(210));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, words) in [
            ("", "at least one"),
            (
                "[[step]]\nname = \"a\"\nduration = \"soon\"",
                "not a duration",
            ),
            (
                "[[step]]\nname = \"a\"\nduration = \"0s\"",
                "longer than zero",
            ),
            (
                "[[step]]\nname = \"a\"\nduration = \"1s\"\nphase = \"nope\"",
                "no preset",
            ),
            (
                "[[step]]\nname = \"a\"\nduration = \"1s\"\nphse = \"x\"",
                "unknown",
            ),
            (
                "[[step]]\nname = \"a\"\nduration = \"1s\"\nsplit = { next = -1 }",
                "split weight",
            ),
            (
                "repeat = true\n[[step]]\nname = \"a\"\nduration = \"1s\"",
                "repeating",
            ),
        ] {
            let e = Timeline::parse(text, None).unwrap_err().to_string();
            assert!(e.contains(words), "{text:?}: {e}");
        }
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// Every timeline shipped in `scenarios/timelines/` parses and resolves its phases.
    #[test]
    fn shipped_timelines_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("timelines");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let t = Timeline::from_file(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(
                    t.steps.iter().all(|s| s.phase.is_some()),
                    "{}",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(
            seen >= 5,
            "only {seen} timelines found in {}",
            dir.display()
        );
    }
}

#[cfg(test)]
mod never_panics {
    use super::*;

    proptest::proptest! {
        /// Whatever text a timeline file holds, parsing answers Ok or a named error.
        #[test]
        fn arbitrary_text(text in "(\\PC|\\n){0,400}") {
            let _ = Timeline::parse(&text, None);
        }

        /// Near-valid files, with every field's value drawn from junk, never panic either.
        #[test]
        fn near_valid_steps(name in "\\PC{0,12}", duration in "\\PC{0,12}", phase in "\\PC{0,12}", weight in proptest::num::f64::ANY) {
            let text = format!(
                "[[step]]\nname = {name:?}\nduration = {duration:?}\nphase = {phase:?}\nsplit = {{ a = {weight:?} }}\n"
            );
            let _ = Timeline::parse(&text, None);
        }
    }

    #[test]
    fn every_shipped_timeline_parses() {
        for (name, text) in crate::shipped::TIMELINES {
            crate::Timeline::parse(text, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
