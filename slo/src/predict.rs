//! When a burn-rate alert fires and resolves, from the burn-rate formula: the predictions the
//! generated promtool tests assert, and the ones an end-to-end test can assert against a live
//! Prometheus.
//!
//! Model: constant traffic whose error ratio steps from `healthy` to `breach` at t=0 (and back at
//! recovery). A window's error ratio is the average over the part of the window that has data,
//! which is what `rate()` computes; so with less history than the window (a short warm-up, or a
//! freshly started Prometheus) the window fills with breach data sooner and fires earlier. That
//! is the "bad from t=0 fires at once" trap, made quantitative.
//!
//! [`History`] and [`firing_spans`] run the same model over a whole scenario (healthy, breach,
//! recovery, with any history length), with the binomial spread of each window, so a live test
//! can tell what must happen from what chance may decide.

use std::time::Duration;

use crate::duration::Compression;
use crate::spec::{Policy, Sli, Slo};

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
/// time, if any); `compression` divides every window. The ratios are of requests; for a
/// windows-based SLI, the SLI window first turns bad (when its request error ratio crosses the
/// window's allowance), and the share of bad windows then grows from 0 to 1.
pub fn fires_after(
    slo: &Slo,
    policy: &Policy,
    healthy_ratio: f64,
    breach_ratio: f64,
    history: Duration,
    compression: Compression,
) -> Option<Duration> {
    let threshold = policy.burn_rate * slo.error_budget();
    let history = history.as_secs_f64();
    let (delay, healthy_ratio, breach_ratio) = match slo.sli {
        Sli::Requests => (0.0, healthy_ratio, breach_ratio),
        Sli::Windows { window, objective } => {
            let allowed = 1.0 - objective / 100.0;
            let w = seconds(window, compression);
            let turns_bad = window_crosses_after(w, history, healthy_ratio, breach_ratio, allowed)?;
            let bad = |ratio: f64| f64::from(u8::from(ratio > allowed));
            (turns_bad, bad(healthy_ratio), 1.0)
        }
    };
    let mut latest: f64 = 0.0;
    for window in policy.windows() {
        let w = seconds(window, compression);
        let t = window_crosses_after(w, history, healthy_ratio, breach_ratio, threshold)?;
        latest = latest.max(t);
    }
    Some(Duration::from_secs_f64(delay + latest))
}

fn seconds(window: crate::duration::PromDuration, compression: Compression) -> f64 {
    window.as_millis() as f64 / 1000.0 / f64::from(compression.factor())
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
        .map_or(0.0, |w| seconds(w, compression));
    let after = match slo.sli {
        Sli::Requests => window_clears_after(shortest, healthy_ratio, breach_ratio, threshold),
        // The SLI window turns good again, then the bad windows leave the shortest window.
        Sli::Windows { window, objective } => {
            let allowed = 1.0 - objective / 100.0;
            window_clears_after(
                seconds(window, compression),
                healthy_ratio,
                breach_ratio,
                allowed,
            ) + window_clears_after(shortest, 0.0, 1.0, threshold)
        }
    };
    Duration::from_secs_f64(after)
}

/// A history of traffic whose error ratio (and rate) changes in steps, as Prometheus stores it
/// from its first sample on: a scenario with several phases (healthy, breach, recovery), where
/// [`fires_after`] and [`resolves_after`] describe one step each. A window reaching back before
/// the first sample sees only what exists, as `rate()` does.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// `(seconds, error ratio, events per second)` in order.
    segments: Vec<(f64, f64, f64)>,
    /// Events of the SLI per second for [`History::then`]: sets the spread of a window's ratio.
    events_per_sec: f64,
    /// Whether each step's count of events is itself drawn (a journey picks its tasks at
    /// random by weight), which moves a window's ratio wherever it spans steps of different
    /// ratios; a fixed rate per endpoint (`false`) does not.
    random_counts: bool,
    /// Prometheus needs two samples for a rate, so a window with less data than this has no value.
    scrape_interval: f64,
}

/// A window's error ratio as the model sees it at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowRatio {
    /// Bad events over all events in the window, as a ratio of `rate()`s computes it.
    pub ratio: f64,
    /// Its binomial standard deviation (each event bad independently, at its segment's ratio).
    pub sd: f64,
    /// Its standard deviation from the counts alone, with [`History::counted_at_random`]: a
    /// step holding more or fewer events than its rate says weighs more or less in the window.
    pub sd_count: f64,
    /// How many events the window holds.
    pub events: f64,
    /// How many of its steps can draw either way (a ratio strictly between 0 and 1): a step
    /// at 0 or 1 draws the same every time, whatever the draws.
    pub uncertain_steps: u32,
}

/// How far chance may move a window's error ratio from the one its phases set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spread {
    /// Independent draws (the mock's `--draws random`): this many binomial standard deviations,
    /// up for positive (fires first, resolves last), down for negative.
    Sigmas(f64),
    /// Exact draws (`--draws exact`): in any run of n consecutive events of one step the bad
    /// ones are within `events` of n times its ratio, and the counts' own spread moves the
    /// ratio by `sigmas` of [`WindowRatio::sd_count`]; both signed the same way, as `Sigmas`.
    Exact { events: f64, sigmas: f64 },
}

impl Spread {
    /// The phases' own ratios, moved by nothing.
    pub const NONE: Spread = Spread::Sigmas(0.0);

    /// `w`'s ratio moved by this spread.
    pub fn apply(self, w: WindowRatio) -> f64 {
        match self {
            Spread::Sigmas(k) => w.ratio + k * w.sd.hypot(w.sd_count),
            Spread::Exact { events, sigmas } => {
                let draws = events * f64::from(w.uncertain_steps) / w.events.max(1.0);
                (w.ratio + draws + sigmas * w.sd_count).clamp(0.0, 1.0)
            }
        }
    }

    /// The other edge of the band.
    pub fn opposite(self) -> Spread {
        match self {
            Spread::Sigmas(k) => Spread::Sigmas(-k),
            Spread::Exact { events, sigmas } => Spread::Exact {
                events: -events,
                sigmas: -sigmas,
            },
        }
    }
}

impl History {
    pub fn new(events_per_sec: f64, scrape_interval: Duration) -> Self {
        Self {
            segments: Vec::new(),
            events_per_sec,
            random_counts: false,
            scrape_interval: scrape_interval.as_secs_f64(),
        }
    }

    /// The same history, each step's count of events drawn (Poisson, as a weighted random pick
    /// of tasks at a steady rate gives, near enough).
    pub fn counted_at_random(mut self) -> Self {
        self.random_counts = true;
        self
    }

    /// Appends `duration` of traffic at `error_ratio`, at the history's events per second.
    pub fn then(self, duration: Duration, error_ratio: f64) -> Self {
        let events = self.events_per_sec;
        self.then_at(duration, error_ratio, events)
    }

    /// Appends `duration` of traffic at `error_ratio` and `events_per_sec` (a step's own load).
    pub fn then_at(mut self, duration: Duration, error_ratio: f64, events_per_sec: f64) -> Self {
        self.segments
            .push((duration.as_secs_f64(), error_ratio, events_per_sec));
        self
    }

    /// Seconds of history.
    pub fn len_secs(&self) -> f64 {
        self.segments.iter().map(|(d, _, _)| d).sum()
    }

    /// The error ratio over the `window` seconds before `at`, its spread and its events; `None`
    /// with less than a scrape interval of data, or no events.
    pub fn window(&self, window: f64, at: f64) -> Option<WindowRatio> {
        let from = (at - window).max(0.0);
        // (events, ratio) of each step's part inside the window.
        let mut parts = Vec::new();
        let mut seconds = 0.0;
        let mut start = 0.0;
        for &(length, ratio, rate) in &self.segments {
            let overlap = (start + length).min(at) - start.max(from);
            if overlap > 0.0 {
                seconds += overlap;
                parts.push((overlap * rate, ratio));
            }
            start += length;
        }
        let events: f64 = parts.iter().map(|(n, _)| n).sum();
        if seconds < self.scrape_interval || events <= 0.0 {
            return None;
        }
        let ratio = parts.iter().map(|(n, r)| n * r).sum::<f64>() / events;
        let variance: f64 = parts.iter().map(|(n, r)| n * r * (1.0 - r)).sum();
        let count_variance: f64 = if self.random_counts {
            parts.iter().map(|(n, r)| n * (r - ratio).powi(2)).sum()
        } else {
            0.0
        };
        let uncertain_steps = parts
            .iter()
            .filter(|(n, r)| *n > 0.0 && *r > 0.0 && *r < 1.0)
            .count() as u32;
        Some(WindowRatio {
            ratio,
            sd: variance.sqrt() / events,
            sd_count: count_variance.sqrt() / events,
            events,
            uncertain_steps,
        })
    }

    /// [`History::window`]'s ratio and standard deviation.
    pub fn window_ratio(&self, window: f64, at: f64) -> Option<(f64, f64)> {
        self.window(window, at).map(|w| (w.ratio, w.sd))
    }
}

/// A stretch of a [`History`] during which an alert fires, in seconds from its start; `until`
/// is `None` when it still fires at the end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub from: f64,
    pub until: Option<f64>,
}

/// Time step of [`firing_spans`]: far below Prometheus' one-second evaluation at 60x.
const STEP: f64 = 0.01;

/// When `slo`'s alert of `policy` fires over `history`: while every window's error ratio exceeds
/// the threshold. `spread` moves every window's ratio, so `Sigmas(4.0)` gives the earliest firing
/// and latest resolution chance allows, and `Sigmas(-4.0)` the latest and earliest.
/// The history's ratios are read as the SLI's own: for a windows-based SLI that is exact only
/// while its requests keep every window good (ratio 0, as the end-to-end suite's canary).
pub fn firing_spans(
    slo: &Slo,
    policy: &Policy,
    history: &History,
    compression: Compression,
    spread: Spread,
) -> Vec<Span> {
    let threshold = policy.burn_rate * slo.error_budget();
    let windows: Vec<f64> = policy
        .windows()
        .map(|w| w.as_millis() as f64 / 1000.0 / f64::from(compression.factor()))
        .collect();
    let end = history.len_secs();
    let mut spans = Vec::new();
    let mut open: Option<f64> = None;
    for i in 0..=(end / STEP).ceil() as u64 {
        let at = (i as f64 * STEP).min(end);
        let firing = windows.iter().all(|&w| {
            history
                .window(w, at)
                .is_some_and(|ratio| spread.apply(ratio) > threshold)
        });
        match (firing, open) {
            (true, None) => open = Some(at),
            (false, Some(from)) => {
                spans.push(Span {
                    from,
                    until: Some(at),
                });
                open = None;
            }
            _ => {}
        }
    }
    if let Some(from) = open {
        spans.push(Span { from, until: None });
    }
    spans
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

    fn chat_latency_page_1h() -> (Slo, Policy) {
        let spec = crate::Spec::from_toml(
            r#"
            [[policy]]
            name = "page-1h"
            severity = "page"
            burn_rate = 14.4
            long_window = "1h"
            short_window = "5m"
            summary = "s"
            [[slo]]
            name = "chat-latency"
            service = "movieguru"
            description = "d"
            objective = 99
            period = "1d"
            good = 'good'
            total = "total"
            alerts = ["page-1h"]
            good_request = ["good", "total"]
            bad_request = ["total"]
            "#,
        )
        .unwrap();
        (spec.slos[0].clone(), spec.policies[0].clone())
    }

    proptest! {
        #[test]
        fn the_simulation_agrees_with_the_formulas(
            history in 0u64..200,
            healthy in 0.0f64..0.1,
            breach in 0.2f64..1.0,
        ) {
            let (slo, policy) = chat_latency_page_1h();
            let run = History::new(100.0, Duration::from_secs(1))
                .then(Duration::from_secs(history), healthy)
                .then(Duration::from_secs(120), breach)
                .then(Duration::from_secs(120), healthy);
            let spans = firing_spans(&slo, &policy, &run, Compression::E2E, Spread::NONE);
            let fires = fires_after(&slo, &policy, healthy, breach, Duration::from_secs(history), Compression::E2E)
                .unwrap()
                .as_secs_f64();
            let resolves = resolves_after(&slo, &policy, healthy, breach, Compression::E2E).as_secs_f64();
            prop_assert_eq!(spans.len(), 1, "{:?}", spans);
            // A window with less than one scrape interval of data has no value yet.
            let first = (history as f64 + fires).max(1.0);
            prop_assert!((spans[0].from - first).abs() <= 2.0 * STEP, "{:?} vs {}", spans, first);
            let until = spans[0].until.unwrap();
            prop_assert!((until - (history as f64 + 120.0 + resolves)).abs() <= 2.0 * STEP, "{:?} vs {}", spans, resolves);
        }
    }

    #[test]
    fn the_spread_moves_firing_earlier_or_later() {
        let (slo, policy) = chat_latency_page_1h();
        // A breach just over the threshold: chance decides a lot, and the bands say how much.
        let run = History::new(1000.0, Duration::from_secs(1))
            .then(Duration::from_secs(60), 0.0)
            .then(Duration::from_secs(60), 0.2);
        let at = |sigmas| {
            firing_spans(
                &slo,
                &policy,
                &run,
                Compression::E2E,
                Spread::Sigmas(sigmas),
            )[0]
            .from
        };
        assert!(
            at(4.0) < at(0.0) && at(0.0) < at(-4.0),
            "{} {} {}",
            at(4.0),
            at(0.0),
            at(-4.0)
        );
        let (ratio, sd) = run.window_ratio(60.0, 120.0).unwrap();
        assert!((ratio - 0.2).abs() < 1e-12);
        assert!(
            (sd - (0.2f64 * 0.8 / 60_000.0).sqrt()).abs() < 1e-12,
            "{sd}"
        );
        assert_eq!(
            run.window_ratio(60.0, 0.5),
            None,
            "half a scrape interval of data"
        );
    }

    #[test]
    fn a_window_weighs_each_step_by_its_events_and_exact_draws_move_it_by_events() {
        // 10 s at 10/s all bad, then 10 s at 30/s all good: a quarter of the events are bad.
        let run = History::new(10.0, Duration::from_secs(1))
            .then(Duration::from_secs(10), 1.0)
            .then_at(Duration::from_secs(10), 0.0, 30.0);
        let w = run.window(20.0, 20.0).unwrap();
        assert!((w.ratio - 0.25).abs() < 1e-12, "{w:?}");
        assert!((w.events - 400.0).abs() < 1e-9, "{w:?}");
        // All bad and all good draw the same whatever the draws: no spread at all.
        assert_eq!(w.uncertain_steps, 0);
        assert_eq!(
            Spread::Exact {
                events: 2.0,
                sigmas: 0.0
            }
            .apply(w),
            w.ratio
        );
        assert_eq!(Spread::NONE.apply(w), w.ratio);
        // At a quarter bad throughout, two events either way in 400 move it by half a percent;
        // across two such steps, each may be off by two.
        let mixed = History::new(10.0, Duration::from_secs(1))
            .then(Duration::from_secs(10), 0.25)
            .then_at(Duration::from_secs(10), 0.25, 30.0);
        let w = mixed.window(20.0, 20.0).unwrap();
        assert!(
            (Spread::Exact {
                events: 2.0,
                sigmas: 0.0
            }
            .apply(w)
                - 0.26)
                .abs()
                < 1e-12,
            "{w:?}"
        );
        assert!(
            (Spread::Exact {
                events: -2.0,
                sigmas: 0.0
            }
            .apply(w)
                - 0.24)
                .abs()
                < 1e-12,
            "{w:?}"
        );
        let w = mixed.window(5.0, 10.0).unwrap();
        assert!(
            (Spread::Exact {
                events: 2.0,
                sigmas: 0.0
            }
            .apply(w)
                - 0.29)
                .abs()
                < 1e-12,
            "{w:?}"
        );
        // No events, no value: a step without load has no ratio, as rate() gives 0/0.
        let idle = History::new(0.0, Duration::from_secs(1)).then(Duration::from_secs(10), 0.5);
        assert_eq!(idle.window(5.0, 10.0), None);
    }

    #[test]
    fn random_counts_move_a_window_that_spans_steps_of_different_ratios_only() {
        let steady = History::new(100.0, Duration::from_secs(1))
            .then(Duration::from_secs(10), 0.0)
            .then(Duration::from_secs(10), 0.5);
        let drawn = steady.clone().counted_at_random();
        assert_eq!(steady.window(20.0, 20.0).unwrap().sd_count, 0.0);
        let w = drawn.window(20.0, 20.0).unwrap();
        // 1000 events at 0 and 1000 at 0.5 around 0.25: sqrt(2000 * 0.25^2) / 2000.
        assert!(
            (w.sd_count - (2000.0f64 * 0.0625).sqrt() / 2000.0).abs() < 1e-12,
            "{w:?}"
        );
        assert!(Spread::Sigmas(3.0).apply(w) > w.ratio + 3.0 * w.sd, "{w:?}");
        let inside = drawn.window(5.0, 20.0).unwrap();
        assert_eq!(
            inside.sd_count, 0.0,
            "one step: its count does not weigh against another"
        );
        let exact = Spread::Exact {
            events: 2.0,
            sigmas: 3.0,
        };
        assert!((exact.apply(w) - (w.ratio + 2.0 / 2000.0 + 3.0 * w.sd_count)).abs() < 1e-12);
        assert!(
            (exact.opposite().apply(w) - (w.ratio - 2.0 / 2000.0 - 3.0 * w.sd_count)).abs() < 1e-12
        );
    }
}
