//! The [`Phase`] value: one whole, valid phase and what a request reads from it.

use super::fields::{OUTCOMES, RATIO_COUNT, Ratio, SENTIMENTS, TIMED_COUNT, Timed};
use crate::answer::fault::FaultSpec;
use crate::answer::latency::{LatencyRange, Shape};

/// One whole, valid phase. Built only through [`Phase::merged`] (or the workshop default), so
/// every value a request handler reads has passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    // Visible to the document and validate modules, which build and check phases.
    pub(super) ratios: [f64; RATIO_COUNT],
    pub(super) latency: [LatencyRange; TIMED_COUNT],
    pub(super) faults: [FaultSpec; TIMED_COUNT],
}

impl Phase {
    /// The workshop's challenge-1 phase: the original mock's start-up values.
    pub fn workshop_default() -> Phase {
        use Ratio::*;
        let mut ratios = [0.0; RATIO_COUNT];
        for (r, v) in [
            (ChatSuccess, 0.7),
            (ChatSafetyIssue, 0.2),
            (ChatEngaged, 0.5),
            (ChatAcknowledged, 0.15),
            (ChatRejected, 0.25),
            (ChatUnclassified, 0.1),
            (ChatSPositive, 0.4),
            (ChatSNegative, 0.3),
            (ChatSNeutral, 0.1),
            (ChatSUnclassified, 0.2),
            (LoginSuccess, 0.99),
            (StartupSuccess, 0.75),
            (PrefUpdateSuccess, 0.84),
            (PrefGetSuccess, 0.99),
        ] {
            ratios[r as usize] = v;
        }
        let range = |min, max| LatencyRange::new(min, max, Shape::Uniform);
        Phase {
            ratios,
            latency: [
                range(10, 200),
                range(1607, 7683),
                range(456, 1634),
                range(153, 348),
                range(463, 745),
            ],
            faults: [FaultSpec::default(); TIMED_COUNT],
        }
    }

    pub fn ratio(&self, r: Ratio) -> f64 {
        self.ratios[r as usize]
    }

    pub fn latency(&self, t: Timed) -> &LatencyRange {
        &self.latency[t as usize]
    }

    pub fn fault(&self, t: Timed) -> FaultSpec {
        self.faults[t as usize]
    }

    /// Chat outcome weights in cumulative-choice order (Engaged, Acknowledged, Rejected, Unclassified).
    pub fn outcome_weights(&self) -> [f64; 4] {
        OUTCOMES.map(|r| self.ratio(r))
    }

    /// Chat sentiment weights in cumulative-choice order (Positive, Negative, Neutral, Unclassified).
    pub fn sentiment_weights(&self) -> [f64; 4] {
        SENTIMENTS.map(|r| self.ratio(r))
    }
}
