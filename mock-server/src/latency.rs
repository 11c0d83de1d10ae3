//! Latency ranges and the shapes that spread samples over them.
//!
//! Every shape maps onto the phase's `[min, max]` by one rule (documented in the README), so a
//! user keeps thinking in the workshop's min/max terms while choosing how heavy the tail is:
//! - `uniform`: every value in `[min, max)` equally likely, as the original mock drew.
//! - `normal`: mean at the midpoint, standard deviation a sixth of the range (so ±3 sd span it).
//! - `lognormal`: `min + X`, X log-normal with its median at a quarter of the range and its
//!   99th percentile at `max`: a long right tail.
//! - `exponential`: `min + X`, X exponential with its 99th percentile at `max` (mean ≈ range/4.6).
//!
//! Samples outside the range are clamped to it, so `[min, max]` stays a hard bound.

use std::str::FromStr;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal};

/// The standard normal quantile at 0.99: places the 99th percentile of the tailed shapes at `max`.
const Z99: f64 = 2.326_347_874_040_841;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    #[default]
    Uniform,
    Normal,
    LogNormal,
    Exponential,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::Uniform => "uniform",
            Shape::Normal => "normal",
            Shape::LogNormal => "lognormal",
            Shape::Exponential => "exponential",
        }
    }
}

impl FromStr for Shape {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        [
            Shape::Uniform,
            Shape::Normal,
            Shape::LogNormal,
            Shape::Exponential,
        ]
        .into_iter()
        .find(|shape| shape.name().eq_ignore_ascii_case(s))
        .ok_or(())
    }
}

/// An endpoint's latency: whole milliseconds, `min_ms <= max_ms` once validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyRange {
    pub min_ms: u64,
    pub max_ms: u64,
    pub shape: Shape,
}

impl LatencyRange {
    pub const fn new(min_ms: u64, max_ms: u64, shape: Shape) -> Self {
        LatencyRange {
            min_ms,
            max_ms,
            shape,
        }
    }

    /// Draws one latency in milliseconds, within `[min, max]`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let min = self.min_ms as f64;
        let range = (self.max_ms - self.min_ms) as f64;
        if range == 0.0 {
            return min;
        }
        let offset = match self.shape {
            Shape::Uniform => return min + range * rng.random::<f64>(),
            // The parameters below are finite and positive for any range > 0, so the
            // constructors cannot fail; a zero fallback keeps the handler total regardless.
            Shape::Normal => Normal::new(range / 2.0, range / 6.0)
                .map(|d| d.sample(rng))
                .unwrap_or(0.0),
            Shape::LogNormal => {
                let median = range / 4.0;
                LogNormal::new(median.ln(), 4f64.ln() / Z99)
                    .map(|d| d.sample(rng))
                    .unwrap_or(0.0)
            }
            Shape::Exponential => Exp::new(100f64.ln() / range)
                .map(|d| d.sample(rng))
                .unwrap_or(0.0),
        };
        min + offset.clamp(0.0, range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn quantiles(shape: Shape) -> (f64, f64, f64, f64) {
        let range = LatencyRange::new(100, 1100, shape);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut v: Vec<f64> = (0..200_000).map(|_| range.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() as f64) * p) as usize];
        (v[0], q(0.5), q(0.98), v[v.len() - 1])
    }

    #[test]
    fn every_shape_stays_in_range() {
        for shape in [
            Shape::Uniform,
            Shape::Normal,
            Shape::LogNormal,
            Shape::Exponential,
        ] {
            let (lo, _, _, hi) = quantiles(shape);
            assert!(lo >= 100.0 && hi <= 1100.0, "{shape:?}: {lo}..{hi}");
        }
    }

    #[test]
    fn shapes_place_their_quantiles_where_the_rule_says() {
        let (_, median, _, _) = quantiles(Shape::Uniform);
        assert!((median - 600.0).abs() < 10.0, "uniform median {median}");
        let (_, median, _, _) = quantiles(Shape::Normal);
        assert!((median - 600.0).abs() < 10.0, "normal median {median}");
        // Log-normal: median at a quarter of the range, p98 below max (p99 is at max).
        let (_, median, p98, _) = quantiles(Shape::LogNormal);
        assert!((median - 350.0).abs() < 10.0, "lognormal median {median}");
        assert!(p98 < 1100.0 && p98 > 900.0, "lognormal p98 {p98}");
        // Exponential: median = range * ln 2 / ln 100 ≈ 150.5 ms above min.
        let (_, median, _, _) = quantiles(Shape::Exponential);
        assert!((median - 250.5).abs() < 10.0, "exponential median {median}");
    }

    #[test]
    fn a_point_range_is_constant() {
        let range = LatencyRange::new(42, 42, Shape::LogNormal);
        let mut rng = SmallRng::seed_from_u64(1);
        assert_eq!(range.sample(&mut rng), 42.0);
    }

    #[test]
    fn shape_names_parse_case_insensitively() {
        assert_eq!("LogNormal".parse(), Ok(Shape::LogNormal));
        assert_eq!("weibull".parse::<Shape>(), Err(()));
    }
}
