//! mock-server: a fault-injection mock of the Movie Guru backend.
//!
//! Workshop hosts and developers dial in, at run time through `POST /phase`, how often each
//! endpoint succeeds and how slow it is; everything is exported under the exact Prometheus names
//! the Practical SRE workshop builds its SLOs and dashboards on. [`run`] is what the binary and
//! the tests call.

pub mod app;
pub mod bodies;
pub mod cli;
pub mod config;
pub mod drain;
pub mod fault;
pub mod latency;
pub mod metrics;
pub mod phase;
pub mod precise;
pub mod probe;
pub mod profile;
pub mod route;
pub mod server;
pub mod state;
pub mod timeline;
pub mod watch;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use app::App;
pub use config::{Config, LatencyMode};
pub use phase::Phase;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
}

/// Builds the app a configuration describes (exposed for tests that drive it without a socket).
pub fn app(config: &Config) -> Result<Arc<App>, Error> {
    Ok(Arc::new(App::new(
        config,
        metrics::Metrics::new(config.revision.as_deref())?,
    )))
}

/// Serves the mock on `listener` until `shutdown` resolves, then drains for at most the
/// configured grace period.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let app = app(&config)?;
    tracing::info!(
        addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        latency_mode = ?config.latency_mode,
        profile = ?config.profile,
        revision = config.revision.as_deref().unwrap_or(""),
        phase = %config.startup_phase,
        "mock-server listening"
    );
    let timeline = config.timeline.clone().map(|plan| {
        let app = app.clone();
        tokio::spawn(async move { plan.drive(app.phases(), app.metrics()).await })
    });
    let watcher = config.watch_phase.clone().map(|path| {
        let app = app.clone();
        tokio::spawn(async move {
            watch::watch_phase_file(path, app.phases(), app.metrics(), watch::POLL).await;
        })
    });
    server::serve(listener, app, shutdown, &config).await;
    for task in [timeline, watcher].into_iter().flatten() {
        task.abort();
    }
    Ok(())
}
