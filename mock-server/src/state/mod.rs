//! Shared state with lock-free reads: the phase in force and the per-request random source.

pub mod draw;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::{ArcSwap, Guard};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::answer::fault::Fault;
use crate::metrics::Metrics;
use crate::phase::{Phase, PhaseError, Timed};

/// The phase in force. Readers load a whole phase without locking (every request sees one
/// consistent phase); writers serialise on a mutex so a merge never loses a concurrent update.
pub struct PhaseStore {
    current: ArcSwap<Phase>,
    startup: Arc<Phase>,
    writer: Mutex<()>,
    /// Whether the phase in force sets a fault on any endpoint: most phases set none, and then
    /// a request need not load the phase just to learn that.
    faults: AtomicBool,
}

fn sets_faults(phase: &Phase) -> bool {
    Timed::ALL
        .iter()
        .any(|&t| phase.fault(t).kind != Fault::None)
}

impl PhaseStore {
    pub fn new(startup: Phase, metrics: &Metrics) -> PhaseStore {
        metrics.set_phase(&startup, false);
        let startup = Arc::new(startup);
        PhaseStore {
            faults: AtomicBool::new(sets_faults(&startup)),
            current: ArcSwap::new(startup.clone()),
            startup,
            writer: Mutex::new(()),
        }
    }

    pub fn current(&self) -> Guard<Arc<Phase>> {
        self.current.load()
    }

    /// Whether the phase in force may inject a fault. Set right after a swap, so a request
    /// racing a change may still draw from the previous phase, as it could by loading it first.
    pub fn may_fault(&self) -> bool {
        self.faults.load(Ordering::Relaxed)
    }

    /// Merges a phase document onto the current phase and swaps the result in, or changes
    /// nothing and says why.
    pub fn update(&self, body: &[u8], metrics: &Metrics) -> Result<Arc<Phase>, PhaseError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let next = Arc::new(self.current.load().merged(body)?);
        self.current.store(next.clone());
        self.faults.store(sets_faults(&next), Ordering::Relaxed);
        metrics.set_phase(&next, true);
        Ok(next)
    }

    /// Replaces the phase wholesale (a timeline step, or a reset).
    pub fn replace(&self, phase: Arc<Phase>, metrics: &Metrics) {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.current.store(phase.clone());
        self.faults.store(sets_faults(&phase), Ordering::Relaxed);
        metrics.set_phase(&phase, true);
    }

    /// Returns to the start-up phase.
    pub fn reset(&self, metrics: &Metrics) -> Arc<Phase> {
        self.replace(self.startup.clone(), metrics);
        self.startup.clone()
    }
}

/// Hands each request its own small RNG, derived from one seed and a request counter: no lock
/// on the hot path, and with `--seed` the n-th request always makes the same draws.
pub struct RngSource {
    seed: u64,
    counter: AtomicU64,
}

impl RngSource {
    pub fn new(seed: u64) -> RngSource {
        RngSource {
            seed,
            counter: AtomicU64::new(0),
        }
    }

    /// Gives up this request's place in the sequence without drawing (cheaper than `next`),
    /// so the requests after it draw as they would have.
    pub fn skip(&self) {
        self.counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn next(&self) -> SmallRng {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        // Golden-ratio stride keeps neighbouring requests' seeds far apart.
        SmallRng::seed_from_u64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}
