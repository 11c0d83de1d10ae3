//! `slo_report`: where each SLO stands right now, read from the recording rules a Prometheus
//! server evaluates. It uses the recorded series only, so it reads real and time-compressed rules
//! alike (their names carry the real windows), and it agrees with what the alerts see.
//!
//! What it promises to say plainly, whatever the rules' time scale:
//! - the period as it plays: under rules compressed 60x, "1d at 60x = 24m" (the factor is read
//!   from the loaded rules: a `..._rate5m` series computed over `[5s]`);
//! - how much data the numbers stand on ("over 1m of data"), since a fresh Prometheus holds
//!   much less than a period;
//! - the budget used as the share of the whole period's budget those errors spent (so one
//!   healthy minute reads 3%, not "28% left"), and overspend as a multiple ("3.2x");
//! - the alerts firing for each SLO;
//! - "-" in every cell that has no value, for whatever reason.

use std::collections::BTreeSet;
use std::fmt::{self, Write};

use serde::Serialize;

use crate::client::api::{ApiError, PrometheusClient};
use crate::duration::PromDuration;
use crate::rules::{error_ratio_series, num, recorded_windows};
use crate::spec::Spec;

/// Every SLO of the spec, in spec order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// How many times faster than real time the loaded rules run (60 for the compressed file),
    /// `None` when no SLO rule of the spec is loaded.
    pub time_scale: Option<u32>,
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
    /// The spec's period (real time).
    pub period: String,
    /// The period as it plays under the loaded rules' time scale (`24m` for `1d` at 60x);
    /// `None` in real time.
    pub period_played: Option<String>,
    /// Seconds of data the period's numbers stand on, at most the played period: from the
    /// first evaluation with traffic to now.
    pub data_secs: Option<f64>,
    /// Ratio of good events over the data there (at most a period), 0..=1.
    pub sli: Option<f64>,
    /// Share of the whole period's error budget the errors so far spent, assuming steady
    /// traffic: error ratio / budget x data / period. 0 untouched, 1 spent, above 1 overspent
    /// (3.2 is 3.2x the budget).
    pub budget_used: Option<f64>,
    /// Error ratio divided by the error budget, per recorded window, shortest first.
    pub burn_rates: Vec<WindowBurn>,
    /// The SLO's alerts now firing, by name.
    pub firing: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WindowBurn {
    pub window: String,
    pub burn_rate: Option<f64>,
}

/// Asks `prometheus_url` for every recorded error ratio of the spec's SLOs, the loaded rules
/// (for their time scale), the history of each period ratio and the firing alerts.
pub async fn slo_report(prometheus_url: &str, spec: &Spec) -> Result<Report, ApiError> {
    let client = PrometheusClient::new(prometheus_url)?;
    let samples = client
        .query(r#"{__name__=~"slo:sli_error:ratio_rate.+"}"#)
        .await?;
    let time_scale = time_scale(&client.rule_groups().await?);
    let scale = time_scale.unwrap_or(1);
    let alerts = client.alerts().await?;
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
    let mut slos = Vec::with_capacity(spec.slos.len());
    for slo in &spec.slos {
        let budget = slo.error_budget();
        let series = error_ratio_series(slo.period);
        let period_ratio = ratio(&slo.name, &series);
        let played = PromDuration::from_millis((slo.period.as_millis() / u64::from(scale)).max(1));
        let data_secs = data_span(&client, &slo.name, &series, played).await?;
        let period_secs = played.as_millis() as f64 / 1000.0;
        let firing: BTreeSet<String> = alerts
            .iter()
            .filter(|a| a.state == "firing" && a.labels.get("slo") == Some(&slo.name))
            .filter_map(|a| a.labels.get("alertname").cloned())
            .collect();
        slos.push(SloStatus {
            name: slo.name.clone(),
            service: slo.service.clone(),
            objective: slo.objective,
            period: slo.period.to_string(),
            period_played: (scale > 1).then(|| played.to_string()),
            data_secs,
            sli: period_ratio.map(|r| 1.0 - r),
            budget_used: period_ratio
                .zip(data_secs)
                .map(|(r, d)| r / budget * (d / period_secs).min(1.0)),
            burn_rates: recorded_windows(spec, slo)
                .into_iter()
                .map(|w| WindowBurn {
                    window: w.to_string(),
                    burn_rate: ratio(&slo.name, &error_ratio_series(w)).map(|r| r / budget),
                })
                .collect(),
            firing: firing.into_iter().collect(),
        });
    }
    Ok(Report { time_scale, slos })
}

/// The loaded rules' time scale: the 5m error ratio's name over the window its query reads
/// (`slo:sli_error:ratio_rate5m` computed over `[5s]` is 60x).
pub fn time_scale(groups: &[crate::client::api::RuleGroup]) -> Option<u32> {
    groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.kind == "recording")
        .find_map(|r| {
            let named =
                PromDuration::parse(r.name.strip_prefix("slo:sli_error:ratio_rate")?).ok()?;
            let (_, rest) = r.query.split_once('[')?;
            let (window, _) = rest.split_once(']')?;
            let read = PromDuration::parse(window).ok()?;
            let factor = named.as_millis() / read.as_millis().max(1);
            u32::try_from(factor).ok().filter(|f| *f >= 1)
        })
}

/// Seconds from the first sample of `series` with a number (traffic) within the last `played`
/// to the newest one: how much data the period's ratio stands on.
async fn data_span(
    client: &PrometheusClient,
    slo: &str,
    series: &str,
    played: PromDuration,
) -> Result<Option<f64>, ApiError> {
    let history = client
        .range(&format!("{series}{{slo={slo:?}}}[{played}]"))
        .await?;
    let finite = history
        .iter()
        .flat_map(|s| &s.samples)
        .filter(|(_, v)| v.is_finite())
        .map(|(t, _)| *t);
    let (first, last) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| {
        (lo.min(t), hi.max(t))
    });
    Ok((first <= last).then_some(last - first))
}

/// A span of seconds as Prometheus writes durations, to the second (`1m5s`); under a second,
/// `0s`.
fn span(secs: f64) -> String {
    PromDuration::from_secs(secs.round().max(0.0) as u64).to_string()
}

impl Report {
    pub fn to_json(&self) -> String {
        // Only strings, finite floats and options: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// "-": the one mark for a cell without a value.
const NONE: &str = "-";

/// The budget used: a percentage up to the whole budget, a multiple beyond it.
fn used(v: Option<f64>) -> String {
    match v {
        None => NONE.to_owned(),
        Some(v) if v > 1.0 => format!("{v:.1}x"),
        Some(v) => format!("{:.1}%", v * 100.0),
    }
}

/// A fixed-width table: one row per SLO, one burn-rate column per window any SLO records, the
/// firing alerts last; a legend under it says what the columns count.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let windows: Vec<(u64, &str)> = self
            .slos
            .iter()
            .flat_map(|s| &s.burn_rates)
            .map(|b| {
                let ms = PromDuration::parse(&b.window).map_or(0, |d| d.as_millis());
                (ms, b.window.as_str())
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let period = |s: &SloStatus| match (&s.period_played, self.time_scale) {
            (Some(played), Some(scale)) => format!("{} at {scale}x = {played}", s.period),
            _ => s.period.clone(),
        };
        let pct =
            |v: Option<f64>| v.map_or_else(|| NONE.to_owned(), |v| format!("{:.2}%", v * 100.0));
        let width =
            |title: &str, cells: Vec<usize>| cells.into_iter().max().unwrap_or(0).max(title.len());
        let name_w = width("SLO", self.slos.iter().map(|s| s.name.len()).collect());
        let period_w = width(
            "PERIOD",
            self.slos.iter().map(|s| period(s).len()).collect(),
        );
        let mut out = format!(
            "{:name_w$}  {:>9}  {:period_w$}  {:>7}  {:>8}  {:>11}",
            "SLO", "OBJECTIVE", "PERIOD", "DATA", "SLI", "BUDGET USED"
        );
        let column = |w: &str| (w.len() + 5).max(7);
        for (_, w) in &windows {
            let _ = write!(out, "  {:>1$}", format!("BURN {w}"), column(w));
        }
        out.push_str("  FIRING");
        writeln!(f, "{out}")?;
        for slo in &self.slos {
            let mut out = format!(
                "{:name_w$}  {:>9}  {:period_w$}  {:>7}  {:>8}  {:>11}",
                slo.name,
                format!("{}%", num(slo.objective)),
                period(slo),
                slo.data_secs.map_or_else(|| NONE.to_owned(), span),
                pct(slo.sli),
                used(slo.budget_used),
            );
            for (_, w) in &windows {
                let cell = slo
                    .burn_rates
                    .iter()
                    .find(|b| b.window == *w)
                    .and_then(|b| b.burn_rate)
                    .map_or_else(|| NONE.to_owned(), |r| format!("{r:.2}x"));
                let cw = column(w);
                let _ = write!(out, "  {cell:>cw$}");
            }
            let firing = if slo.firing.is_empty() {
                NONE.to_owned()
            } else {
                slo.firing.join(", ")
            };
            let _ = write!(out, "  {firing}");
            writeln!(f, "{}", out.trim_end())?;
        }
        writeln!(
            f,
            "\nSLI and BUDGET USED count the DATA there, at most one period. BUDGET USED is the share \
             of the whole period's\nerror budget those errors spent at steady traffic; above 100% it \
             is a multiple (3.2x: overspent 3.2 times).\n{NONE}: no value (no traffic in the window, \
             rules not loaded or not yet evaluated, or a window the SLO does not record)."
        )?;
        if let Some(scale) = self.time_scale.filter(|s| *s > 1) {
            writeln!(
                f,
                "The loaded rules run {scale}x faster than real time: windows keep their real \
                 names (BURN 1h reads the last {}).",
                PromDuration::from_millis(3_600_000 / u64::from(scale))
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(
        name: &str,
        sli: Option<f64>,
        used: Option<f64>,
        burns: &[(&str, Option<f64>)],
    ) -> SloStatus {
        SloStatus {
            name: name.into(),
            service: "movieguru".into(),
            objective: 99.0,
            period: "1d".into(),
            period_played: Some("24m".into()),
            data_secs: sli.map(|_| 65.0),
            sli,
            budget_used: used,
            burn_rates: burns
                .iter()
                .map(|(w, b)| WindowBurn {
                    window: (*w).into(),
                    burn_rate: *b,
                })
                .collect(),
            firing: Vec::new(),
        }
    }

    #[test]
    fn the_table_names_the_compressed_period_the_data_and_overspend_as_a_multiple() {
        let mut burning = status(
            "chat-latency",
            Some(0.7),
            Some(3.2),
            &[("5m", Some(30.0)), ("1d", Some(30.0))],
        );
        burning.firing = vec!["ChatLatencyFastBurn5m".into(), "ChatLatencyPage1h".into()];
        let report = Report {
            time_scale: Some(60),
            slos: vec![
                burning,
                status("login", Some(0.999), Some(0.03), &[("3d", None)]),
                status("startup", None, None, &[("5m", None)]),
            ],
        };
        let table = report.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].ends_with("BURN 5m  BURN 1d  BURN 3d  FIRING"),
            "{table}"
        );
        assert!(lines[0].contains("PERIOD"), "{table}");
        assert!(lines[1].contains("1d at 60x = 24m"), "{table}");
        assert!(lines[1].contains("1m5s"), "{table}");
        assert!(
            lines[1].contains("  3.2x"),
            "overspent as a multiple: {table}"
        );
        assert!(!table.contains("-2"), "no negative budget: {table}");
        assert!(
            lines[1].ends_with("ChatLatencyFastBurn5m, ChatLatencyPage1h"),
            "{table}"
        );
        assert!(lines[2].contains("  3.0%"), "{table}");
        // One mark for every missing value: a window the SLO does not record, a window
        // without a number, no data, no alert firing.
        let cells: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "startup", "99%", "1d", "at", "60x", "=", "24m", "-", "-", "-", "-", "-", "-", "-"
            ],
            "{table}"
        );
        assert!(table.contains("BURN 1h reads the last 1m"), "{table}");
        assert!(
            table.lines().all(|l| l == l.trim_end()),
            "no trailing blanks: {table:?}"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["time_scale"], 60);
        assert_eq!(json["slos"][0]["burn_rates"][0]["burn_rate"], 30.0);
        assert_eq!(json["slos"][0]["budget_used"], 3.2);
        assert!(json["slos"][2]["sli"].is_null());
    }

    #[test]
    fn the_time_scale_is_read_from_the_loaded_rules() {
        let rule = |name: &str, query: &str| crate::client::api::LoadedRule {
            name: name.into(),
            kind: "recording".into(),
            health: "ok".into(),
            last_error: None,
            query: query.into(),
            labels: Default::default(),
        };
        let groups = |rules| {
            vec![crate::client::api::RuleGroup {
                name: "slo-x".into(),
                file: "rules.yml".into(),
                rules,
            }]
        };
        let compressed = groups(vec![rule(
            "slo:sli_error:ratio_rate5m",
            "1 - sum(rate(good[5s])) / sum(rate(total[5s]))",
        )]);
        assert_eq!(time_scale(&compressed), Some(60));
        let real = groups(vec![rule(
            "slo:sli_error:ratio_rate1h",
            "1 - sum(rate(good[1h])) / sum(rate(total[1h]))",
        )]);
        assert_eq!(time_scale(&real), Some(1));
        assert_eq!(time_scale(&groups(vec![rule("other", "x[5s]")])), None);
    }
}
