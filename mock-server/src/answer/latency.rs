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
//!
//! Exact draws (`--draws exact`) read the same shapes through their quantile functions
//! ([`LatencyRange::quantile`]): an evenly spread u in [0, 1) gives evenly spread latencies.

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

impl LatencyRange {
    /// The latency at quantile `u` in [0, 1) of the shape, clamped to `[min, max]` as `sample` is.
    pub fn quantile(&self, u: f64) -> f64 {
        let min = self.min_ms as f64;
        let range = (self.max_ms - self.min_ms) as f64;
        if range == 0.0 {
            return min;
        }
        let offset = match self.shape {
            Shape::Uniform => return min + range * u,
            Shape::Normal => range / 2.0 + range / 6.0 * inverse_normal(u),
            Shape::LogNormal => ((range / 4.0).ln() + 4f64.ln() / Z99 * inverse_normal(u)).exp(),
            Shape::Exponential => -(-u).ln_1p() * range / 100f64.ln(),
        };
        // NaN cannot arise for u in [0, 1); infinities at u = 0 clamp to the ends.
        min + offset.clamp(0.0, range)
    }
}

/// The standard normal quantile, by Acklam's rational approximation (relative error below
/// 1.2e-9 over (0, 1)); -inf at 0, +inf at 1.
pub fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (-p).ln_1p()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
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
    fn inverse_normal_matches_known_quantiles() {
        // Quantiles to 15 digits, from the standard tables (R's qnorm).
        for (p, z) in [
            (0.5, 0.0),
            (0.841_344_746_068_542_9, 1.0),
            (0.975, 1.959_963_984_540_054),
            (0.99, Z99),
            (0.999, 3.090_232_306_167_813),
            (0.001, -3.090_232_306_167_813),
            (1e-6, -4.753_424_308_822_899),
            (0.02, -2.053_748_910_631_823),
            (0.3, -0.524_400_512_708_041),
        ] {
            let got = inverse_normal(p);
            assert!(
                (got - z).abs() <= 1.2e-9 * z.abs().max(1.0),
                "p {p}: expected {z}, got {got}"
            );
        }
        assert_eq!(inverse_normal(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn quantiles_place_the_shapes_as_sampling_does() {
        let at = |shape, u| LatencyRange::new(100, 1100, shape).quantile(u);
        assert_eq!(at(Shape::Uniform, 0.25), 350.0);
        assert!((at(Shape::Normal, 0.5) - 600.0).abs() < 1e-6);
        assert!((at(Shape::LogNormal, 0.5) - 350.0).abs() < 1e-6);
        assert!((at(Shape::LogNormal, 0.99) - 1100.0).abs() < 1e-6);
        assert!((at(Shape::Exponential, 0.99) - 1100.0).abs() < 1e-6);
        for shape in [Shape::Normal, Shape::LogNormal, Shape::Exponential] {
            assert_eq!(at(shape, 0.0), 100.0, "{shape:?}");
            assert!(at(shape, 1.0 - 1e-16) <= 1100.0, "{shape:?}");
        }
    }

    #[test]
    fn shape_names_parse_case_insensitively() {
        assert_eq!("LogNormal".parse(), Ok(Shape::LogNormal));
        assert_eq!("weibull".parse::<Shape>(), Err(()));
    }
}
