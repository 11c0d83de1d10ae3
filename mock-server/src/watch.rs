//! `--watch-phase`: re-reads the `--phase` file when it changes, so every replica of a scaled
//! mock-server follows one ConfigMap (Kubernetes swaps the mounted file atomically).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;

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
    let mut last = scenarios::read_bounded(&path).ok();
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let current = match read_bounded(&path).await {
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

/// The file's bytes, refused past `scenarios::MAX_FILE_BYTES` without reading the rest.
async fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    tokio::fs::File::open(path)
        .await?
        .take(scenarios::MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .await?;
    scenarios::check_size(buf.len())?;
    Ok(buf)
}
