//! loadgen: a hey-compatible HTTP load generator that measures accurately (HdrHistograms,
//! coordinated-omission correction under `--rate`) in constant memory, splits traffic between
//! named targets and gates CI on SLOs.
//!
//! # Layout
//!
//! Layers, bottom to top. A module imports only modules listed before it here (lower in its own
//! layer, or in a layer below); `tests/tests/module_layers.rs` checks exactly that, and fails on
//! any import cycle.
//!
//! 1. Shared vocabulary: `exit` (exit codes), `files` (bounded reads of named files), `failure` (error kinds and their
//!    classification), `weighted` (the one weighted pick), `stats` (the per-worker recorder),
//!    `series` (a run over time, a point a second, for charts),
//!    `plan` (validated targets, pacing, stop), `report` (the result, with gate `Outcome`s
//!    beside it), `gate` (SLO gates judged against a report), `render` (hey's summary, JSON),
//!    `html_report` (one self-contained HTML page per report, `--html`),
//!    `merge` (shard reports combined exactly), `stop` (stop -> grace -> cancel), `serve` (the one
//!    accept loop of loadgen's own small HTTP endpoints).
//! 2. The engine: `h1` (the lean HTTP/1 client), `tls`, `conn` (connections, and the one
//!    hyper exchange), `exchange` (one request of the load, redirects included), `schedule`,
//!    `live_split` (the split a running load can change, and its events), `run_view` (what
//!    `--web`'s run page reads of a running load, only when it asks), `worker`,
//!    `progress`, and `load` (runs a `Plan`, returns a `Report`).
//! 3. Features over the engine: `client_metrics` (`--metrics-addr`), `control` (`GET`/`POST /split`
//!    on a running load, for `--web`'s pages), `journey` (simulated
//!    users), `phase_cmd` (the mock-server's admin API), `scenario` (timelines), `canary`
//!    (step-wise rollout), `slo_cmd`, `rehearse` (an incident played against a real
//!    Prometheus, alert expectations judged), `web` (`journey --web`: Locust's swarm page and
//!    its JSON API over a controlled journey run; `--web` on hey mode and timelines: the run
//!    page, `web::run_page`).
//! 4. `cli`: the only clap code; turns what was typed into the checked plans below
//!    (`HeyArgs` -> `Plan` + `HeyRun`, `CanaryArgs` -> `CanaryPlan`, ...). Nothing below reads
//!    a flag or imports `cli`.
//! 5. `runner`: what the binary does: builds the runtime (raising the open-file limit),
//!    installs Ctrl-C and SIGTERM (`runner::signals`), dispatches each command, prints, judges hey mode's gates, and maps
//!    results to exit codes. `main.rs` is parse -> `runner::run` -> exit code.

pub mod canary;
pub mod cli;
pub mod client_metrics;
pub mod conn;
pub mod control;
pub mod exchange;
pub mod exit;
pub mod failure;
pub mod gate;
pub mod h1;
pub mod html_report;
pub mod journey;
pub mod live_split;
pub mod load;
pub mod merge;
pub mod phase_cmd;
pub mod plan;
pub mod progress;
pub mod rehearse;
pub mod render;
pub mod report;
pub mod run_view;
pub mod runner;
pub mod scenario;
pub mod schedule;
pub mod series;
pub mod serve;
pub mod slo_cmd;
pub mod stats;
pub mod stop;
pub mod tls;
pub mod web;
pub mod weighted;
pub mod worker;

pub use load::{Error, Sinks, run};
pub use runner::exit_code;
pub use stop::INTERRUPT_GRACE;
