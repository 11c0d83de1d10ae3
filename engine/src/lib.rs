//! engine: loadgen's load engine. It turns a checked [`plan::Plan`] into a [`report::Report`]
//! (hey mode), or a journey plan into a journey report. It parses no flags, starts no mock,
//! knows no Prometheus and renders no finished report: the `loadgen` crate above does those
//! (its `output` layer turns these reports into text, JSON, CSV and HTML), and Cargo keeps the
//! direction (this crate depends on neither clap, mock-server nor slo). What it writes itself
//! is written while a run goes on: hey's CSV rows as requests end, the progress bar, and a
//! journey's live table.
//!
//! # Layout
//!
//! Layers, bottom to top. A module imports only modules listed before it here (lower in its own
//! layer, or in a layer below); `tests/tests/module_layers.rs` checks exactly that at every
//! depth, and fails on any import cycle.
//!
//! 1. Shared vocabulary: `failure` (error kinds and their classification), `weighted` (the one
//!    weighted pick), `plan` (validated targets, pacing, stop), `report` (the result: `stats`,
//!    the per-worker recorder; `series`, a run over time; `gate`, SLO gates judged against a
//!    report; `merge`, shard reports combined exactly), `stop` (stop -> grace ->
//!    cancel), `serve` (the one accept loop, and connection policy, of loadgen's own small HTTP
//!    endpoints).
//! 2. The engine: `client_metrics` (the client-side metrics a run records into and serves on
//!    `--metrics-addr`), `net` (`h1`, the lean HTTP/1 client; `tls`; `conn`, connections and
//!    the one hyper exchange; `exchange`, one request of the load, redirects included), `load`
//!    (runs a `Plan`, returns a `Report`: `Live`, what any run is connected to while it runs;
//!    `schedule`, `live_split`, the split a running load can change; `run_view`, what `--web`'s
//!    run page reads of a running load; `worker`; `progress`).
//! 3. Features over the engine: `journey` (simulated users).

pub mod client_metrics;
pub mod failure;
pub mod journey;
pub mod load;
pub mod net;
pub mod plan;
pub mod report;
pub mod serve;
pub mod stop;
pub mod weighted;

pub use load::{Error, Live, run};
pub use stop::INTERRUPT_GRACE;
