//! `/split`, the small API that changes a running load's split, as `gcloud run services
//! update-traffic` moves traffic while it flows. `GET /split` answers the weights in force and
//! the changes so far; `POST /split {"good":100}` changes them by Cloud Run's rule (the names not
//! given share what is left of 100). Bad input gets a 400 whose `error` is the reason.
//! [`handle_split`] is the whole logic; `--web`'s pages (the swarm page, the run page) mount it
//! on their address.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use engine::load::live_split::LiveSplit;

/// Answers `GET` or `POST /split` for `split`: the status and the JSON body to send.
/// `GET`: `{"weights": {...}, "events": [...]}`. `POST` with `{"NAME": WEIGHT, ...}`: the new
/// weights and the event, or 400 with `{"error": "..."}`. Other methods: 405. The event's
/// `requests_before` are each target's requests at the moment of the change, read under the same
/// lock as the change itself; a later `GET` adds what the old split still routed (a journey's task
/// under way keeps its target), and the counts are final at the end.
pub fn handle_split(split: &LiveSplit, method: &Method, body: &[u8]) -> (StatusCode, Value) {
    let weights = |s: &LiveSplit| -> BTreeMap<String, u32> { s.weights().into_iter().collect() };
    if method == Method::GET {
        return (
            StatusCode::OK,
            json!({ "weights": weights(split), "events": split.events() }),
        );
    }
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "error": "use GET /split, or POST /split with {\"NAME\": WEIGHT, ...}" }),
        );
    }
    let given = match parse_weights(body) {
        Ok(g) => g,
        Err(message) => return (StatusCode::BAD_REQUEST, json!({ "error": message })),
    };
    match split.change(&given) {
        Ok(event) => (
            StatusCode::OK,
            json!({ "weights": weights(split), "event": event }),
        ),
        Err(e) => (StatusCode::BAD_REQUEST, json!({ "error": e.to_string() })),
    }
}

/// `{"good": 100, "canary": 0}` as (name, weight) pairs, in the order given.
fn parse_weights(body: &[u8]) -> Result<Vec<(String, u32)>, String> {
    let how = "send a JSON object of target names and whole percentages, e.g. {\"good\": 100}";
    let value: Value =
        scenarios::json::from_slice(body).map_err(|e| format!("not JSON ({e}): {how}"))?;
    let Value::Object(map) = value else {
        return Err(format!("not a JSON object: {how}"));
    };
    map.into_iter()
        .map(|(name, w)| {
            w.as_u64()
                .and_then(|w| u32::try_from(w).ok())
                .filter(|w| *w <= 100)
                .map(|w| (name.clone(), w))
                .ok_or_else(|| format!("{name}: {w} is not a whole percentage from 0 to 100"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use http::{Method, StatusCode};

    use super::handle_split;
    use engine::load::live_split::LiveSplit;

    #[test]
    fn get_post_and_bad_input() {
        let s = LiveSplit::new(&[("good".into(), 50), ("canary".into(), 50)]);
        let (code, body) = handle_split(&s, &Method::GET, b"");
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["weights"]["canary"], 50);
        let (code, body) = handle_split(&s, &Method::POST, br#"{"good":100}"#);
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["weights"]["canary"], 0);
        assert_eq!(body["event"]["weights_before"]["canary"], 50);
        for (bad, says) in [
            (&b"{"[..], "not JSON"),
            (b"[1]", "not a JSON object"),
            (br#"{"good":-1}"#, "good: -1 is not a whole percentage"),
            (br#"{"good":101}"#, "good: 101 is not a whole percentage"),
            (br#"{"nope":1}"#, "\"nope\" is not a target of this run"),
            (br#"{"good":0,"canary":0}"#, "all weights are 0"),
            // Meant as a rollback; serde_json alone would keep the last value.
            (br#"{"good":100,"good":0}"#, "duplicate key \"good\""),
        ] {
            let (code, body) = handle_split(&s, &Method::POST, bad);
            assert_eq!(code, StatusCode::BAD_REQUEST);
            let error = body["error"].as_str().unwrap();
            assert!(error.contains(says), "{error:?} should say {says:?}");
        }
        assert_eq!(
            handle_split(&s, &Method::DELETE, b"").0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(s.events().len(), 1);
    }
}
