//! mock-server: a fault-injection mock of the Movie Guru backend.
//!
//! Workshop hosts and developers dial in, at run time through `POST /phase`, how often each
//! endpoint succeeds and how slow it is; everything is exported under the exact Prometheus names
//! the Practical SRE workshop builds its SLOs and dashboards on. [`run`] is what the binary and
//! the tests call.
//!
//! # Layout
//!
//! Layers, bottom to top; a module imports only from layers below its own (or its own layer's
//! earlier entries), never above, and there are no import circles.
//!
//! 1. Vocabulary, importing nothing above: [`route`] (paths, methods, labels); in [`answer`]:
//!    [`latency`](answer::latency)
//!    (ranges and shapes), [`fault`](answer::fault) (transport faults), [`precise`](answer::precise) (an exact sleep),
//!    [`bodies`](answer::bodies) (canned answers), [`profile`](answer::profile) (which release this process plays); and [`phase`]
//!    (the phase document: its fields, parsing, validation and errors).
//! 2. Shared state: [`metrics`] (the registry and the workshop's series), [`state`] (the
//!    phase store and the per-request random source) with [`draw`](state::draw) inside it (the exact draws'
//!    low-discrepancy sequences, `--draws exact`).
//! 3. Phase drivers ([`drive`]), which change the phase in the store: [`timeline`](drive::timeline) (`--timeline`) and
//!    [`watch`](drive::watch) (`--watch-phase`).
//! 4. [`config`]: the validated configuration, every value checked.
//! 5. The engine: [`console`] (the `/ui` page: samples of the metrics in a fixed ring, the
//!    dashboards' data, SLOs from the embedded spec), [`app`](mod@app) (a request's way through the route table, with the endpoints, faults
//!    and operator routes one floor down in `app/`), and, in [`net`], [`drain`](net::drain) (the open
//!    connections, for a bounded shutdown) and [`server`](net::server) (the accept loop and the per-connection limits).
//! 6. The top: [`cli`] (clap's flags and their `TryFrom` into a [`Config`]), [`probe`]
//!    (`--probe`), `testing` (the test fixture, behind the `test-util` feature: a server, the
//!    suites' one HTTP client and `/metrics` reader) and [`run`] here; `main.rs` only parses, sets up logging and maps errors to exit codes.

pub mod answer;
pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod drive;
pub mod metrics;
pub mod net;
pub mod phase;
pub mod probe;
pub mod route;
pub mod state;
#[cfg(feature = "test-util")]
pub mod testing;

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
        // The first step is in force before the first request is taken, not whenever the
        // spawned driver first runs.
        plan.enter(0, app.phases(), app.metrics());
        let app = app.clone();
        tokio::spawn(async move { plan.drive(app.phases(), app.metrics()).await })
    });
    let sampler = {
        let app = app.clone();
        tokio::spawn(async move {
            app.console()
                .run_sampler(app.metrics(), console::SAMPLE_PERIOD)
                .await;
        })
    };
    let watcher = config.watch_phase.clone().map(|path| {
        let watcher = drive::watch::Watcher::start(path, app.phases(), app.metrics());
        let app = app.clone();
        tokio::spawn(async move {
            watcher
                .run(app.phases(), app.metrics(), drive::watch::POLL)
                .await
        })
    });
    net::server::serve(listener, app, shutdown, &config).await;
    for task in [timeline, watcher, Some(sampler)].into_iter().flatten() {
        task.abort();
    }
    Ok(())
}
