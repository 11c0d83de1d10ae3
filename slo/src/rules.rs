//! Prometheus rule files from a [`Spec`]: sloth-style recording rules and the Workbook's
//! multiwindow multi-burn-rate alerts, as deterministic text.
//!
//! One function serves both the real rules and the time-compressed copy: the [`Compression`]
//! factor divides every window and the evaluation interval, and nothing else changes. Series and
//! alert names keep the real windows (`slo:sli_error:ratio_rate1h` reads a 1m window at 60x), so
//! queries, dashboards and [`crate::client::report`] work unchanged on either file. A windows-based SLI
//! records each window's verdict first and its error ratios as the share of bad windows, under
//! the same names, so alerts and the report do not care which kind of SLI they read. No rule
//! has a `for:`: the Workbook's short window already demands that the burn is still going on.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::duration::{Compression, PromDuration};
use crate::panels::{PANEL_WINDOW, panel_records};
use crate::spec::{Policy, Sli, Slo, Spec};

/// The rules' evaluation interval before compression: Prometheus' default, which the Workbook's
/// detection times assume.
pub const EVALUATION_INTERVAL: PromDuration = PromDuration::from_secs(60);

/// The window of `slo:current_burn_rate:ratio`, present for every SLO whatever its alerts.
pub const CURRENT_WINDOW: PromDuration = PromDuration::from_secs(300);

/// A duration that the compression factor does not divide into whole milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} {duration} cannot be divided by the compression factor {factor} into whole milliseconds"
)]
pub struct CompressionError {
    pub what: String,
    pub duration: PromDuration,
    pub factor: u32,
}

pub(crate) fn compress(
    what: impl FnOnce() -> String,
    d: PromDuration,
    by: Compression,
) -> Result<PromDuration, CompressionError> {
    d.compress(by).ok_or_else(|| CompressionError {
        what: what(),
        duration: d,
        factor: by.factor(),
    })
}

/// The recorded error ratio of an SLO over a (real, uncompressed) window.
pub fn error_ratio_series(window: PromDuration) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

/// A windows-based SLI's verdict on each trailing window: 1 good, 0 bad, no sample without
/// traffic. Named by the real (uncompressed) window, like the error ratios.
pub fn good_window_series(window: PromDuration) -> String {
    format!("slo:sli_good_window:bool_rate{window}")
}

/// The windows an SLO records, shortest first: the current-burn window, its period, and every
/// window its alert policies read.
pub fn recorded_windows(spec: &Spec, slo: &Slo) -> Vec<PromDuration> {
    let mut windows = BTreeSet::from([CURRENT_WINDOW, slo.period]);
    for &p in &slo.alerts {
        windows.extend(spec.policies[p].windows());
    }
    windows.into_iter().collect()
}

/// The whole rule file: one group per SLO, recordings first so the alerts of the same group read
/// this evaluation's values.
pub fn rules(spec: &Spec, by: Compression) -> Result<String, CompressionError> {
    let mut out = String::new();
    header(&mut out, spec, by);
    out.push_str("groups:\n");
    for slo in &spec.slos {
        let interval = compress(|| "evaluation interval".into(), EVALUATION_INTERVAL, by)?;
        let _ = write!(
            out,
            "  - name: {}\n    interval: {interval}\n    rules:\n",
            quote(&format!("slo-{}", slo.name))
        );
        let this = format!("{{slo={}}}", quote(&slo.name));
        if let Sli::Windows { window, objective } = slo.sli {
            let actual = compress(|| format!("slo {} window", slo.name), window, by)?;
            // A window without traffic is neither good nor bad: `> 0` drops it, where 0/0 would
            // compare false and count as bad.
            let expr = format!(
                "(sum(rate({good}[{actual}])) or vector(0))\n  / (sum(rate({total}[{actual}])) > 0)\n>= bool {}",
                num(objective / 100.0),
                good = slo.good,
                total = slo.total,
            );
            record(&mut out, slo, &good_window_series(window), &expr);
        }
        for window in recorded_windows(spec, slo) {
            let actual = compress(|| format!("slo {} window", slo.name), window, by)?;
            let expr = match slo.sli {
                Sli::Requests => format!(
                    "1 - (sum(rate({good}[{actual}])) or vector(0))\n  / sum(rate({total}[{actual}]))",
                    good = slo.good,
                    total = slo.total,
                ),
                Sli::Windows { window: sli, .. } => format!(
                    "1 - avg_over_time({}{this}[{actual}])",
                    good_window_series(sli)
                ),
            };
            record(&mut out, slo, &error_ratio_series(window), &expr);
        }
        let budget = num(slo.error_budget());
        record(
            &mut out,
            slo,
            "slo:objective:ratio",
            &format!("vector({})", num(slo.objective / 100.0)),
        );
        record(
            &mut out,
            slo,
            "slo:error_budget:ratio",
            &format!("vector({budget})"),
        );
        record(
            &mut out,
            slo,
            "slo:current_burn_rate:ratio",
            &format!("{}{this} / {budget}", error_ratio_series(CURRENT_WINDOW)),
        );
        record(
            &mut out,
            slo,
            "slo:period_error_budget_remaining:ratio",
            &format!("1 - {}{this} / {budget}", error_ratio_series(slo.period)),
        );
        for &p in &slo.alerts {
            alert(&mut out, slo, &spec.policies[p], by)?;
        }
    }
    panel_group(&mut out, by)?;
    Ok(out)
}

/// The dashboards' own series ([`crate::panels`]), one group after the SLOs'.
fn panel_group(out: &mut String, by: Compression) -> Result<(), CompressionError> {
    let interval = compress(|| "evaluation interval".into(), EVALUATION_INTERVAL, by)?;
    let window = compress(|| "dashboard window".into(), PANEL_WINDOW, by)?;
    let _ = write!(
        out,
        "  - name: \"movieguru-dashboards\"\n    interval: {interval}\n    rules:\n"
    );
    for record in panel_records() {
        let _ = writeln!(out, "      - record: {}", record.name);
        block(
            out,
            "expr",
            &record.expr.replace("{W}", &window.to_string()),
        );
        if !record.labels.is_empty() {
            out.push_str("        labels:\n");
            for (k, v) in &record.labels {
                let _ = writeln!(out, "          {k}: {}", quote(v));
            }
        }
    }
    Ok(())
}

fn header(out: &mut String, spec: &Spec, by: Compression) {
    out.push_str(
        "# Generated by the slo crate from the SLO spec: do not edit by hand.\n\
         # Regenerate with: UPDATE_RULES=1 cargo test -p slo --test it\n",
    );
    match by.factor() {
        1 => out.push_str("# Real time.\n"),
        f => {
            let _ = writeln!(
                out,
                "# Time-compressed {f}x: every window and the evaluation interval are divided by {f};\n\
                 # series and alert names keep the real windows."
            );
        }
    }
    // Said where the alerts are looked for, so a missing one reads as a decision, not a bug.
    for skipped in &spec.skipped {
        let _ = writeln!(out, "# Not generated: {skipped}.");
    }
}

fn record(out: &mut String, slo: &Slo, name: &str, expr: &str) {
    let _ = writeln!(out, "      - record: {name}");
    block(out, "expr", expr);
    labels(out, slo, &[]);
}

fn alert(
    out: &mut String,
    slo: &Slo,
    policy: &Policy,
    by: Compression,
) -> Result<(), CompressionError> {
    let threshold = format!("({} * {})", num(policy.burn_rate), num(slo.error_budget()));
    let this = format!("{{slo={}}}", quote(&slo.name));
    let conditions: Vec<String> = policy
        .windows()
        .map(|w| format!("{}{this} > {threshold}", error_ratio_series(w)))
        .collect();
    let _ = writeln!(out, "      - alert: {}", slo.alert_name(policy));
    block(out, "expr", &conditions.join("\nand\n"));
    labels(out, slo, &[("severity", &policy.severity)]);
    let (summary, description) = annotations(slo, policy, by)?;
    let _ = write!(
        out,
        "        annotations:\n          summary: {}\n          description: {}\n",
        quote(&summary),
        quote(&description),
    );
    Ok(())
}

/// An alert's summary and description; the generated promtool tests expect exactly these.
pub(crate) fn annotations(
    slo: &Slo,
    policy: &Policy,
    by: Compression,
) -> Result<(String, String), CompressionError> {
    let mut actual = Vec::new();
    for w in policy.windows() {
        actual.push(compress(|| format!("policy {} window", policy.name), w, by)?.to_string());
    }
    let compressed = match by.factor() {
        1 => String::new(),
        f => format!(" (time-compressed {f}x)"),
    };
    let description = format!(
        "{} Objective {}% over {}. Fires while the error ratio exceeds {} x {} over the {} window{}{compressed}.",
        slo.description,
        num(slo.objective),
        slo.period,
        num(policy.burn_rate),
        num(slo.error_budget()),
        actual.join(" and "),
        if actual.len() > 1 { "s" } else { "" },
    );
    Ok((format!("{}: {}", slo.name, policy.summary), description))
}

/// The labels every generated rule carries, plus `extra`; order fixed for byte-stable output.
fn labels(out: &mut String, slo: &Slo, extra: &[(&str, &str)]) {
    out.push_str("        labels:\n");
    for (k, v) in extra {
        let _ = writeln!(out, "          {k}: {}", quote(v));
    }
    let _ = writeln!(out, "          slo: {}", quote(&slo.name));
    let _ = writeln!(out, "          slo_service: {}", quote(&slo.service));
}

/// A YAML literal block: PromQL keeps its quotes and braces without any escaping.
fn block(out: &mut String, key: &str, text: &str) {
    let _ = writeln!(out, "        {key}: |");
    for line in text.lines() {
        let _ = writeln!(out, "          {line}");
    }
}

/// A YAML double-quoted scalar: JSON's escapes are a subset of YAML's.
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""))
}

/// A number as PromQL and humans like it: `0.01`, not `0.010000000000000009`.
pub(crate) fn num(x: f64) -> String {
    let text = format!("{x:.10}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn numbers_print_without_float_noise() {
        assert_eq!(num((100.0 - 99.0) / 100.0), "0.01");
        assert_eq!(num(14.4), "14.4");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.95), "0.95");
        assert_eq!(num(0.0005), "0.0005");
    }
}
