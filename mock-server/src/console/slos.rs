//! The workshop's SLOs, from the spec embedded in the binary (`scenarios/slo/slos.toml`, the
//! file the Prometheus rules are generated from), judged over the console's window.

use slo::Sli;

use super::sample::{ENDPOINTS, Sample};
use super::series::Compiled;

const SPEC: &str = include_str!("../../../scenarios/slo/slos.toml");

/// One SLO as the console judges it.
#[derive(Debug, Clone)]
pub struct SloDef {
    pub name: String,
    pub description: String,
    /// Fraction of good events, e.g. 0.99.
    pub objective: f64,
    pub period_ms: u64,
    /// Windows-based SLIs: the trailing window and the share of good requests that makes it good.
    pub windows: Option<(u64, f64)>,
    /// A latency SLO's bound, read from its `le` matcher, with the endpoint it bounds.
    pub latency_bound: Option<(&'static str, f64)>,
    /// A success SLO's endpoint (its `good` selector is the endpoint's success counter).
    pub success_of: Option<&'static str>,
}

/// The embedded spec's SLOs and their compiled `good` / `total` selectors. The spec is checked
/// by the `slo` crate's tests; should it ever fail here the console simply shows no SLOs.
pub fn load() -> (Vec<SloDef>, Vec<(Compiled, Compiled)>) {
    let spec = match slo::Spec::from_toml(SPEC) {
        Ok(spec) => spec,
        Err(e) => {
            tracing::error!(error = %e, "the embedded SLO spec is invalid; the console shows no SLOs");
            return (Vec::new(), Vec::new());
        }
    };
    let mut defs = Vec::new();
    let mut selectors = Vec::new();
    for s in spec.slos.iter().take(super::sample::MAX_SLOS) {
        let (Ok(good), Ok(total)) = (Compiled::new(&s.good), Compiled::new(&s.total)) else {
            tracing::error!(slo = %s.name, "an SLO selector has an invalid regex; skipped");
            continue;
        };
        let latency_bound = ENDPOINTS.iter().find_map(|e| {
            let bucket = format!("{}_bucket", e.latency);
            (s.good.metric == bucket).then_some(())?;
            let le = s.good.matchers.iter().find(|m| m.label == "le")?;
            let first = le.value.split('|').next()?.replace('\\', "");
            Some((e.key, first.parse::<f64>().ok()?))
        });
        let success_of = ENDPOINTS
            .iter()
            .find(|e| s.good.metric == e.success)
            .map(|e| e.key);
        defs.push(SloDef {
            name: s.name.clone(),
            description: s.description.clone(),
            objective: s.objective / 100.0,
            period_ms: s.period.as_millis(),
            windows: match s.sli {
                Sli::Requests => None,
                Sli::Windows { window, objective } => Some((window.as_millis(), objective / 100.0)),
            },
            latency_bound,
            success_of,
        });
        selectors.push((good, total));
    }
    (defs, selectors)
}

/// How an SLO stands over the console's window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SloStatus {
    pub name: String,
    pub description: String,
    /// Fraction, e.g. 0.99.
    pub objective: f64,
    /// Good over total in the window (for a windows-based SLI: in its trailing window); `None`
    /// without events.
    pub sli: Option<f64>,
    /// Share of the whole period's error budget the window's errors used up.
    pub budget_consumed: Option<f64>,
    /// Error ratio over the last 5 minutes (or the window, if shorter) divided by the budget.
    pub burn_rate: Option<f64>,
    /// `good`, `breached` or `no data`.
    pub state: &'static str,
}

const BURN_LOOKBACK_MS: u64 = 5 * 60 * 1000;

/// Judges SLO `i` between `base` (the window's start), `recent` (the burn lookback's start)
/// and `now`.
pub fn status(def: &SloDef, i: usize, base: &Sample, recent: &Sample, now: &Sample) -> SloStatus {
    let ratio = |from: &Sample| {
        let good = now.slo[i].0 - from.slo[i].0;
        let total = now.slo[i].1 - from.slo[i].1;
        (total > 0.0).then(|| (good / total).clamp(0.0, 1.0))
    };
    let budget = 1.0 - def.objective;
    let window_ms = now.at_ms.saturating_sub(base.at_ms);
    let (sli, error_ratio, recent_error) = match def.windows {
        None => {
            let sli = ratio(base);
            (sli, sli.map(|s| 1.0 - s), ratio(recent).map(|s| 1.0 - s))
        }
        // The trailing window is what decides a window good or bad: a bad one is all error.
        Some((_, window_objective)) => {
            let sli = ratio(recent);
            let err = sli.map(|s| if s >= window_objective { 0.0 } else { 1.0 });
            (sli, err, err)
        }
    };
    let state = match (sli, def.windows) {
        (None, _) => "no data",
        (Some(s), Some((_, wo))) if s < wo => "breached",
        (Some(s), None) if s < def.objective => "breached",
        _ => "good",
    };
    SloStatus {
        name: def.name.clone(),
        description: def.description.clone(),
        objective: def.objective,
        sli,
        budget_consumed: error_ratio
            .map(|e| e / budget * window_ms as f64 / def.period_ms.max(1) as f64),
        burn_rate: recent_error.map(|e| e / budget),
        state,
    }
}

/// The burn-rate lookback's start: 5 minutes before `now`, or the window's start if later.
pub fn burn_lookback_ms(now_ms: u64, window_start_ms: u64) -> u64 {
    now_ms.saturating_sub(BURN_LOOKBACK_MS).max(window_start_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_spec_loads_with_thresholds_for_the_dashboards() {
        let (defs, sels) = load();
        assert_eq!(defs.len(), sels.len());
        let chat = defs.iter().find(|d| d.name == "chat-latency").unwrap();
        assert_eq!(chat.latency_bound, Some(("chat", 5000.0)));
        assert_eq!(chat.objective, 0.99);
        let startup = defs.iter().find(|d| d.name == "startup-success").unwrap();
        assert_eq!(startup.success_of, Some("startup"));
        let canary = defs
            .iter()
            .find(|d| d.name == "canary-availability")
            .unwrap();
        assert_eq!(canary.windows, Some((300_000, 0.95)));
    }

    fn at(ms: u64, good: f64, total: f64) -> Sample {
        let mut s = Sample {
            at_ms: ms,
            ..Sample::default()
        };
        s.slo[0] = (good, total);
        s
    }

    #[test]
    fn a_request_sli_below_its_objective_is_breached_with_its_burn_rate() {
        let def = SloDef {
            name: "x".into(),
            description: String::new(),
            objective: 0.99,
            period_ms: 86_400_000,
            windows: None,
            latency_bound: None,
            success_of: None,
        };
        let st = status(
            &def,
            0,
            &at(0, 0.0, 0.0),
            &at(0, 0.0, 0.0),
            &at(300_000, 900.0, 1000.0),
        );
        assert_eq!(st.state, "breached");
        assert!((st.sli.unwrap() - 0.9).abs() < 1e-12);
        assert!((st.burn_rate.unwrap() - 10.0).abs() < 1e-9);
        // 10x burn for 5 minutes of a day: 10 * 5 / 1440 of the budget.
        assert!((st.budget_consumed.unwrap() - 10.0 * 300.0 / 86_400.0).abs() < 1e-9);
        let none = status(
            &def,
            0,
            &at(0, 5.0, 5.0),
            &at(0, 5.0, 5.0),
            &at(1000, 5.0, 5.0),
        );
        assert_eq!((none.state, none.sli), ("no data", None));
    }
}
