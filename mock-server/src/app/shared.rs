//! What every handler reads and writes: the phase in force, the metrics, the random source and,
//! with `--draws exact`, the exact sequences.
//! It sits below the handlers so each of them can take it without importing the app.

use crate::metrics::Metrics;
use crate::state::draw::Draws;
use crate::state::{PhaseStore, RngSource};

pub struct Shared {
    pub phases: PhaseStore,
    pub metrics: Metrics,
    pub rng: RngSource,
    pub draws: Draws,
}
