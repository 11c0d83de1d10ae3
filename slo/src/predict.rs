//! When a burn-rate alert fires and resolves, from the burn-rate formula: the predictions the
//! generated promtool tests assert, and the ones an end-to-end test can assert against a live
//! Prometheus.
//!
//! Model: constant traffic whose error ratio steps from `healthy` to `breach` at t=0 (and back at
//! recovery). A window's error ratio is the average over the part of the window that has data,
//! which is what `rate()` computes; so with less history than the window (a short warm-up, or a
//! freshly started Prometheus) the window fills with breach data sooner and fires earlier. That
//! is the "bad from t=0 fires at once" trap, made quantitative.

use std::time::Duration;

use crate::duration::Compression;
use crate::spec::{Policy, Slo};

/// Seconds after the breach starts at which one window's error ratio exceeds `threshold`, given
/// `history` seconds of healthy data before it. `None` when it never does.
pub fn window_crosses_after(
    window: f64,
    history: f64,
    healthy: f64,
    breach: f64,
    threshold: f64,
) -> Option<f64> {
    if breach <= threshold {
        return None;
    }
    if healthy > threshold {
        return Some(0.0);
    }
    // While the window still has room (history + t <= window), its ratio is
    // (healthy*history + breach*t) / (history + t); once full, (healthy*(window - t) + breach*t) / window.
    let filling = history * (threshold - healthy) / (breach - threshold);
    if history + filling <= window {
        return Some(filling);
    }
    Some(window * (threshold - healthy) / (breach - healthy))
}

/// Seconds after recovery at which a window that held only breach data drops back to or under
/// `threshold`.
pub fn window_clears_after(window: f64, healthy: f64, breach: f64, threshold: f64) -> f64 {
    window * ((breach - threshold) / (breach - healthy)).clamp(0.0, 1.0)
}

/// When `slo`'s alert of `policy` fires after a breach begins: when the last of its windows
/// crosses the threshold. `history` is how long healthy traffic ran before (in the compressed
/// time, if any); `compression` divides every window.
pub fn fires_after(
    slo: &Slo,
    policy: &Policy,
    healthy_ratio: f64,
    breach_ratio: f64,
    history: Duration,
    compression: Compression,
) -> Option<Duration> {
    let threshold = policy.burn_rate * slo.error_budget();
    let mut latest: f64 = 0.0;
    for window in policy.windows() {
        let w = window.as_millis() as f64 / 1000.0 / f64::from(compression.factor());
        let t = window_crosses_after(
            w,
            history.as_secs_f64(),
            healthy_ratio,
            breach_ratio,
            threshold,
        )?;
        latest = latest.max(t);
    }
    Some(Duration::from_secs_f64(latest))
}

/// When the alert resolves after traffic turns healthy again, assuming the breach lasted at least
/// the shortest window: when the shortest window drops back under the threshold.
pub fn resolves_after(
    slo: &Slo,
    policy: &Policy,
    healthy_ratio: f64,
    breach_ratio: f64,
    compression: Compression,
) -> Duration {
    let threshold = policy.burn_rate * slo.error_budget();
    let shortest = policy
        .windows()
        .min()
        .map_or(0.0, |w| w.as_millis() as f64 / 1000.0);
    let seconds = window_clears_after(shortest, healthy_ratio, breach_ratio, threshold);
    Duration::from_secs_f64(seconds / f64::from(compression.factor()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The model the formulas solve: the error ratio of a window `t` seconds into the breach.
    fn ratio(t: f64, window: f64, history: f64, healthy: f64, breach: f64) -> f64 {
        let bad = t.min(window);
        let good = history.min(window - bad);
        (healthy * good + breach * bad) / (good + bad)
    }

    proptest! {
        #[test]
        fn at_the_predicted_instant_the_window_is_at_the_threshold(
            window in 1.0f64..1e6,
            history in 0.0f64..2e6,
            healthy in 0.0f64..0.5,
            threshold in 0.01f64..0.99,
            excess in 0.001f64..1.0,
        ) {
            prop_assume!(healthy < threshold);
            let breach = threshold + (1.0 - threshold) * excess;
            let t = window_crosses_after(window, history, healthy, breach, threshold).unwrap();
            prop_assert!(t <= window);
            if history > 0.0 {
                let at = ratio(t, window, history, healthy, breach);
                prop_assert!((at - threshold).abs() < 1e-9, "ratio {} at t={}", at, t);
            }
        }
    }

    #[test]
    fn a_full_window_needs_the_workbook_share_of_its_length() {
        // 14.4x on a 1% budget with every request failing: 14.4% of the hour, 8.64 minutes.
        let t = window_crosses_after(3600.0, 3600.0, 0.0, 1.0, 0.144).unwrap();
        assert!((t - 518.4).abs() < 1e-9, "{t}");
    }

    #[test]
    fn a_window_without_history_fires_at_once() {
        assert_eq!(
            window_crosses_after(3600.0, 0.0, 0.0, 1.0, 0.144),
            Some(0.0)
        );
        // 10 minutes of healthy history in a 1h window: 10m * 0.144 / 0.856 = 100.9 s.
        let t = window_crosses_after(3600.0, 600.0, 0.0, 1.0, 0.144).unwrap();
        assert!((t - 600.0 * 0.144 / 0.856).abs() < 1e-9, "{t}");
    }

    #[test]
    fn the_prediction_is_continuous_where_the_window_fills() {
        // History chosen so the filling answer lands exactly on the full window.
        let (w, th, e) = (100.0, 0.2, 1.0);
        let history = w * (e - th) / e;
        let filling = window_crosses_after(w, history, 0.0, e, th).unwrap();
        let full = window_crosses_after(w, 1e9, 0.0, e, th).unwrap();
        assert!((filling - full).abs() < 1e-9, "{filling} vs {full}");
    }

    #[test]
    fn a_breach_under_the_threshold_never_fires() {
        assert_eq!(window_crosses_after(300.0, 300.0, 0.0, 0.1, 0.1), None);
    }
}
