//! Exact draws (`--draws exact`): low-discrepancy sequences in place of dice, so that any window
//! of consecutive requests to an endpoint gets its phase's shares almost exactly.
//!
//! Each draw kind of each endpoint walks its own sequence, indexed by a counter that never resets
//! (a phase change only changes the ratio or weights the next term is read against), and starts
//! at an offset derived from the seed, so two runs with the same seed answer the same:
//! - a yes/no draw with ratio p ([`beatty`]) is a Sturmian word: over any n consecutive terms the
//!   yeses number floor(n·p) or ceil(n·p);
//! - a category draw ([`Apportion`]) is Tijdeman's chairman assignment: after every term each
//!   category's count is within 5/6 of its due share, so over any window within 5/3 of n·w;
//! - a latency draw ([`weyl`]) is the golden-ratio Weyl sequence frac(φ + i/golden), mapped
//!   through the shape's quantile function ([`LatencyRange::quantile`]).
//!
//! All three run on fixed-point integers, so a term depends on its index alone and no rounding
//! drifts over a long run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::ValueEnum;

use crate::answer::latency::LatencyRange;
use crate::phase::Timed;

/// How the endpoints decide: dice (the workshop's default), or the sequences of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DrawMode {
    /// Independent random draws (seeded by --seed), as the original mock drew.
    #[default]
    Random,
    /// Low-discrepancy sequences: any window of n requests gets n·p successes within 1.
    Exact,
}

/// 2^64 / golden ratio: the Weyl stride, and a mixer for the offsets.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A ratio in [0, 1] as a 64-bit fraction; `None` for 1, which a `u64` cannot hold.
fn fraction(p: f64) -> Option<u64> {
    // p·2^64 is exact for p ≥ 2^-12 (scaling by a power of two), and below 1 it stays below 2^64.
    (p < 1.0).then(|| (p.max(0.0) * 18_446_744_073_709_551_616.0) as u64)
}

/// Term `i` of the Sturmian word with ratio `p` and offset `offset` (a 64-bit fraction): true
/// when floor((i+1)·p + φ) − floor(i·p + φ) = 1. p = 0 is never true, p = 1 always.
pub fn beatty(offset: u64, p: f64, i: u64) -> bool {
    match fraction(p) {
        None => true,
        Some(step) => {
            offset
                .wrapping_add(i.wrapping_mul(step))
                .overflowing_add(step)
                .1
        }
    }
}

/// Term `i` of the golden-ratio Weyl sequence from `offset`, in [0, 1).
pub fn weyl(offset: u64, i: u64) -> f64 {
    let x = offset.wrapping_add(i.wrapping_mul(GOLDEN));
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The fixed point of [`Apportion`]: weights are multiples of 2^-52, so the products it compares
/// stay far inside an `i128`.
const UNIT: i128 = 1 << 52;

/// Categories, each with its weight, handed out so that every category's count stays within
/// 5/6 of its due share after every term (Tijdeman, "The chairman assignment problem", 1980:
/// 1 − 1/(2k − 2) for k = 4). The lags carry over a change of weights.
#[derive(Debug, Clone, Default)]
pub struct Apportion {
    /// Per category, its due share so far minus its count, in units of 2^-52.
    lag: [i128; 4],
    /// Terms still to skip before the first pick (the seed's offset).
    skip: u32,
}

impl Apportion {
    /// A sequence that starts `skip` terms in.
    pub fn skipping(skip: u32) -> Apportion {
        Apportion { lag: [0; 4], skip }
    }

    /// The category of the next term, weights in cumulative-choice order: as there, the last
    /// category takes what the others leave, and weights past a sum of 1 are cut off.
    pub fn pick(&mut self, weights: &[f64; 4]) -> usize {
        let w = fixed_weights(weights);
        for _ in 0..std::mem::take(&mut self.skip) {
            self.step(&w);
        }
        self.step(&w)
    }

    fn step(&mut self, w: &[i128; 4]) -> usize {
        for (lag, w) in self.lag.iter_mut().zip(w) {
            *lag += w;
        }
        // Eligible: owed at least 1/6, so one more keeps it under 5/6 over; among them the
        // earliest deadline, the term at which its lag would reach 5/6.
        let mut best: Option<usize> = None;
        for j in 0..4 {
            if w[j] == 0 || 6 * self.lag[j] < UNIT {
                continue;
            }
            let earlier = |b: usize| {
                (5 * UNIT - 6 * self.lag[j]) * w[b] < (5 * UNIT - 6 * self.lag[b]) * w[j]
            };
            if best.is_none_or(earlier) {
                best = Some(j);
            }
        }
        // After a change of weights no category may be eligible: the most owed then.
        let j = best.unwrap_or_else(|| {
            (0..4)
                .filter(|&j| w[j] > 0)
                .max_by_key(|&j| (self.lag[j], std::cmp::Reverse(j)))
                .unwrap_or(3)
        });
        self.lag[j] -= UNIT;
        j
    }
}

/// The weights as cumulative choice reads them, in units of 2^-52, summing to exactly 1.
fn fixed_weights(weights: &[f64; 4]) -> [i128; 4] {
    let mut cut = [0i128; 5];
    let mut acc = 0.0;
    for (j, w) in weights.iter().take(3).enumerate() {
        acc += w.max(0.0);
        cut[j + 1] = (acc.min(1.0) * UNIT as f64).round() as i128;
    }
    cut[4] = UNIT;
    [
        cut[1] - cut[0],
        cut[2] - cut[1],
        cut[3] - cut[2],
        cut[4] - cut[3],
    ]
}

/// A counter and an offset: one draw kind of one endpoint.
struct Sequence {
    offset: u64,
    next: AtomicU64,
}

impl Sequence {
    fn new(seed: u64, tag: u64) -> Sequence {
        Sequence {
            offset: splitmix(seed ^ tag.wrapping_mul(GOLDEN)),
            next: AtomicU64::new(0),
        }
    }

    fn index(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn yes(&self, p: f64) -> bool {
        beatty(self.offset, p, self.index())
    }

    fn uniform(&self) -> f64 {
        weyl(self.offset, self.index())
    }
}

/// SplitMix64's finaliser: spreads a seed and a tag into an unrelated-looking offset.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Every exact sequence of one server: per timed endpoint its success, latency and fault draws,
/// logout's latency, and the chat successes' safety, sentiment and outcome.
pub struct ExactDraws {
    success: [Sequence; 5],
    latency: [Sequence; 5],
    fault: [Sequence; 5],
    logout_latency: Sequence,
    safety: Sequence,
    /// The category draws need their whole state at once: a small lock, in exact mode only.
    sentiment: Mutex<Apportion>,
    outcome: Mutex<Apportion>,
}

impl ExactDraws {
    pub fn new(seed: u64) -> ExactDraws {
        let seq = |kind: u64, t: usize| Sequence::new(seed, kind * 16 + t as u64);
        // The categories' offset: a seed-dependent number of terms skipped, under the weights
        // of the first pick, so the sequence starts inside a run Tijdeman's bound covers.
        let skip = |tag: u64| Mutex::new(Apportion::skipping((splitmix(seed ^ tag) % 64) as u32));
        ExactDraws {
            success: std::array::from_fn(|t| seq(1, t)),
            latency: std::array::from_fn(|t| seq(2, t)),
            fault: std::array::from_fn(|t| seq(3, t)),
            logout_latency: seq(4, 0),
            safety: seq(5, 0),
            sentiment: skip(0x51),
            outcome: skip(0x52),
        }
    }

    pub fn success(&self, t: Timed, p: f64) -> bool {
        self.success[t as usize].yes(p)
    }

    pub fn latency(&self, t: Timed, range: &LatencyRange) -> f64 {
        range.quantile(self.latency[t as usize].uniform())
    }

    /// Logout borrows the login range but keeps its own sequence.
    pub fn logout_latency(&self, range: &LatencyRange) -> f64 {
        range.quantile(self.logout_latency.uniform())
    }

    pub fn fault(&self, t: Timed, p: f64) -> bool {
        self.fault[t as usize].yes(p)
    }

    pub fn safety_issue(&self, p: f64) -> bool {
        self.safety.yes(p)
    }

    pub fn sentiment(&self, weights: &[f64; 4]) -> usize {
        pick(&self.sentiment, weights)
    }

    pub fn outcome(&self, weights: &[f64; 4]) -> usize {
        pick(&self.outcome, weights)
    }
}

fn pick(a: &Mutex<Apportion>, weights: &[f64; 4]) -> usize {
    a.lock().unwrap_or_else(|p| p.into_inner()).pick(weights)
}

/// The draws of a server: dice, or the exact sequences.
pub enum Draws {
    Random,
    Exact(Box<ExactDraws>),
}

impl Draws {
    pub fn new(mode: DrawMode, seed: u64) -> Draws {
        match mode {
            DrawMode::Random => Draws::Random,
            DrawMode::Exact => Draws::Exact(Box::new(ExactDraws::new(seed))),
        }
    }

    /// The exact sequences, or `None` to roll dice.
    pub fn exact(&self) -> Option<&ExactDraws> {
        match self {
            Draws::Random => None,
            Draws::Exact(x) => Some(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beatty_ends_are_never_and_always() {
        assert!((0..1000).all(|i| !beatty(u64::MAX, 0.0, i)));
        assert!((0..1000).all(|i| beatty(0, 1.0, i)));
    }

    #[test]
    fn zero_weights_are_never_picked_and_the_rest_goes_last() {
        let mut a = Apportion::default();
        let mut seen = [0u32; 4];
        for _ in 0..1000 {
            seen[a.pick(&[0.5, 0.0, 0.3, 0.0])] += 1;
        }
        assert_eq!(seen, [500, 0, 300, 200]);
    }
}
