//! A rehearsal file: a timeline (the format `loadgen scenario run` and `mock-server --timeline`
//! read) whose steps may carry expectations on alerts:
//!
//! ```toml
//! [[step]]
//! name = "bad change"
//! phase = "bad-change"
//! duration = "5m"
//! load = { rate = 20 }
//! [[step.expect]]
//! alert = "ChatLatencyFastBurn5m"
//! state = "firing"
//! within = "predicted"   # or a duration such as "2m", counted from the step's start
//! [[step.expect]]
//! alert = "ChatLatencyTicket3d"
//! state = "inactive"     # not firing at any moment of the step
//! [[step.expect]]
//! alert = "ChatLatencyPage1h"
//! state = "resolved"     # seen not firing at some poll within the duration (after a fix)
//! within = "2m"
//! [[step.expect]]
//! alert = "ChatLatencyFastBurn5m"
//! notified = "oncall"    # reached that Alertmanager receiver in time (needs --alertmanager)
//! ```
//!
//! A rehearsal may also name revisions, each an in-process mock of a mock-server `--profile`,
//! which its steps' `split` weighs (the Serverless Journey's good revision and failing canary):
//!
//! ```toml
//! [revision.good]
//! profile = "jokes"
//! [revision.next]
//! profile = "failing"
//! ```
//!
//! The expectations and revisions are taken out here; the rest is checked by the `scenarios`
//! crate as any timeline is, so a rehearsal accepts exactly what a timeline does. A step's
//! `load.journey` that names a file next to the rehearsal is read from there, wherever the
//! command runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// What an expectation asks of an alert during its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    /// Fires within the deadline, counted from the step's start.
    Firing,
    /// Does not fire at any moment of the step.
    Inactive,
    /// Seen not firing at some moment within the deadline, counted from the step's start:
    /// the alert of an incident resolves after the fix (or the rollback). An alert that never
    /// fired counts as resolved too; pair it with a `firing` expectation in an earlier step.
    Resolved,
}

/// The deadline of a `firing` expectation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Within {
    /// When `slo::predict` says the alert fires, plus the documented slack.
    Predicted,
    /// A fixed time, in the timeline's own (unscaled) time.
    Fixed(Duration),
}

/// One expectation, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub step: usize,
    pub step_name: String,
    pub alert: String,
    /// Labels the alert's instances must carry (`labels = { slo = "...", severity = "..." }`):
    /// generated rules share a name and differ by labels. Empty: any instance of the name.
    pub labels: BTreeMap<String, String>,
    pub state: Expected,
    pub within: Option<Within>,
    /// An Alertmanager receiver the alert must reach by the deadline (state is then firing).
    pub notified: Option<String>,
}

impl Expectation {
    /// The alert it is about, as PromQL would select it: `Name` or `Name{k="v", ...}`.
    pub fn target(&self) -> String {
        if self.labels.is_empty() {
            self.alert.clone()
        } else {
            format!(
                "{}{}",
                self.alert,
                slo::client::wait::label_text(&self.labels)
            )
        }
    }

    /// How the expectation reads in the table and the JUnit file.
    pub fn title(&self) -> String {
        let alert = self.target();
        if let Some(receiver) = &self.notified {
            return format!("{}: {alert} reaches {receiver}", self.step_name);
        }
        match self.state {
            Expected::Firing => format!("{}: {alert} fires", self.step_name),
            Expected::Inactive => format!("{}: {alert} stays quiet", self.step_name),
            Expected::Resolved => format!("{}: {alert} resolves", self.step_name),
        }
    }
}

/// A revision the rehearsal starts: a mock named `name` (its `--revision`), of `profile`.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub name: String,
    /// A mock-server `--profile`: movieguru, jokes or failing.
    pub profile: String,
}

/// A rehearsal file, read and checked.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    pub timeline: scenarios::Timeline,
    pub expectations: Vec<Expectation>,
    /// In file (name) order; empty for the one Movie Guru mock.
    pub revisions: Vec<Revision>,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("reading the rehearsal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: step {step:?}: expect: {message}")]
    Expect {
        path: PathBuf,
        step: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Timeline {
        path: PathBuf,
        source: scenarios::TimelineError,
    },
    #[error("{path}: no step has an [[step.expect]], so the rehearsal could not fail")]
    NothingExpected { path: PathBuf },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevision {
    profile: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    alert: String,
    state: Option<String>,
    within: Option<String>,
    notified: Option<String>,
    labels: Option<BTreeMap<String, String>>,
}

impl Rehearsal {
    pub fn from_file(path: &Path) -> Result<Rehearsal, FileError> {
        let text = scenarios::read_text(path, scenarios::SPEC_LIMIT).map_err(|source| {
            FileError::Read {
                path: path.to_owned(),
                source,
            }
        })?;
        Rehearsal::parse(&text, path)
    }

    /// Parses `text`; `path` names the file in errors, and its folder anchors phase paths.
    pub fn parse(text: &str, path: &Path) -> Result<Rehearsal, FileError> {
        let mut table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| FileError::Syntax {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
        let mut revisions = Vec::new();
        if let Some(raw) = table.remove("revision") {
            let raw: std::collections::BTreeMap<String, RawRevision> =
                raw.try_into()
                    .map_err(|e: toml::de::Error| FileError::Syntax {
                        path: path.to_owned(),
                        message: format!(
                            "write revisions as [revision.NAME] tables with a profile: {}",
                            e.message()
                        ),
                    })?;
            for (name, r) in raw {
                revisions.push(Revision {
                    name,
                    profile: r.profile,
                });
            }
        }
        let mut expectations = Vec::new();
        if let Some(toml::Value::Array(steps)) = table.get_mut("step") {
            for (i, step) in steps.iter_mut().enumerate() {
                let Some(step) = step.as_table_mut() else {
                    continue;
                };
                anchor_journey(step, path.parent());
                let name = step
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or("?")
                    .to_owned();
                let Some(raw) = step.remove("expect") else {
                    continue;
                };
                let bad = |message: String| FileError::Expect {
                    path: path.to_owned(),
                    step: name.clone(),
                    message,
                };
                let raws: Vec<RawExpect> = raw.try_into().map_err(|e: toml::de::Error| {
                    bad(format!(
                        "write it as [[step.expect]] tables of alert, state, within: {}",
                        e.message()
                    ))
                })?;
                for r in raws {
                    expectations.push(expectation(i, &name, r).map_err(bad)?);
                }
            }
        }
        if expectations.is_empty() {
            return Err(FileError::NothingExpected {
                path: path.to_owned(),
            });
        }
        let stripped = toml::to_string(&table).map_err(|e| FileError::Syntax {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let timeline = scenarios::Timeline::parse(&stripped, path.parent()).map_err(|source| {
            FileError::Timeline {
                path: path.to_owned(),
                source,
            }
        })?;
        Ok(Rehearsal {
            timeline,
            expectations,
            revisions,
        })
    }
}

/// Rewrites a step's `load.journey` that names a file next to the rehearsal to that file's
/// path, so the rehearsal plays the same from any directory; shipped names and other paths are
/// left as written.
fn anchor_journey(step: &mut toml::Table, folder: Option<&Path>) {
    let Some(folder) = folder else { return };
    let Some(toml::Value::Table(load)) = step.get_mut("load") else {
        return;
    };
    let Some(toml::Value::String(journey)) = load.get_mut("journey") else {
        return;
    };
    let beside = folder.join(&*journey);
    if Path::new(journey.as_str()).is_relative() && beside.is_file() {
        *journey = beside.display().to_string();
    }
}

fn expectation(step: usize, name: &str, r: RawExpect) -> Result<Expectation, String> {
    if r.alert.trim().is_empty() {
        return Err("alert is empty".into());
    }
    if r.notified.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(format!("{}: notified names no receiver", r.alert));
    }
    let state = match r.state.as_deref().or(r.notified.as_ref().map(|_| "firing")) {
        None => {
            return Err(format!(
                "{}: state is missing: firing, inactive or resolved",
                r.alert
            ));
        }
        Some("firing") => Expected::Firing,
        Some(_) if r.notified.is_some() => {
            return Err(format!(
                "{}: notified goes with state = \"firing\" (or no state)",
                r.alert
            ));
        }
        Some("inactive") => Expected::Inactive,
        Some("resolved") => Expected::Resolved,
        Some(other) => return Err(format!("state {other:?}: use firing, inactive or resolved")),
    };
    let within = match (state, r.within.as_deref()) {
        (Expected::Firing, None | Some("predicted")) => Some(Within::Predicted),
        (Expected::Firing, Some(d)) => Some(Within::Fixed(
            scenarios::duration::parse(d)
                .map_err(|e| format!("within: {e}; use \"predicted\" or a duration such as 2m"))?,
        )),
        (Expected::Resolved, Some(d)) => Some(Within::Fixed(
            scenarios::duration::parse(d)
                .map_err(|e| format!("within: {e}; use a duration such as 2m"))?,
        )),
        (Expected::Resolved, None) => {
            return Err(format!(
                "{}: resolved needs within = DURATION (the model predicts firing, not resolving)",
                r.alert
            ));
        }
        (Expected::Inactive, None) => None,
        (Expected::Inactive, Some(_)) => {
            return Err(format!(
                "{}: within does not apply to inactive, which must hold for the whole step",
                r.alert
            ));
        }
    };
    Ok(Expectation {
        step,
        step_name: name.to_owned(),
        alert: r.alert,
        labels: r.labels.unwrap_or_default(),
        state,
        within,
        notified: r.notified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[step]]
name = "healthy"
phase = "challenge5"
duration = "1m"
[[step.expect]]
alert = "A"
state = "inactive"

[[step]]
name = "breach"
phase = { ChatSuccess = 0.5 }
duration = "2m"
[[step.expect]]
alert = "B"
state = "firing"
[[step.expect]]
alert = "C"
state = "firing"
within = "90s"
"#;

    #[test]
    fn expectations_come_out_and_the_rest_is_a_timeline() {
        let r = Rehearsal::parse(FILE, Path::new("x.toml")).unwrap();
        assert_eq!(r.timeline.steps.len(), 2);
        let got: Vec<_> = r
            .expectations
            .iter()
            .map(|e| (e.step, e.alert.as_str(), e.state, e.within))
            .collect();
        assert_eq!(
            got,
            [
                (0, "A", Expected::Inactive, None),
                (1, "B", Expected::Firing, Some(Within::Predicted)),
                (
                    1,
                    "C",
                    Expected::Firing,
                    Some(Within::Fixed(Duration::from_secs(90)))
                ),
            ]
        );
    }

    /// Issue 21, item 5: an expectation may name labels beside the alert.
    #[test]
    fn label_matchers_come_out_and_name_the_expectation() {
        let text = FILE.replacen(
            "alert = \"B\"",
            "alert = \"B\"\nlabels = { slo = \"chat\", severity = \"critical\" }",
            1,
        );
        let r = Rehearsal::parse(&text, Path::new("x.toml")).unwrap();
        let b = r.expectations.iter().find(|e| e.alert == "B").unwrap();
        assert_eq!(b.labels.len(), 2);
        assert_eq!(b.target(), r#"B{severity="critical", slo="chat"}"#);
        assert!(
            b.title()
                .contains(r#"B{severity="critical", slo="chat"} fires"#)
        );
        let a = r.expectations.iter().find(|e| e.alert == "A").unwrap();
        assert_eq!(a.target(), "A");
        // Labels are strings: anything else is a clear error naming the step.
        let bad = FILE.replacen("alert = \"B\"", "alert = \"B\"\nlabels = { slo = 3 }", 1);
        assert!(Rehearsal::parse(&bad, Path::new("x.toml")).is_err());
    }

    #[test]
    fn revisions_come_out_and_a_journey_beside_the_file_is_found_from_anywhere() {
        let dir = std::env::temp_dir().join(format!("rehearse-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mine.toml"), "[[task]]\nname = \"a\"\n").unwrap();
        let text = format!(
            "[revision.next]\nprofile = \"failing\"\n[revision.good]\nprofile = \"jokes\"\n{}",
            FILE.replace(
                "duration = \"1m\"",
                "duration = \"1m\"\nload = { rate = 5, journey = \"mine.toml\" }"
            )
        );
        let r = Rehearsal::parse(&text, &dir.join("r.toml")).unwrap();
        let names: Vec<_> = r
            .revisions
            .iter()
            .map(|v| (v.name.as_str(), v.profile.as_str()))
            .collect();
        assert_eq!(names, [("good", "jokes"), ("next", "failing")]);
        let load = r.timeline.steps[0].load.as_ref().expect("a load table");
        assert_eq!(
            load.get("journey").and_then(|j| j.as_str()),
            Some(dir.join("mine.toml").display().to_string().as_str())
        );
        let bad = text.replace("profile = \"jokes\"", "profil = \"jokes\"");
        let e = Rehearsal::parse(&bad, &dir.join("r.toml")).unwrap_err();
        assert!(e.to_string().contains("[revision.NAME]"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_expectations_are_named() {
        let cases = [
            (
                FILE.replace("state = \"inactive\"", "state = \"on\""),
                "use firing, inactive or resolved",
            ),
            (
                FILE.replace("state = \"inactive\"", "state = \"resolved\""),
                "resolved needs within = DURATION",
            ),
            (
                FILE.replace("within = \"90s\"", "within = \"soon\""),
                "\"soon\"",
            ),
            (
                FILE.replace(
                    "state = \"inactive\"",
                    "state = \"inactive\"\nwithin = \"1m\"",
                ),
                "whole step",
            ),
            (
                FILE.replace("alert = \"A\"", "alert = \"A\"\nwhen = 1"),
                "when",
            ),
        ];
        for (text, wanted) in cases {
            let e = Rehearsal::parse(&text, Path::new("x.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(wanted), "{wanted:?} not in {e}");
        }
        let none = "[[step]]\nname = \"a\"\nduration = \"1m\"\n";
        let e = Rehearsal::parse(none, Path::new("x.toml")).unwrap_err();
        assert!(matches!(e, FileError::NothingExpected { .. }), "{e}");
    }
}
