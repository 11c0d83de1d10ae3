//! Why a phase document was refused, naming the field, with a suggestion for a mistyped key.

use super::fields::{MAX_LATENCY_MS, field_names};
use crate::answer::fault::Fault;

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
    FractionalMillis {
        field: &'static str,
        value: serde_json::Number,
    },
    #[error("{field} must not be negative, got {value}")]
    NegativeLatency {
        field: &'static str,
        value: serde_json::Number,
    },
    #[error("{field} must be at most {MAX_LATENCY_MS} ms, got {value}")]
    LatencyTooLarge {
        field: &'static str,
        value: serde_json::Number,
    },
    #[error("{field} is a ratio and must lie in [0, 1], got {value}")]
    RatioOutOfRange {
        field: &'static str,
        value: serde_json::Number,
    },
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
