//! SLO gates (`--slo 'p99<500ms'`): parsing, and judging a finished report against them.
//!
//! A gate names a metric, a comparison and a threshold, optionally scoped to one target
//! (`next:error_rate<1%`). Latency gates read the corrected latency when the run had a `--rate`.

use std::fmt;
use std::time::Duration;

use crate::report::{GateOutcome, Report, TargetReport};

/// What a gate measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Share of requests that failed: transport errors plus responses with status >= 400.
    ErrorRate,
    /// A latency quantile in 0..=1 (p99 is 0.99).
    Quantile(f64),
    Mean,
    /// Completed requests per second over the run.
    Rps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds(self, actual: f64, threshold: f64) -> bool {
        match self {
            Cmp::Lt => actual < threshold,
            Cmp::Le => actual <= threshold,
            Cmp::Gt => actual > threshold,
            Cmp::Ge => actual >= threshold,
        }
    }
}

/// One parsed gate. `threshold` is in the metric's base unit: a fraction for error_rate,
/// seconds for latencies, requests per second for rps.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub text: String,
    pub target: Option<String>,
    pub metric: Metric,
    pub cmp: Cmp,
    pub threshold: f64,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Gate {
    type Err = String;

    fn from_str(text: &str) -> Result<Gate, String> {
        let spec = text.trim();
        let (target, expr) = match spec.split_once(':') {
            Some((t, e)) if !t.is_empty() => (Some(t.trim().to_string()), e.trim()),
            _ => (None, spec),
        };
        let op_at = expr.find(['<', '>']).ok_or_else(|| {
            format!("gate {text:?} has no comparison; write e.g. 'p99<500ms' or 'error_rate<1%'")
        })?;
        let name = expr[..op_at].trim();
        let rest = &expr[op_at..];
        let (cmp, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Cmp::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Cmp::Ge, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Cmp::Lt, v)
        } else {
            (Cmp::Gt, &rest[1..])
        };
        let value = value.trim();
        let metric = match name {
            "error_rate" => Metric::ErrorRate,
            "mean" => Metric::Mean,
            "rps" => Metric::Rps,
            p if p.starts_with('p') => {
                let q: f64 = p[1..]
                    .parse()
                    .map_err(|_| format!("gate {text:?}: unknown metric {name:?}"))?;
                if !(q > 0.0 && q <= 100.0) {
                    return Err(format!("gate {text:?}: percentile must be in (0, 100]"));
                }
                Metric::Quantile(q / 100.0)
            }
            _ => {
                return Err(format!(
                    "gate {text:?}: unknown metric {name:?} (error_rate, p50, p90, p95, p99, p99.9, mean, rps)"
                ));
            }
        };
        let threshold = match metric {
            Metric::ErrorRate => parse_fraction(value),
            Metric::Quantile(_) | Metric::Mean => humantime::parse_duration(value)
                .ok()
                .map(|d: Duration| d.as_secs_f64()),
            Metric::Rps => value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0),
        }
        .ok_or_else(|| format!("gate {text:?}: {value:?} is not a valid threshold for {name}"))?;
        Ok(Gate {
            text: spec.to_string(),
            target,
            metric,
            cmp,
            threshold,
        })
    }
}

/// `1%` or `0.01`.
fn parse_fraction(v: &str) -> Option<f64> {
    let f = match v.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
        None => v.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&f).then_some(f)
}

impl Gate {
    pub fn judge(&self, report: &Report) -> GateOutcome {
        let scope: &TargetReport = match &self.target {
            Some(name) => report
                .targets
                .iter()
                .find(|t| &t.name == name)
                .unwrap_or(&report.total),
            None => &report.total,
        };
        let actual = match self.metric {
            Metric::ErrorRate => scope.error_rate,
            Metric::Rps => scope.rps,
            Metric::Mean => scope.latency.histogram.mean() / 1e6,
            Metric::Quantile(q) => scope.latency.histogram.value_at_quantile(q) as f64 / 1e6,
        };
        GateOutcome {
            gate: self.text.clone(),
            actual,
            threshold: self.threshold,
            held: self.cmp.holds(actual, self.threshold),
        }
    }

    /// How to print an actual value of this gate's metric.
    pub fn format_value(&self, v: f64) -> String {
        match self.metric {
            Metric::ErrorRate => format!("{:.3}%", v * 100.0),
            Metric::Rps => format!("{v:.2} req/s"),
            Metric::Quantile(_) | Metric::Mean => format!("{v:.4} secs"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(s: &str) -> Gate {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_issue_examples() {
        let g = gate("error_rate<1%");
        assert_eq!(
            (g.metric, g.cmp, g.threshold, g.target),
            (Metric::ErrorRate, Cmp::Lt, 0.01, None)
        );
        let g = gate("p99<500ms");
        assert_eq!((g.metric, g.threshold), (Metric::Quantile(0.99), 0.5));
        let g = gate("p99.9 <= 1s");
        assert_eq!((g.cmp, g.threshold), (Cmp::Le, 1.0));
        assert!(matches!(g.metric, Metric::Quantile(q) if (q - 0.999).abs() < 1e-12));
        let g = gate("next:error_rate<1%");
        assert_eq!(g.target.as_deref(), Some("next"));
        assert_eq!(gate("rps>=100").cmp, Cmp::Ge);
        assert_eq!(gate("mean<20ms").threshold, 0.02);
        assert_eq!(gate("error_rate<0.05").threshold, 0.05);
    }

    #[test]
    fn rejects_bad_gates_with_a_reason() {
        for bad in [
            "p99",
            "latency<1s",
            "p99<fast",
            "error_rate<150%",
            "p0<1s",
            "rps>-1",
        ] {
            let err = bad.parse::<Gate>().unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}
