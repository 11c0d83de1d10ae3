//! The SLO spec: read from TOML into raw structs, then checked into a [`Spec`] through `TryFrom`,
//! so the generators and the report never meet a bad objective, window or selector.
//!
//! The spec is TOML rather than YAML: `serde_yaml` is unmaintained, its forks are young, and TOML
//! has no implicit typing (`no` stays a string), which matters for hand-edited objectives and labels.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::duration::{DurationError, PromDuration};
use crate::selector::Selector;

/// The file as written; every field is checked by `Spec::try_from`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    #[serde(default)]
    pub policy: Vec<RawPolicy>,
    #[serde(default)]
    pub slo: Vec<RawSlo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: String,
    pub severity: String,
    pub burn_rate: f64,
    pub long_window: String,
    pub short_window: Option<String>,
    pub summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub name: String,
    pub service: String,
    pub description: String,
    pub objective: f64,
    pub period: String,
    pub good: String,
    pub total: String,
    pub alerts: Vec<String>,
    pub good_request: Vec<String>,
    pub bad_request: Vec<String>,
    /// `"requests"` (the default) or `"windows"`; see [`Sli`].
    pub sli: Option<String>,
    /// Windows-based SLIs only: the length of one window.
    pub window: Option<String>,
    /// Windows-based SLIs only: percent of good requests that make a window good.
    pub window_objective: Option<f64>,
}

/// A checked spec: burn-rate policies, and the SLOs that use them, in file order.
#[derive(Clone, Debug)]
pub struct Spec {
    pub policies: Vec<Policy>,
    pub slos: Vec<Slo>,
    /// Alerts the spec asks for that can never fire, left out of every generated file; the
    /// commands print them as warnings so nobody mistakes a missing alert for protection.
    pub skipped: Vec<SkippedAlert>,
}

/// An alert left out because its threshold, `burn_rate x budget`, is an error ratio of 100% or
/// more, which no SLI can exceed (10x on an 80% objective needs 200% errors).
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedAlert {
    /// The alert name it would have had (`ChatEngagementFastBurn5m`).
    pub alert: String,
    pub slo: String,
    pub policy: String,
    pub burn_rate: f64,
    /// The SLO's error budget, as a ratio.
    pub budget: f64,
}

impl std::fmt::Display for SkippedAlert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} skipped: slo {} policy {} can never fire: it needs an error ratio above {:.1}% \
             ({} x the {:.1}% error budget), and no ratio exceeds 100%",
            self.alert,
            self.slo,
            self.policy,
            self.burn_rate * self.budget * 100.0,
            self.burn_rate,
            self.budget * 100.0
        )
    }
}

/// One multiwindow burn-rate alert, as the SRE Workbook defines it: fire while the error ratio
/// over both windows exceeds `burn_rate` times the error budget.
#[derive(Clone, Debug)]
pub struct Policy {
    /// kebab-case; becomes the suffix of each alert name (`page-1h` -> `ChatLatencyPage1h`).
    pub name: String,
    pub severity: String,
    pub burn_rate: f64,
    pub long_window: PromDuration,
    /// `None` for a single-window alert (the Serverless Journey's 5-minute fast burn).
    pub short_window: Option<PromDuration>,
    /// One line for humans; the alert's summary annotation starts with it.
    pub summary: String,
}

#[derive(Clone, Debug)]
pub struct Slo {
    /// kebab-case; the `slo` label of every series and alert.
    pub name: String,
    /// The `slo_service` label.
    pub service: String,
    pub description: String,
    /// Percent of good events, strictly between 0 and 100.
    pub objective: f64,
    pub period: PromDuration,
    pub good: Selector,
    pub total: Selector,
    /// Indexes into `Spec::policies`, in the order the SLO lists them.
    pub alerts: Vec<usize>,
    /// The exact series one good request increments, and one bad request: the generated promtool
    /// tests feed them, which proves the `good` and `total` selectors pick the right series.
    pub good_request: Vec<Selector>,
    pub bad_request: Vec<Selector>,
    pub sli: Sli,
}

/// What the SLI counts, and so what the error ratio of a window means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sli {
    /// Good requests over all requests: an error ratio is the share of bad requests.
    Requests,
    /// Good windows over all windows, as Cloud Monitoring's windows-based SLIs: a trailing
    /// `window` is good while at least `objective` percent of its requests are good, and an error
    /// ratio is the share of bad windows. A 10% failing canary makes every 5-minute window bad
    /// at a 95% window objective: a 100% error ratio, where requests would give 10%.
    Windows {
        window: PromDuration,
        /// Percent, strictly between 0 and 100, like the SLO's own objective.
        objective: f64,
    },
}

impl Slo {
    /// The allowed error ratio, `1 - objective`.
    pub fn error_budget(&self) -> f64 {
        (100.0 - self.objective) / 100.0
    }

    /// Alert name: the SLO and policy names in CamelCase (`chat-latency` + `page-1h`).
    pub fn alert_name(&self, policy: &Policy) -> String {
        camel(&self.name) + &camel(&policy.name)
    }
}

impl Policy {
    /// The windows this policy reads, longest first.
    pub fn windows(&self) -> impl Iterator<Item = PromDuration> + '_ {
        std::iter::once(self.long_window).chain(self.short_window)
    }
}

fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// Why a spec was refused; each message names the SLO or policy and the field.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a valid SLO spec: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("the spec defines no [[slo]]")]
    NoSlos,
    #[error("{what} name {name:?} must be kebab-case: lowercase letters, digits and single dashes")]
    Name { what: &'static str, name: String },
    #[error("{what} {name:?} is defined twice")]
    Duplicate { what: &'static str, name: String },
    #[error("{owner}: {field}: {source}")]
    Duration {
        owner: String,
        field: &'static str,
        source: DurationError,
    },
    #[error("policy {policy}: burn_rate {value} must be a positive number")]
    BurnRate { policy: String, value: f64 },
    #[error("policy {policy}: short_window {short} must be shorter than long_window {long}")]
    WindowOrder {
        policy: String,
        short: PromDuration,
        long: PromDuration,
    },
    #[error("policy {policy}: severity {severity:?} must be a single lowercase word")]
    Severity { policy: String, severity: String },
    #[error("slo {slo}: objective {value} must be a percentage strictly between 0 and 100")]
    Objective { slo: String, value: f64 },
    #[error("slo {slo}: {field} {text:?}: {reason}")]
    Selector {
        slo: String,
        field: &'static str,
        text: String,
        reason: String,
    },
    #[error("slo {slo}: alert policy {policy:?} is not defined by any [[policy]]")]
    UnknownPolicy { slo: String, policy: String },
    #[error("slo {slo}: {field} must list at least one series")]
    NoExample { slo: String, field: &'static str },
    #[error("slo {slo}: sli {value:?} must be \"requests\" or \"windows\"")]
    SliKind { slo: String, value: String },
    #[error("slo {slo}: sli = \"windows\" needs {field}")]
    WindowMissing { slo: String, field: &'static str },
    #[error("slo {slo}: window_objective {value} must be a percentage strictly between 0 and 100")]
    WindowObjective { slo: String, value: f64 },
    #[error("slo {slo}: {field} applies only to sli = \"windows\"")]
    WindowUnused { slo: String, field: &'static str },
}

impl Spec {
    pub fn from_toml(text: &str) -> Result<Self, SpecError> {
        let raw: RawSpec = toml::from_str(text)?;
        Self::try_from(raw)
    }

    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = scenarios::read_text(path, scenarios::RULES_LIMIT).map_err(|source| {
            SpecError::Read {
                path: path.display().to_string(),
                source,
            }
        })?;
        Self::from_toml(&text)
    }
}

impl TryFrom<RawSpec> for Spec {
    type Error = SpecError;

    fn try_from(raw: RawSpec) -> Result<Self, SpecError> {
        let policies = raw
            .policy
            .into_iter()
            .map(Policy::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        unique("policy", policies.iter().map(|p| p.name.as_str()))?;
        if raw.slo.is_empty() {
            return Err(SpecError::NoSlos);
        }
        let mut skipped = Vec::new();
        let slos = raw
            .slo
            .into_iter()
            .map(|slo| check_slo(slo, &policies, &mut skipped))
            .collect::<Result<Vec<_>, _>>()?;
        unique("slo", slos.iter().map(|s| s.name.as_str()))?;
        Ok(Self {
            policies,
            slos,
            skipped,
        })
    }
}

impl TryFrom<RawPolicy> for Policy {
    type Error = SpecError;

    fn try_from(raw: RawPolicy) -> Result<Self, SpecError> {
        kebab("policy", &raw.name)?;
        let owner = format!("policy {}", raw.name);
        let window = |field, text: &str| {
            PromDuration::parse(text).map_err(|source| SpecError::Duration {
                owner: owner.clone(),
                field,
                source,
            })
        };
        let long_window = window("long_window", &raw.long_window)?;
        let short_window = raw
            .short_window
            .as_deref()
            .map(|text| window("short_window", text))
            .transpose()?;
        if let Some(short) = short_window.filter(|s| *s >= long_window) {
            return Err(SpecError::WindowOrder {
                policy: raw.name,
                short,
                long: long_window,
            });
        }
        if !(raw.burn_rate.is_finite() && raw.burn_rate > 0.0) {
            return Err(SpecError::BurnRate {
                policy: raw.name,
                value: raw.burn_rate,
            });
        }
        if raw.severity.is_empty() || !raw.severity.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(SpecError::Severity {
                policy: raw.name,
                severity: raw.severity,
            });
        }
        Ok(Self {
            name: raw.name,
            severity: raw.severity,
            burn_rate: raw.burn_rate,
            long_window,
            short_window,
            summary: raw.summary,
        })
    }
}

fn check_slo(
    raw: RawSlo,
    policies: &[Policy],
    skipped: &mut Vec<SkippedAlert>,
) -> Result<Slo, SpecError> {
    kebab("slo", &raw.name)?;
    let name = raw.name;
    if !(raw.objective > 0.0 && raw.objective < 100.0) {
        return Err(SpecError::Objective {
            slo: name,
            value: raw.objective,
        });
    }
    let period = PromDuration::parse(&raw.period).map_err(|source| SpecError::Duration {
        owner: format!("slo {name}"),
        field: "period",
        source,
    })?;
    let selector = |field, text: &str, exact: bool| {
        let fail = |reason: String| SpecError::Selector {
            slo: name.clone(),
            field,
            text: text.to_owned(),
            reason,
        };
        let parsed = Selector::parse(text).map_err(fail)?;
        if exact && !parsed.is_exact() {
            return Err(fail(
                "an example series must name every label with =".into(),
            ));
        }
        Ok(parsed)
    };
    let good = selector("good", &raw.good, false)?;
    let total = selector("total", &raw.total, false)?;
    let examples = |field, texts: &[String]| {
        if texts.is_empty() {
            return Err(SpecError::NoExample {
                slo: name.clone(),
                field,
            });
        }
        texts.iter().map(|t| selector(field, t, true)).collect()
    };
    let good_request = examples("good_request", &raw.good_request)?;
    let bad_request = examples("bad_request", &raw.bad_request)?;
    let sli = check_sli(
        &name,
        raw.sli.as_deref(),
        raw.window.as_deref(),
        raw.window_objective,
    )?;
    let budget = (100.0 - raw.objective) / 100.0;
    let mut alerts = Vec::with_capacity(raw.alerts.len());
    for wanted in &raw.alerts {
        let index = policies
            .iter()
            .position(|p| &p.name == wanted)
            .ok_or_else(|| SpecError::UnknownPolicy {
                slo: name.clone(),
                policy: wanted.clone(),
            })?;
        let policy = &policies[index];
        if alerts.contains(&index) {
            return Err(SpecError::Duplicate {
                what: "alert",
                name: format!("{wanted} in slo {name}"),
            });
        }
        // The error ratio cannot exceed 1, so a threshold at or above it never fires: emitting
        // it would look like protection and not be. A spec shared by several SLOs (the
        // workshop's policy on an 80% objective) may still ask for it, so skip and say so.
        if policy.burn_rate * budget >= 1.0 {
            skipped.push(SkippedAlert {
                alert: camel(&name) + &camel(&policy.name),
                slo: name.clone(),
                policy: policy.name.clone(),
                burn_rate: policy.burn_rate,
                budget,
            });
            continue;
        }
        alerts.push(index);
    }
    Ok(Slo {
        name,
        service: raw.service,
        description: raw.description,
        objective: raw.objective,
        period,
        good,
        total,
        alerts,
        good_request,
        bad_request,
        sli,
    })
}

fn check_sli(
    slo: &str,
    kind: Option<&str>,
    window: Option<&str>,
    objective: Option<f64>,
) -> Result<Sli, SpecError> {
    match kind.unwrap_or("requests") {
        "requests" => {
            let unused = if window.is_some() {
                Some("window")
            } else if objective.is_some() {
                Some("window_objective")
            } else {
                None
            };
            match unused {
                Some(field) => Err(SpecError::WindowUnused {
                    slo: slo.to_owned(),
                    field,
                }),
                None => Ok(Sli::Requests),
            }
        }
        "windows" => {
            let missing = |field| SpecError::WindowMissing {
                slo: slo.to_owned(),
                field,
            };
            let window = window.ok_or_else(|| missing("window"))?;
            let window = PromDuration::parse(window).map_err(|source| SpecError::Duration {
                owner: format!("slo {slo}"),
                field: "window",
                source,
            })?;
            let objective = objective.ok_or_else(|| missing("window_objective"))?;
            if !(objective > 0.0 && objective < 100.0) {
                return Err(SpecError::WindowObjective {
                    slo: slo.to_owned(),
                    value: objective,
                });
            }
            Ok(Sli::Windows { window, objective })
        }
        other => Err(SpecError::SliKind {
            slo: slo.to_owned(),
            value: other.to_owned(),
        }),
    }
}

fn kebab(what: &'static str, name: &str) -> Result<(), SpecError> {
    let ok = name.split('-').all(|word| {
        !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) && name.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(SpecError::Name {
            what,
            name: name.to_owned(),
        })
    }
}

fn unique<'a>(what: &'static str, names: impl Iterator<Item = &'a str>) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(SpecError::Duplicate {
                what,
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}
