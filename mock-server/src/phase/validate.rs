//! The checks a phase must pass as a whole, after every field of a document is applied.

use super::error::PhaseError;
use super::fields::{OUTCOMES, SENTIMENTS, Slot, Timed, WEIGHT_SLACK, field_of};
use super::value::Phase;
use crate::answer::fault::Fault;

impl Phase {
    /// Called by [`Phase::merged`] on the merged result, so no invalid phase is ever built.
    pub(super) fn validate(&self) -> Result<(), PhaseError> {
        for t in Timed::ALL {
            let f = self.fault(t);
            if f.kind == Fault::None && f.ratio > 0.0 {
                return Err(PhaseError::FaultRatioWithoutFault {
                    field: field_of(Slot::FaultRatio(t)).0,
                    kind_field: field_of(Slot::Fault(t)).0,
                });
            }
        }
        for t in Timed::ALL {
            let l = self.latency(t);
            if l.min_ms > l.max_ms {
                let (min_field, _) = field_of(Slot::Min(t));
                let (max_field, _) = field_of(Slot::Max(t));
                return Err(PhaseError::MinAboveMax {
                    min_field,
                    max_field,
                    min: l.min_ms,
                    max: l.max_ms,
                });
            }
        }
        for (group, fields, members) in [
            (
                "outcome",
                "ChatEngaged + ChatAcknowledged + ChatRejected + ChatUnclassified",
                OUTCOMES,
            ),
            (
                "sentiment",
                "ChatSPositive + ChatSNegative + ChatSNeutral + ChatSUnclassified",
                SENTIMENTS,
            ),
        ] {
            let sum: f64 = members.iter().map(|&r| self.ratio(r)).sum();
            if sum > 1.0 + WEIGHT_SLACK {
                let (first_field, _) = field_of(Slot::Ratio(members[0]));
                return Err(PhaseError::WeightsAboveOne {
                    group,
                    fields,
                    first_field,
                    sum,
                });
            }
        }
        Ok(())
    }
}
