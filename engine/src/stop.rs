//! The one way a run stops early, shared by the load and the journeys: ask every task to start
//! nothing new, give what is in flight `INTERRUPT_GRACE` to finish, then cancel the rest (counted
//! as abandoned by the caller), so a stalled server cannot hold Ctrl-C hostage.

use std::time::Duration;

/// How long in-flight requests may finish after an interrupt before they are abandoned.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

/// Calls `stop`, waits up to `INTERRUPT_GRACE` for `joined`, then calls `cancel` and waits for
/// the rest.
pub async fn drain<F>(joined: &mut F, stop: impl FnOnce(), cancel: impl FnOnce()) -> F::Output
where
    F: Future + Unpin,
{
    stop();
    match tokio::time::timeout(INTERRUPT_GRACE, &mut *joined).await {
        Ok(r) => r,
        Err(_) => {
            cancel();
            joined.await
        }
    }
}
