//! The one reader of Prometheus text expositions in the test suites: samples by series text,
//! and the few look-ups the tests make of them.

use std::collections::BTreeMap;

/// The samples of a Prometheus text exposition, by full series text as exposed, e.g.
/// `movieguru_chat_outcome_counter_total{Outcome="Engaged"}`. Panics on a line that is not a
/// sample, so a broken exposition fails the test that read it.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample line: {l:?}"));
            let value = value
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("sample {series}: value {value:?}: {e}"));
            (series.to_owned(), value)
        })
        .collect()
}

/// A counter's value, 0 when absent (a counter never incremented).
pub fn value(samples: &BTreeMap<String, f64>, series: &str) -> u64 {
    samples.get(series).copied().unwrap_or(0.0) as u64
}

/// A sample that must be there; panics, naming it, when it is not.
#[track_caller]
pub fn sample(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples
        .get(series)
        .copied()
        .unwrap_or_else(|| panic!("no sample {series} in /metrics"))
}

/// The value of label `name` in a series text, e.g. `200` for `code` in
/// `http_requests_total{code="200",route="/"}`.
pub fn label<'a>(series: &'a str, name: &str) -> Option<&'a str> {
    let (_, labels) = series.split_once('{')?;
    let key = format!("{name}=\"");
    let start = if labels.starts_with(&key) {
        0
    } else {
        labels.find(&format!(",{key}"))? + 1
    };
    labels[start + key.len()..].split('"').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_and_skips_comments() {
        let m = parse_metrics(
            "# HELP a_total A.\n# TYPE a_total counter\na_total 3\nb{l=\"x y\"} 0.5\n\nc +Inf\n",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(m["a_total"], 3.0);
        assert_eq!(m["b{l=\"x y\"}"], 0.5);
        assert_eq!(m["c"], f64::INFINITY);
        assert_eq!((value(&m, "a_total"), value(&m, "absent")), (3, 0));
        assert_eq!(sample(&m, "b{l=\"x y\"}"), 0.5);
    }

    #[test]
    fn reads_a_label_by_its_whole_name() {
        let s = r#"http_requests_total{code="503",method="GET",xcode="1"}"#;
        assert_eq!(label(s, "code"), Some("503"));
        assert_eq!(label(s, "method"), Some("GET"));
        assert_eq!(label(s, "route"), None);
        assert_eq!(label("up", "code"), None);
    }
}
