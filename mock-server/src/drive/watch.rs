//! `--watch-phase`: re-reads the `--phase` file when it changes, so every replica of a scaled
//! mock-server follows one ConfigMap (Kubernetes swaps the mounted file atomically).
//!
//! The first snapshot is taken before the server takes its first request ([`Watcher::start`]),
//! so a change made just after start-up is never mistaken for the file already applied. Every
//! read goes through `scenarios::read_bounded`, which refuses a FIFO or a device without
//! blocking, so a file replaced by a pipe cannot stall the watcher (or shutdown) for ever.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::metrics::Metrics;
use crate::phase::Phase;
use crate::state::PhaseStore;

/// How often the file is compared; a ConfigMap update takes tens of seconds to reach a pod anyway.
pub const POLL: Duration = Duration::from_secs(1);

/// A watch on the `--phase` file, with the bytes it last applied (or saw).
#[derive(Debug)]
pub struct Watcher {
    path: PathBuf,
    last: Option<Vec<u8>>,
}

impl Watcher {
    /// Takes the first snapshot now, before any request is served. If the file already differs
    /// from the start-up phase (it changed between start-up's read and now), it is applied at once.
    pub fn start(path: PathBuf, phases: &PhaseStore, metrics: &Metrics) -> Watcher {
        let mut w = Watcher { path, last: None };
        if let Ok(bytes) = scenarios::read_bounded(&w.path) {
            if let Ok(phase) = Phase::workshop_default().merged(&bytes) {
                if phase != **phases.current() {
                    tracing::info!(path = %w.path.display(), phase = %phase, "phase file changed since start-up; applied");
                    phases.replace(Arc::new(phase), metrics);
                }
            }
            w.last = Some(bytes);
        }
        w
    }

    /// Polls the file and, whenever its bytes change, applies it (merged onto the workshop
    /// default, as at start-up). An invalid or unreadable file is logged and the phase in force kept.
    pub async fn run(mut self, phases: &PhaseStore, metrics: &Metrics, poll: Duration) {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let path = self.path.clone();
            let read = tokio::task::spawn_blocking(move || scenarios::read_bounded(&path)).await;
            let current = match read {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(e)) => {
                    if self.last.take().is_some() {
                        tracing::warn!(path = %self.path.display(), error = %e, "phase file unreadable; keeping the phase in force");
                    }
                    continue;
                }
                Err(_) => continue,
            };
            if self.last.as_deref() == Some(current.as_slice()) {
                continue;
            }
            match Phase::workshop_default().merged(&current) {
                Ok(phase) => {
                    tracing::info!(path = %self.path.display(), phase = %phase, "phase file changed; applied");
                    phases.replace(Arc::new(phase), metrics);
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "phase file changed but is invalid; keeping the phase in force");
                }
            }
            self.last = Some(current);
        }
    }
}
