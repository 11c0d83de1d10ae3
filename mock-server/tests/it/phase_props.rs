//! Property tests of the phase parser: never a panic, accepted exactly when valid (against an
//! independent model of the rules), and a refused document never changes the phase in force.

use mock_server::Phase;
use mock_server::metrics::Metrics;
use mock_server::phase::{MAX_LATENCY_MS, field_names};
use mock_server::state::PhaseStore;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A key: mostly a real field in a random letter case, sometimes a near miss.
fn key() -> impl Strategy<Value = String> {
    let fields: Vec<&'static str> = field_names().collect();
    prop_oneof![
        8 => (proptest::sample::select(fields.clone()), any::<u64>()).prop_map(|(f, bits)| {
            f.chars()
                .enumerate()
                .map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() })
                .collect()
        }),
        1 => proptest::sample::select(fields).prop_map(|f| format!("{f}x")),
        1 => "[a-zA-Z]{1,12}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0.0..=1.0f64).prop_map(Value::from),
        3 => (0u64..10_000).prop_map(Value::from),
        1 => (-2.0..3.0f64).prop_map(Value::from),
        1 => (-100i64..0).prop_map(Value::from),
        1 => (0u64..u64::MAX).prop_map(Value::from),
        1 => (0u64..5000).prop_map(|v| Value::from(v as f64 + 0.5)),
        1 => proptest::sample::select(vec!["uniform", "normal", "LogNormal", "exponential", "weibull", ""]).prop_map(Value::from),
        1 => proptest::sample::select(vec!["none", "reset", "Hang", "empty", "truncated", "slow-body", "drop", "boom"]).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(json!([1])),
    ]
}

fn document() -> impl Strategy<Value = Vec<(String, Value)>> {
    proptest::collection::vec((key(), value()), 0..8)
}

/// The rules, written again independently of the parser: what a valid merge is.
fn model(base: &Value, doc: &[(String, Value)]) -> Option<Value> {
    let mut phase = base.as_object().unwrap().clone();
    let mut seen = std::collections::HashSet::new();
    let mut fields = Vec::new();
    for (k, v) in doc {
        let field = field_names().find(|f| f.eq_ignore_ascii_case(k))?;
        if !seen.insert(field) {
            return None;
        }
        fields.push((field, v));
    }
    // Fault kinds first: "none" clears the ratio, whatever order the keys came in.
    fields.sort_by_key(|(f, _)| f.ends_with("FaultRatio"));
    for (field, v) in fields {
        if field.ends_with("FaultRatio") {
            let r = v.as_f64()?;
            if !(0.0..=1.0).contains(&r) {
                return None;
            }
            phase.insert(field.into(), Value::from(r));
        } else if field.ends_with("Fault") {
            let s = v.as_str()?.to_ascii_lowercase();
            if ![
                "none",
                "reset",
                "hang",
                "empty",
                "truncated",
                "slow-body",
                "drop",
            ]
            .contains(&s.as_str())
            {
                return None;
            }
            if s == "none" {
                phase.remove(&format!("{field}Ratio"));
            }
            phase.insert(field.into(), Value::from(s));
        } else if field.ends_with("Distribution") {
            let s = v.as_str()?.to_ascii_lowercase();
            if !["uniform", "normal", "lognormal", "exponential"].contains(&s.as_str()) {
                return None;
            }
            phase.insert(field.into(), Value::from(s));
        } else if field.ends_with("MS") {
            let ms = v.as_f64()?;
            if ms < 0.0 || ms.fract() != 0.0 || ms > MAX_LATENCY_MS as f64 {
                return None;
            }
            phase.insert(field.into(), Value::from(ms as u64));
        } else {
            let r = v.as_f64()?;
            if !(0.0..=1.0).contains(&r) {
                return None;
            }
            phase.insert(field.into(), Value::from(r));
        }
    }
    for p in ["Login", "Chat", "Startup", "PrefGet", "PrefUpdate"] {
        if phase[&format!("{p}LatencyMinMS")].as_u64()?
            > phase[&format!("{p}LatencyMaxMS")].as_u64()?
        {
            return None;
        }
    }
    for group in [
        [
            "ChatEngaged",
            "ChatAcknowledged",
            "ChatRejected",
            "ChatUnclassified",
        ],
        [
            "ChatSPositive",
            "ChatSNegative",
            "ChatSNeutral",
            "ChatSUnclassified",
        ],
    ] {
        if group
            .iter()
            .map(|f| phase[*f].as_f64().unwrap())
            .sum::<f64>()
            > 1.0 + 1e-6
        {
            return None;
        }
    }
    for p in ["Login", "Chat", "Startup", "PrefGet", "PrefUpdate"] {
        let kind = phase
            .get(&format!("{p}Fault"))
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_owned();
        let ratio = phase
            .get(&format!("{p}FaultRatio"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        if kind == "none" && ratio > 0.0 {
            return None;
        }
        if kind == "none" {
            phase.remove(&format!("{p}Fault"));
            phase.remove(&format!("{p}FaultRatio"));
        } else if !phase.contains_key(&format!("{p}FaultRatio")) {
            phase.insert(format!("{p}FaultRatio"), Value::from(0.0));
        }
    }
    // Uniform is the default and is not written out.
    phase.retain(|k, v| !(k.ends_with("Distribution") && v == "uniform"));
    Some(Value::Object(phase))
}

fn body(doc: &[(String, Value)]) -> Vec<u8> {
    // Built by hand: a Map would silently drop a repeated key, which the parser must refuse.
    let fields: Vec<String> = doc
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", fields.join(",")).into_bytes()
}

fn read_back(p: &Phase) -> Value {
    let doc: Value = serde_json::from_slice(&p.to_document()).unwrap();
    doc["CurrentProbMetrics"].clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn accepted_exactly_when_the_model_says_valid(doc in document()) {
        let base = Phase::workshop_default();
        let got = base.merged(&body(&doc));
        let want = model(&read_back(&base), &doc);
        match (&got, &want) {
            (Ok(p), Some(w)) => prop_assert_eq!(&read_back(p), w),
            (Err(_), None) => {}
            _ => prop_assert!(false, "parser {:?} but model {:?} for {}", got.as_ref().map(|_| "accepted"), want.is_some(), String::from_utf8_lossy(&body(&doc))),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Phase::workshop_default().merged(&bytes);
    }

    #[test]
    fn a_refused_document_leaves_the_store_unchanged(doc in document()) {
        let metrics = Metrics::new(None).unwrap();
        let store = PhaseStore::new(Phase::workshop_default(), &metrics);
        let before = read_back(&store.current());
        match store.update(&body(&doc), &metrics) {
            Ok(p) => prop_assert_eq!(read_back(&store.current()), read_back(&p)),
            Err(_) => prop_assert_eq!(read_back(&store.current()), before),
        }
    }
}

#[test]
fn json_that_is_not_an_object_is_refused() {
    for doc in ["null", "1", "\"x\"", "[]", "true"] {
        assert!(
            Phase::workshop_default().merged(doc.as_bytes()).is_err(),
            "{doc}"
        );
    }
}
