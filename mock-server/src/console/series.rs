//! Reads series out of a gathered registry, by name and label matchers, exactly as the
//! exposition `/metrics` writes them (`_bucket{le="5000"}`, `_count`, `_sum`), so a selector
//! from the SLO spec picks here the series Prometheus would pick there.

use prometheus::proto::{Metric, MetricFamily, MetricType};
use regex::Regex;
use slo::selector::{MatchOp, Selector};

/// A selector with its regexes compiled once (anchored, as PromQL's are).
#[derive(Debug, Clone)]
pub struct Compiled {
    metric: String,
    matchers: Vec<(String, Match)>,
}

#[derive(Debug, Clone)]
enum Match {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

impl Match {
    fn matches(&self, value: &str) -> bool {
        match self {
            Match::Equal(v) => value == v,
            Match::NotEqual(v) => value != v,
            Match::Regex(r) => r.is_match(value),
            Match::NotRegex(r) => !r.is_match(value),
        }
    }
}

impl Compiled {
    pub fn new(selector: &Selector) -> Result<Compiled, regex::Error> {
        let matchers = selector
            .matchers
            .iter()
            .map(|m| {
                let anchored = || Regex::new(&format!("^(?:{})$", m.value));
                let op = match m.op {
                    MatchOp::Equal => Match::Equal(m.value.clone()),
                    MatchOp::NotEqual => Match::NotEqual(m.value.clone()),
                    MatchOp::Regex => Match::Regex(anchored()?),
                    MatchOp::NotRegex => Match::NotRegex(anchored()?),
                };
                Ok((m.label.clone(), op))
            })
            .collect::<Result<_, regex::Error>>()?;
        Ok(Compiled {
            metric: selector.metric.clone(),
            matchers,
        })
    }

    /// A bare metric name with no matchers.
    pub fn name(metric: &str) -> Compiled {
        Compiled {
            metric: metric.to_owned(),
            matchers: Vec::new(),
        }
    }

    /// A metric name with `label="value"` matchers.
    pub fn with_labels(metric: &str, labels: &[(&str, &str)]) -> Compiled {
        Compiled {
            metric: metric.to_owned(),
            matchers: labels
                .iter()
                .map(|(l, v)| ((*l).to_owned(), Match::Equal((*v).to_owned())))
                .collect(),
        }
    }

    fn accepts(&self, metric: &Metric, extra: Option<(&str, &str)>) -> bool {
        self.matchers.iter().all(|(label, m)| {
            let value = match extra {
                Some((name, value)) if name == label => value,
                _ => metric
                    .get_label()
                    .iter()
                    .find(|l| l.name() == label)
                    .map_or("", |l| l.value()),
            };
            m.matches(value)
        })
    }

    /// The sum of every series the selector picks (0 when it picks none, as `sum()` over an
    /// absent series would be treated on a dashboard).
    pub fn sum(&self, families: &[MetricFamily]) -> f64 {
        let mut total = 0.0;
        for family in families {
            let name = family.name();
            let Some(suffix) = self.metric.strip_prefix(name) else {
                continue;
            };
            for m in family.get_metric() {
                total += match (family.get_field_type(), suffix) {
                    (MetricType::COUNTER, "") if self.accepts(m, None) => {
                        m.get_counter().get_value()
                    }
                    (MetricType::GAUGE, "") if self.accepts(m, None) => m.get_gauge().get_value(),
                    (MetricType::HISTOGRAM, "_count") if self.accepts(m, None) => {
                        m.get_histogram().get_sample_count() as f64
                    }
                    (MetricType::HISTOGRAM, "_sum") if self.accepts(m, None) => {
                        m.get_histogram().get_sample_sum()
                    }
                    (MetricType::HISTOGRAM, "_bucket") => bucket_sum(self, m),
                    _ => 0.0,
                };
            }
        }
        total
    }
}

/// Buckets as the text exposition names them: `le` is the bound printed as Rust prints an
/// f64 (`5000`, `0.5`), plus the `+Inf` bucket holding every observation.
fn bucket_sum(sel: &Compiled, m: &Metric) -> f64 {
    let h = m.get_histogram();
    let finite: f64 = h
        .get_bucket()
        .iter()
        .filter(|b| sel.accepts(m, Some(("le", &b.upper_bound().to_string()))))
        .map(|b| b.cumulative_count() as f64)
        .sum();
    let inf = if sel.accepts(m, Some(("le", "+Inf"))) {
        h.get_sample_count() as f64
    } else {
        0.0
    };
    finite + inf
}

/// Cumulative `(upper bound, count)` pairs of the first histogram named `name`, `+Inf` last.
pub fn histogram_buckets(families: &[MetricFamily], name: &str) -> Vec<(f64, u64)> {
    families
        .iter()
        .find(|f| f.name() == name && f.get_field_type() == MetricType::HISTOGRAM)
        .and_then(|f| f.get_metric().first())
        .map(|m| {
            let h = m.get_histogram();
            h.get_bucket()
                .iter()
                .map(|b| (b.upper_bound(), b.cumulative_count()))
                .chain(std::iter::once((f64::INFINITY, h.get_sample_count())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};

    fn registry() -> Registry {
        let r = Registry::new();
        let h = Histogram::with_opts(
            HistogramOpts::new("lat_ms", "l").buckets(vec![1000.0, 5000.0, 10000.0]),
        )
        .unwrap();
        r.register(Box::new(h.clone())).unwrap();
        for v in [500.0, 4000.0, 7000.0, 20000.0] {
            h.observe(v);
        }
        let c = IntCounterVec::new(Opts::new("req_total", "r"), &["route", "code"]).unwrap();
        r.register(Box::new(c.clone())).unwrap();
        c.with_label_values(&["/", "200"]).inc_by(7);
        c.with_label_values(&["/", "500"]).inc_by(3);
        c.with_label_values(&["/chat", "503"]).inc_by(5);
        r
    }

    fn sum(text: &str) -> f64 {
        let sel = Selector::parse(text).unwrap();
        Compiled::new(&sel).unwrap().sum(&registry().gather())
    }

    #[test]
    fn picks_buckets_counts_and_labels_as_promql_would() {
        assert_eq!(sum(r#"lat_ms_bucket{le=~"5000|5000\\.0"}"#), 2.0);
        assert_eq!(sum(r#"lat_ms_bucket{le="+Inf"}"#), 4.0);
        assert_eq!(sum("lat_ms_count"), 4.0);
        assert_eq!(sum(r#"req_total{route="/", code!~"5.."}"#), 7.0);
        assert_eq!(sum(r#"req_total{route="/"}"#), 10.0);
        assert_eq!(sum(r#"req_total{code=~"5.."}"#), 8.0);
        // Anchored: "5" alone does not match "500".
        assert_eq!(sum(r#"req_total{code=~"5"}"#), 0.0);
        assert_eq!(sum("absent_total"), 0.0);
    }

    #[test]
    fn buckets_come_out_cumulative_with_inf_last() {
        let b = histogram_buckets(&registry().gather(), "lat_ms");
        assert_eq!(
            b,
            [(1000.0, 1), (5000.0, 2), (10000.0, 3), (f64::INFINITY, 4)]
        );
    }
}
