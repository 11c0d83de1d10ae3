//! The JSON document: parsing a (partial) phase, merging it onto another, and writing one
//! back in the workshop's field order.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::error::PhaseError;
use super::fields::{FIELDS, MAX_LATENCY_MS, Slot};
use super::value::Phase;
use crate::answer::fault::Fault;
use crate::answer::latency::Shape;

impl Phase {
    /// Parses `body` and applies its fields on top of `self`; the result is validated as a whole.
    pub fn merged(&self, body: &[u8]) -> Result<Phase, PhaseError> {
        let doc: TopLevel =
            serde_json::from_slice(body).map_err(|e| PhaseError::Malformed(e.to_string()))?;
        let map = match doc {
            TopLevel::Object(map) => map,
            TopLevel::Other(kind) => return Err(PhaseError::NotAnObject(kind)),
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

/// The top level of a document as written: every key in order with duplicates kept (a
/// `serde_json::Map` keeps only the last, which would let `{"a": "x", "a": 0.3}` through), or
/// the kind of JSON it is instead of an object.
enum TopLevel {
    Object(Vec<(String, Value)>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TopLevel, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = TopLevel;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of fields")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(TopLevel::Object(entries))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TopLevel::Other("an array"))
            }

            fn visit_bool<E>(self, _: bool) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a boolean"))
            }

            fn visit_i64<E>(self, _: i64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a number"))
            }

            fn visit_u64<E>(self, _: u64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a number"))
            }

            fn visit_f64<E>(self, _: f64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a number"))
            }

            fn visit_str<E>(self, _: &str) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a string"))
            }

            fn visit_unit<E>(self) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("null"))
            }
        }
        d.deserialize_any(Top)
    }
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
        return Err(PhaseError::RatioOutOfRange {
            field,
            value: number(value),
        });
    }
    // `-0` is 0: adding +0.0 drops the sign, so it reads back as 0.0, not -0.0.
    Ok(v + 0.0)
}

/// The number as the user wrote it, for a message: an integer such as 18446744073709551615
/// keeps every digit (as an f64 it would read 18446744073709552000).
fn number(value: &Value) -> serde_json::Number {
    match value {
        Value::Number(n) => n.clone(),
        _ => serde_json::Number::from(0),
    }
}

fn parse_millis(field: &'static str, value: &Value) -> Result<u64, PhaseError> {
    if let Some(v) = value.as_u64() {
        if v > MAX_LATENCY_MS {
            return Err(PhaseError::LatencyTooLarge {
                field,
                value: number(value),
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
    let value = number(value);
    if v < 0.0 {
        Err(PhaseError::NegativeLatency { field, value })
    } else if v.fract() != 0.0 {
        Err(PhaseError::FractionalMillis { field, value })
    } else if v > MAX_LATENCY_MS as f64 {
        Err(PhaseError::LatencyTooLarge { field, value })
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
    use crate::phase::fields::Timed;

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
    fn a_key_given_twice_is_refused_even_when_both_values_are_valid() {
        let e = Phase::workshop_default()
            .merged(br#"{"ChatSuccess": 0.5, "ChatSuccess": 0.33}"#)
            .unwrap_err();
        assert_eq!(
            e,
            PhaseError::Duplicate {
                field: "ChatSuccess"
            }
        );
        let e = Phase::workshop_default().merged(b"[1, {}]").unwrap_err();
        assert_eq!(e, PhaseError::NotAnObject("an array"));
    }

    #[test]
    fn whole_millis_with_a_decimal_point_are_accepted() {
        let p = Phase::workshop_default()
            .merged(br#"{"loginlatencyminms": 20.0}"#)
            .unwrap();
        assert_eq!(p.latency(Timed::Login).min_ms, 20);
    }

    /// Issue 24 item 9: `-0` read back as `-0.0`, and a message rounded the number it quoted.
    #[test]
    fn minus_zero_reads_back_as_zero_and_messages_quote_the_number_given() {
        let p = Phase::workshop_default()
            .merged(br#"{"ChatSuccess": -0, "LoginSuccess": -0.0}"#)
            .unwrap();
        let doc = String::from_utf8(p.to_document()).unwrap();
        assert!(doc.contains(r#""ChatSuccess":0.0"#), "{doc}");
        assert!(doc.contains(r#""LoginSuccess":0.0"#), "{doc}");
        assert!(!doc.contains("-0"), "{doc}");
        for body in [
            r#"{"ChatSuccess": 18446744073709551615}"#,
            r#"{"LoginLatencyMinMS": 18446744073709551615}"#,
        ] {
            let e = Phase::workshop_default()
                .merged(body.as_bytes())
                .unwrap_err();
            assert!(e.to_string().ends_with("got 18446744073709551615"), "{e}");
        }
        let e = Phase::workshop_default()
            .merged(br#"{"LoginLatencyMinMS": -12.5}"#)
            .unwrap_err();
        assert!(e.to_string().ends_with("got -12.5"), "{e}");
    }
}
