//! The phase: how often each endpoint succeeds, how slow it is, and how chats turn out.
//!
//! A phase is the 24-field document of the original mock (plus an optional latency shape per
//! endpoint). It is parsed case-insensitively, merged onto the current phase and validated as a
//! whole before it is swapped in, so a rejected document never changes anything.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::fault::{Fault, FaultSpec};
use crate::latency::{LatencyRange, Shape};

/// Upper bound on any injected latency: a typo such as `80000000` must not park requests for days.
pub const MAX_LATENCY_MS: u64 = 300_000;

/// Slack allowed when a group of weights sums past 1, for decimal payloads such as 0.7 + 0.2 + 0.1.
const WEIGHT_SLACK: f64 = 1e-6;

/// The success ratios and chat weights, in the workshop payload's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ratio {
    ChatSuccess,
    ChatSafetyIssue,
    ChatEngaged,
    ChatAcknowledged,
    ChatRejected,
    ChatUnclassified,
    ChatSPositive,
    ChatSNegative,
    ChatSNeutral,
    ChatSUnclassified,
    LoginSuccess,
    StartupSuccess,
    PrefUpdateSuccess,
    PrefGetSuccess,
}

const RATIO_COUNT: usize = 14;

/// The endpoints whose latency the phase sets (Logout and the health check borrow or measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {
    Login,
    Chat,
    Startup,
    PrefGet,
    PrefUpdate,
}

const TIMED_COUNT: usize = 5;

impl Timed {
    pub const ALL: [Timed; TIMED_COUNT] = [
        Timed::Login,
        Timed::Chat,
        Timed::Startup,
        Timed::PrefGet,
        Timed::PrefUpdate,
    ];

    /// The `endpoint` label of the phase gauges (the workshop's metric-name spelling).
    pub fn label(self) -> &'static str {
        match self {
            Timed::Login => "login",
            Timed::Chat => "chat",
            Timed::Startup => "startup",
            Timed::PrefGet => "prefGet",
            Timed::PrefUpdate => "prefUpdate",
        }
    }

    /// The ratio that decides whether a request to this endpoint succeeds.
    pub fn success(self) -> Ratio {
        match self {
            Timed::Login => Ratio::LoginSuccess,
            Timed::Chat => Ratio::ChatSuccess,
            Timed::Startup => Ratio::StartupSuccess,
            Timed::PrefGet => Ratio::PrefGetSuccess,
            Timed::PrefUpdate => Ratio::PrefUpdateSuccess,
        }
    }
}

/// Where a key of the document lands.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Ratio(Ratio),
    Min(Timed),
    Max(Timed),
    Shape(Timed),
    Fault(Timed),
    FaultRatio(Timed),
}

/// Every key the document accepts, in output order. The first 24 are the original's; the
/// latency shapes and faults are ours, and are written out only when set.
const FIELDS: &[(&str, Slot)] = &[
    ("ChatSuccess", Slot::Ratio(Ratio::ChatSuccess)),
    ("ChatSafetyIssue", Slot::Ratio(Ratio::ChatSafetyIssue)),
    ("ChatEngaged", Slot::Ratio(Ratio::ChatEngaged)),
    ("ChatAcknowledged", Slot::Ratio(Ratio::ChatAcknowledged)),
    ("ChatRejected", Slot::Ratio(Ratio::ChatRejected)),
    ("ChatUnclassified", Slot::Ratio(Ratio::ChatUnclassified)),
    ("ChatSPositive", Slot::Ratio(Ratio::ChatSPositive)),
    ("ChatSNegative", Slot::Ratio(Ratio::ChatSNegative)),
    ("ChatSNeutral", Slot::Ratio(Ratio::ChatSNeutral)),
    ("ChatSUnclassified", Slot::Ratio(Ratio::ChatSUnclassified)),
    ("LoginSuccess", Slot::Ratio(Ratio::LoginSuccess)),
    ("StartupSuccess", Slot::Ratio(Ratio::StartupSuccess)),
    ("PrefUpdateSuccess", Slot::Ratio(Ratio::PrefUpdateSuccess)),
    ("PrefGetSuccess", Slot::Ratio(Ratio::PrefGetSuccess)),
    ("LoginLatencyMinMS", Slot::Min(Timed::Login)),
    ("LoginLatencyMaxMS", Slot::Max(Timed::Login)),
    ("ChatLatencyMinMS", Slot::Min(Timed::Chat)),
    ("ChatLatencyMaxMS", Slot::Max(Timed::Chat)),
    ("StartupLatencyMinMS", Slot::Min(Timed::Startup)),
    ("StartupLatencyMaxMS", Slot::Max(Timed::Startup)),
    ("PrefGetLatencyMinMS", Slot::Min(Timed::PrefGet)),
    ("PrefGetLatencyMaxMS", Slot::Max(Timed::PrefGet)),
    ("PrefUpdateLatencyMinMS", Slot::Min(Timed::PrefUpdate)),
    ("PrefUpdateLatencyMaxMS", Slot::Max(Timed::PrefUpdate)),
    ("LoginLatencyDistribution", Slot::Shape(Timed::Login)),
    ("ChatLatencyDistribution", Slot::Shape(Timed::Chat)),
    ("StartupLatencyDistribution", Slot::Shape(Timed::Startup)),
    ("PrefGetLatencyDistribution", Slot::Shape(Timed::PrefGet)),
    (
        "PrefUpdateLatencyDistribution",
        Slot::Shape(Timed::PrefUpdate),
    ),
    ("LoginFault", Slot::Fault(Timed::Login)),
    ("LoginFaultRatio", Slot::FaultRatio(Timed::Login)),
    ("ChatFault", Slot::Fault(Timed::Chat)),
    ("ChatFaultRatio", Slot::FaultRatio(Timed::Chat)),
    ("StartupFault", Slot::Fault(Timed::Startup)),
    ("StartupFaultRatio", Slot::FaultRatio(Timed::Startup)),
    ("PrefGetFault", Slot::Fault(Timed::PrefGet)),
    ("PrefGetFaultRatio", Slot::FaultRatio(Timed::PrefGet)),
    ("PrefUpdateFault", Slot::Fault(Timed::PrefUpdate)),
    ("PrefUpdateFaultRatio", Slot::FaultRatio(Timed::PrefUpdate)),
];

/// The names of every accepted key, for error messages and docs.
pub fn field_names() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|(name, _)| *name)
}

/// One whole, valid phase. Built only through [`Phase::merged`] (or the workshop default), so
/// every value a request handler reads has passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    ratios: [f64; RATIO_COUNT],
    latency: [LatencyRange; TIMED_COUNT],
    faults: [FaultSpec; TIMED_COUNT],
}

/// Why a phase document was refused. The phase in force is unchanged whenever one is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhaseError {
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("a phase must be a JSON object of fields, got {0}")]
    NotAnObject(&'static str),
    #[error("unknown field {key:?}{hint}; valid fields are: {valid}",
        hint = closest_field(key).map(|f| format!(" (did you mean {f:?}?)")).unwrap_or_default(),
        valid = field_names().collect::<Vec<_>>().join(", "))]
    UnknownField { key: String },
    #[error("field {field} is given twice (keys are case-insensitive)")]
    Duplicate { field: &'static str },
    #[error("{field} must be {expected}, got {got}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        got: &'static str,
    },
    #[error("{field} must be a whole number of milliseconds, got {value}")]
    FractionalMillis { field: &'static str, value: f64 },
    #[error("{field} must not be negative, got {value}")]
    NegativeLatency { field: &'static str, value: f64 },
    #[error("{field} must be at most {MAX_LATENCY_MS} ms, got {value}")]
    LatencyTooLarge { field: &'static str, value: f64 },
    #[error("{field} is a ratio and must lie in [0, 1], got {value}")]
    RatioOutOfRange { field: &'static str, value: f64 },
    #[error("{field} must be one of uniform, normal, lognormal, exponential; got {got:?}")]
    UnknownShape { field: &'static str, got: String },
    #[error("{field} must be one of {}; got {got:?}", Fault::names().collect::<Vec<_>>().join(", "))]
    UnknownFault { field: &'static str, got: String },
    #[error("{field} has no effect while {kind_field} is \"none\": set both")]
    FaultRatioWithoutFault {
        field: &'static str,
        kind_field: &'static str,
    },
    #[error("{min_field} ({min} ms) is greater than {max_field} ({max} ms)")]
    MinAboveMax {
        min_field: &'static str,
        max_field: &'static str,
        min: u64,
        max: u64,
    },
    #[error("the chat {group} weights ({fields}) sum to {sum}, more than 1")]
    WeightsAboveOne {
        group: &'static str,
        fields: &'static str,
        first_field: &'static str,
        sum: f64,
    },
}

impl PhaseError {
    /// The field the problem is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            PhaseError::Malformed(_) | PhaseError::NotAnObject(_) => None,
            PhaseError::UnknownField { key } => Some(key),
            PhaseError::Duplicate { field }
            | PhaseError::WrongType { field, .. }
            | PhaseError::FractionalMillis { field, .. }
            | PhaseError::NegativeLatency { field, .. }
            | PhaseError::LatencyTooLarge { field, .. }
            | PhaseError::RatioOutOfRange { field, .. }
            | PhaseError::UnknownShape { field, .. }
            | PhaseError::UnknownFault { field, .. }
            | PhaseError::FaultRatioWithoutFault { field, .. } => Some(field),
            PhaseError::MinAboveMax { min_field, .. } => Some(min_field),
            PhaseError::WeightsAboveOne { first_field, .. } => Some(first_field),
        }
    }
}

/// The valid key nearest to a mistyped one, when it is near enough to be the likely intent.
fn closest_field(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    field_names()
        .map(|f| (edit_distance(&key, &f.to_ascii_lowercase()), f))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The chat outcome and sentiment groups: each is a cumulative choice whose remainder is
/// Unclassified, so its weights may not sum past 1.
const OUTCOMES: [Ratio; 4] = [
    Ratio::ChatEngaged,
    Ratio::ChatAcknowledged,
    Ratio::ChatRejected,
    Ratio::ChatUnclassified,
];
const SENTIMENTS: [Ratio; 4] = [
    Ratio::ChatSPositive,
    Ratio::ChatSNegative,
    Ratio::ChatSNeutral,
    Ratio::ChatSUnclassified,
];

impl Phase {
    /// The workshop's challenge-1 phase: the original mock's start-up values.
    pub fn workshop_default() -> Phase {
        use Ratio::*;
        let mut ratios = [0.0; RATIO_COUNT];
        for (r, v) in [
            (ChatSuccess, 0.7),
            (ChatSafetyIssue, 0.2),
            (ChatEngaged, 0.5),
            (ChatAcknowledged, 0.15),
            (ChatRejected, 0.25),
            (ChatUnclassified, 0.1),
            (ChatSPositive, 0.4),
            (ChatSNegative, 0.3),
            (ChatSNeutral, 0.1),
            (ChatSUnclassified, 0.2),
            (LoginSuccess, 0.99),
            (StartupSuccess, 0.75),
            (PrefUpdateSuccess, 0.84),
            (PrefGetSuccess, 0.99),
        ] {
            ratios[r as usize] = v;
        }
        let range = |min, max| LatencyRange::new(min, max, Shape::Uniform);
        Phase {
            ratios,
            latency: [
                range(10, 200),
                range(1607, 7683),
                range(456, 1634),
                range(153, 348),
                range(463, 745),
            ],
            faults: [FaultSpec::default(); TIMED_COUNT],
        }
    }

    pub fn ratio(&self, r: Ratio) -> f64 {
        self.ratios[r as usize]
    }

    pub fn latency(&self, t: Timed) -> &LatencyRange {
        &self.latency[t as usize]
    }

    pub fn fault(&self, t: Timed) -> FaultSpec {
        self.faults[t as usize]
    }

    /// Chat outcome weights in cumulative-choice order (Engaged, Acknowledged, Rejected, Unclassified).
    pub fn outcome_weights(&self) -> [f64; 4] {
        OUTCOMES.map(|r| self.ratio(r))
    }

    /// Chat sentiment weights in cumulative-choice order (Positive, Negative, Neutral, Unclassified).
    pub fn sentiment_weights(&self) -> [f64; 4] {
        SENTIMENTS.map(|r| self.ratio(r))
    }

    /// Parses `body` and applies its fields on top of `self`; the result is validated as a whole.
    pub fn merged(&self, body: &[u8]) -> Result<Phase, PhaseError> {
        let doc: Value =
            serde_json::from_slice(body).map_err(|e| PhaseError::Malformed(e.to_string()))?;
        let Value::Object(map) = doc else {
            return Err(PhaseError::NotAnObject(json_kind(&doc)));
        };
        let mut next = self.clone();
        let mut seen = [false; FIELDS.len()];
        let mut entries = Vec::with_capacity(map.len());
        for (key, value) in &map {
            let Some(index) = FIELDS
                .iter()
                .position(|(name, _)| name.eq_ignore_ascii_case(key))
            else {
                return Err(PhaseError::UnknownField { key: key.clone() });
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(PhaseError::Duplicate {
                    field: FIELDS[index].0,
                });
            }
            entries.push((FIELDS[index], value));
        }
        // A fault kind of "none" clears its ratio, so kinds go first whatever the key order.
        entries.sort_by_key(|((_, slot), _)| matches!(slot, Slot::FaultRatio(_)));
        for ((field, slot), value) in entries {
            next.set(field, slot, value)?;
        }
        next.validate()?;
        Ok(next)
    }

    fn set(&mut self, field: &'static str, slot: Slot, value: &Value) -> Result<(), PhaseError> {
        match slot {
            Slot::Ratio(r) => self.ratios[r as usize] = parse_ratio(field, value)?,
            Slot::Min(t) => self.latency[t as usize].min_ms = parse_millis(field, value)?,
            Slot::Max(t) => self.latency[t as usize].max_ms = parse_millis(field, value)?,
            Slot::Shape(t) => {
                let s = parse_string(field, value)?;
                self.latency[t as usize].shape =
                    s.parse().map_err(|_| PhaseError::UnknownShape {
                        field,
                        got: s.to_owned(),
                    })?;
            }
            Slot::Fault(t) => {
                let s = parse_string(field, value)?;
                let kind: Fault = s.parse().map_err(|_| PhaseError::UnknownFault {
                    field,
                    got: s.to_owned(),
                })?;
                let spec = &mut self.faults[t as usize];
                spec.kind = kind;
                if kind == Fault::None {
                    spec.ratio = 0.0;
                }
            }
            Slot::FaultRatio(t) => self.faults[t as usize].ratio = parse_ratio(field, value)?,
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), PhaseError> {
        for t in Timed::ALL {
            let f = self.fault(t);
            if f.kind == Fault::None && f.ratio > 0.0 {
                return Err(PhaseError::FaultRatioWithoutFault {
                    field: field_of(Slot::FaultRatio(t)).0,
                    kind_field: field_of(Slot::Fault(t)).0,
                });
            }
        }
        for t in Timed::ALL {
            let l = self.latency(t);
            if l.min_ms > l.max_ms {
                let (min_field, _) = field_of(Slot::Min(t));
                let (max_field, _) = field_of(Slot::Max(t));
                return Err(PhaseError::MinAboveMax {
                    min_field,
                    max_field,
                    min: l.min_ms,
                    max: l.max_ms,
                });
            }
        }
        for (group, fields, members) in [
            (
                "outcome",
                "ChatEngaged + ChatAcknowledged + ChatRejected + ChatUnclassified",
                OUTCOMES,
            ),
            (
                "sentiment",
                "ChatSPositive + ChatSNegative + ChatSNeutral + ChatSUnclassified",
                SENTIMENTS,
            ),
        ] {
            let sum: f64 = members.iter().map(|&r| self.ratio(r)).sum();
            if sum > 1.0 + WEIGHT_SLACK {
                let (first_field, _) = field_of(Slot::Ratio(members[0]));
                return Err(PhaseError::WeightsAboveOne {
                    group,
                    fields,
                    first_field,
                    sum,
                });
            }
        }
        Ok(())
    }

    /// The document as `GET /phase` answers it: `{"CurrentProbMetrics": {...}}`, fields in the
    /// workshop's order.
    pub fn to_document(&self) -> Vec<u8> {
        let mut doc = Vec::with_capacity(1024);
        let mut ser = serde_json::Serializer::new(&mut doc);
        let written = (|| {
            let mut map = ser.serialize_map(Some(1))?;
            map.serialize_entry("CurrentProbMetrics", self)?;
            map.end()
        })();
        // Serializing numbers and static keys into a Vec cannot fail.
        debug_assert!(written.is_ok());
        doc
    }
}

fn field_of(slot: Slot) -> (&'static str, Slot) {
    let found = FIELDS.iter().find(|(_, s)| match (s, slot) {
        (Slot::Ratio(a), Slot::Ratio(b)) => *a == b,
        (Slot::Min(a), Slot::Min(b)) | (Slot::Max(a), Slot::Max(b)) => *a == b,
        (Slot::Shape(a), Slot::Shape(b))
        | (Slot::Fault(a), Slot::Fault(b))
        | (Slot::FaultRatio(a), Slot::FaultRatio(b)) => *a == b,
        _ => false,
    });
    // FIELDS lists every slot; the table test below keeps it that way.
    *found.expect("every slot has a field name")
}

fn parse_string<'v>(field: &'static str, value: &'v Value) -> Result<&'v str, PhaseError> {
    value.as_str().ok_or(PhaseError::WrongType {
        field,
        expected: "a string",
        got: json_kind(value),
    })
}

fn parse_ratio(field: &'static str, value: &Value) -> Result<f64, PhaseError> {
    let Some(v) = value.as_f64() else {
        return Err(PhaseError::WrongType {
            field,
            expected: "a number in [0, 1]",
            got: json_kind(value),
        });
    };
    if !(0.0..=1.0).contains(&v) {
        return Err(PhaseError::RatioOutOfRange { field, value: v });
    }
    Ok(v)
}

fn parse_millis(field: &'static str, value: &Value) -> Result<u64, PhaseError> {
    if let Some(v) = value.as_u64() {
        if v > MAX_LATENCY_MS {
            return Err(PhaseError::LatencyTooLarge {
                field,
                value: v as f64,
            });
        }
        return Ok(v);
    }
    let Some(v) = value.as_f64() else {
        return Err(PhaseError::WrongType {
            field,
            expected: "a whole number of milliseconds",
            got: json_kind(value),
        });
    };
    if v < 0.0 {
        Err(PhaseError::NegativeLatency { field, value: v })
    } else if v.fract() != 0.0 {
        Err(PhaseError::FractionalMillis { field, value: v })
    } else if v > MAX_LATENCY_MS as f64 {
        Err(PhaseError::LatencyTooLarge { field, value: v })
    } else {
        // A whole number written with a decimal point, such as 200.0.
        Ok(v as u64)
    }
}

impl Serialize for Phase {
    /// The original's 24 fields in the workshop's order; a latency shape only when it is not the
    /// default, so a workshop payload reads back exactly as it was posted.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for &(name, slot) in FIELDS {
            match slot {
                Slot::Ratio(r) => map.serialize_entry(name, &self.ratio(r))?,
                Slot::Min(t) => map.serialize_entry(name, &self.latency(t).min_ms)?,
                Slot::Max(t) => map.serialize_entry(name, &self.latency(t).max_ms)?,
                Slot::Shape(t) => {
                    let shape = self.latency(t).shape;
                    if shape != Shape::Uniform {
                        map.serialize_entry(name, shape.name())?;
                    }
                }
                Slot::Fault(t) if self.fault(t).kind != Fault::None => {
                    map.serialize_entry(name, self.fault(t).kind.name())?;
                }
                Slot::FaultRatio(t) if self.fault(t).kind != Fault::None => {
                    map.serialize_entry(name, &self.fault(t).ratio)?;
                }
                Slot::Fault(_) | Slot::FaultRatio(_) => {}
            }
        }
        map.end()
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_has_exactly_one_field() {
        for (name, slot) in FIELDS {
            assert_eq!(field_of(*slot).0, *name);
        }
        assert_eq!(FIELDS.len(), RATIO_COUNT + 5 * TIMED_COUNT);
    }

    #[test]
    fn default_round_trips_through_its_document() {
        let p = Phase::workshop_default();
        let doc: Value = serde_json::from_slice(&p.to_document()).unwrap();
        let inner = serde_json::to_vec(&doc["CurrentProbMetrics"]).unwrap();
        assert_eq!(doc["CurrentProbMetrics"].as_object().unwrap().len(), 24);
        assert_eq!(Phase::workshop_default().merged(&inner).unwrap(), p);
    }

    #[test]
    fn a_typo_gets_a_suggestion() {
        let e = Phase::workshop_default()
            .merged(br#"{"chatsucess": 0.5}"#)
            .unwrap_err();
        assert!(
            e.to_string().contains(r#"did you mean "ChatSuccess"?"#),
            "{e}"
        );
    }

    #[test]
    fn whole_millis_with_a_decimal_point_are_accepted() {
        let p = Phase::workshop_default()
            .merged(br#"{"loginlatencyminms": 20.0}"#)
            .unwrap();
        assert_eq!(p.latency(Timed::Login).min_ms, 20);
    }
}
