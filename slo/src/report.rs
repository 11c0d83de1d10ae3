//! `slo_report`: where each SLO stands right now, read from the recording rules a Prometheus
//! server evaluates. It uses the recorded series only, so it reads real and time-compressed rules
//! alike (their names carry the real windows), and it agrees with what the alerts see.

use std::collections::BTreeSet;
use std::fmt::{self, Write};

use serde::Serialize;

use crate::api::{ApiError, PrometheusClient};
use crate::rules::{error_ratio_series, num, recorded_windows};
use crate::spec::Spec;

/// Every SLO of the spec, in spec order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub slos: Vec<SloStatus>,
}

/// One SLO. Values are `None` when Prometheus has no number for them: no traffic in the window
/// (0/0), rules not loaded, or not evaluated yet.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SloStatus {
    pub name: String,
    pub service: String,
    /// Percent, as in the spec.
    pub objective: f64,
    pub period: String,
    /// Ratio of good events over the period, 0..=1.
    pub sli: Option<f64>,
    /// Share of the period's error budget not yet spent: 1 untouched, 0 spent, negative overspent.
    pub error_budget_remaining: Option<f64>,
    /// Error ratio divided by the error budget, per recorded window, shortest first.
    pub burn_rates: Vec<WindowBurn>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WindowBurn {
    pub window: String,
    pub burn_rate: Option<f64>,
}

/// Asks `prometheus_url` for every recorded error ratio of the spec's SLOs, in one query.
pub async fn slo_report(prometheus_url: &str, spec: &Spec) -> Result<Report, ApiError> {
    let client = PrometheusClient::new(prometheus_url)?;
    let samples = client
        .query(r#"{__name__=~"slo:sli_error:ratio_rate.+"}"#)
        .await?;
    let ratio = |slo: &str, series: &str| {
        samples
            .iter()
            .find(|s| {
                s.labels.get("__name__").is_some_and(|n| n == series)
                    && s.labels.get("slo").is_some_and(|n| n == slo)
            })
            .map(|s| s.value)
            .filter(|v| v.is_finite())
    };
    let slos = spec
        .slos
        .iter()
        .map(|slo| {
            let budget = slo.error_budget();
            let period_ratio = ratio(&slo.name, &error_ratio_series(slo.period));
            SloStatus {
                name: slo.name.clone(),
                service: slo.service.clone(),
                objective: slo.objective,
                period: slo.period.to_string(),
                sli: period_ratio.map(|r| 1.0 - r),
                error_budget_remaining: period_ratio.map(|r| 1.0 - r / budget),
                burn_rates: recorded_windows(spec, slo)
                    .into_iter()
                    .map(|w| WindowBurn {
                        window: w.to_string(),
                        burn_rate: ratio(&slo.name, &error_ratio_series(w)).map(|r| r / budget),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Report { slos })
}

impl Report {
    pub fn to_json(&self) -> String {
        // Only strings, finite floats and options: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// A fixed-width table: one row per SLO, one burn-rate column per window any SLO records.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let windows: Vec<(u64, &str)> = self
            .slos
            .iter()
            .flat_map(|s| &s.burn_rates)
            .map(|b| {
                let ms =
                    crate::duration::PromDuration::parse(&b.window).map_or(0, |d| d.as_millis());
                (ms, b.window.as_str())
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let width = self
            .slos
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(3)
            .max(3);
        let mut out = format!(
            "{:width$}  {:>9}  {:>6}  {:>8}  {:>11}",
            "SLO", "OBJECTIVE", "PERIOD", "SLI", "BUDGET LEFT"
        );
        let column = |w: &str| (w.len() + 5).max(7);
        for (_, w) in &windows {
            let _ = write!(out, "  {:>1$}", format!("BURN {w}"), column(w));
        }
        writeln!(f, "{}", out.trim_end())?;
        let pct =
            |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0));
        for slo in &self.slos {
            let mut out = format!(
                "{:width$}  {:>9}  {:>6}  {:>8}  {:>11}",
                slo.name,
                format!("{}%", num(slo.objective)),
                slo.period,
                pct(slo.sli),
                pct(slo.error_budget_remaining),
            );
            for (_, w) in &windows {
                // A blank cell: the SLO does not record this window; "-": no value in it.
                let cell = match slo.burn_rates.iter().find(|b| b.window == *w) {
                    None => String::new(),
                    Some(WindowBurn {
                        burn_rate: None, ..
                    }) => "-".to_owned(),
                    Some(WindowBurn {
                        burn_rate: Some(r), ..
                    }) => format!("{r:.2}x"),
                };
                let cw = column(w);
                let _ = write!(out, "  {cell:>cw$}");
            }
            writeln!(f, "{}", out.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_column_per_window_and_dashes_for_missing_values() {
        let report = Report {
            slos: vec![
                SloStatus {
                    name: "canary-availability".into(),
                    service: "mock-server".into(),
                    objective: 95.0,
                    period: "1d".into(),
                    sli: Some(0.9),
                    error_budget_remaining: Some(-1.0),
                    burn_rates: vec![
                        WindowBurn {
                            window: "5m".into(),
                            burn_rate: Some(2.0),
                        },
                        WindowBurn {
                            window: "1d".into(),
                            burn_rate: Some(2.0),
                        },
                    ],
                },
                SloStatus {
                    name: "login".into(),
                    service: "movieguru".into(),
                    objective: 99.0,
                    period: "7d".into(),
                    sli: None,
                    error_budget_remaining: None,
                    burn_rates: vec![WindowBurn {
                        window: "3d".into(),
                        burn_rate: None,
                    }],
                },
            ],
        };
        let table = report.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].ends_with("BURN 5m  BURN 1d  BURN 3d"), "{table}");
        assert!(
            lines[1].contains("90.00%") && lines[1].contains("-100.00%"),
            "{table}"
        );
        assert!(lines[1].contains("2.00x"), "{table}");
        assert!(lines[2].contains("      -  "), "{table}");
        assert!(
            table.lines().all(|l| l == l.trim_end()),
            "no trailing blanks: {table:?}"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["slos"][0]["burn_rates"][0]["burn_rate"], 2.0);
        assert!(json["slos"][1]["sli"].is_null());
    }
}
