//! `--watch-phase`: re-reads the `--phase` file when it changes, so every replica of a scaled
//! mock-server follows one ConfigMap (Kubernetes swaps the mounted file atomically).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::metrics::Metrics;
use crate::phase::Phase;
use crate::state::PhaseStore;

/// How often the file is compared; a ConfigMap update takes tens of seconds to reach a pod anyway.
pub const POLL: Duration = Duration::from_secs(1);

/// Polls `path` and, whenever its bytes change, applies it (merged onto the workshop default,
/// as at start-up). An invalid or unreadable file is logged and the phase in force kept.
pub async fn watch_phase_file(
    path: PathBuf,
    phases: &PhaseStore,
    metrics: &Metrics,
    poll: Duration,
) {
    let mut last = std::fs::read(&path).ok();
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let current = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                if last.take().is_some() {
                    tracing::warn!(path = %path.display(), error = %e, "phase file unreadable; keeping the phase in force");
                }
                continue;
            }
        };
        if last.as_deref() == Some(current.as_slice()) {
            continue;
        }
        match Phase::workshop_default().merged(&current) {
            Ok(phase) => {
                tracing::info!(path = %path.display(), phase = %phase, "phase file changed; applied");
                phases.replace(Arc::new(phase), metrics);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "phase file changed but is invalid; keeping the phase in force");
            }
        }
        last = Some(current);
    }
}
