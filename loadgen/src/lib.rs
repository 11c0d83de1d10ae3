//! loadgen: a hey-compatible HTTP load generator that measures accurately (HdrHistograms,
//! coordinated-omission correction under `--rate`) in constant memory, splits traffic between
//! named targets and gates CI on SLOs.
//!
//! # Layout
//!
//! The load engine (connections, the lean HTTP/1 client, schedules, workers, plans, reports,
//! journeys) is the `engine` crate below this one; this crate is what a user drives, and it
//! renders every report it prints or writes. Layers, bottom to top. A module imports only
//! modules listed before it here (lower in its own layer, or in a layer below);
//! `tests/tests/module_layers.rs` checks exactly that, and fails on any import cycle at any
//! depth.
//!
//! 1. Shared vocabulary: `exit` (exit codes).
//! 2. Features over the engine: `split_api` (`GET`/`POST /split` on a running load, for
//!    `--web`'s pages), `phase_cmd` (the mock-server's admin API), `scenario` (timelines),
//!    `canary` (step-wise rollout), `reconcile` (a journey's counts beside the mock's
//!    counters), `slo_cmd`, `rehearse` (an incident played against a real
//!    Prometheus, alert expectations judged). Each computes a report and renders none.
//! 3. `output`: the one output layer. Every report above (the engine's, canary's, a
//!    timeline's, rehearse's, the SLO report) in every `OutputFormat`: hey's summary, Locust's
//!    tables and CSV, the canary and verdict tables, JSON, HTML pages, JUnit.
//! 4. `web` (`journey --web`: Locust's swarm page, its JSON API and Locust's own HTTP API over
//!    a controlled journey run, its report downloads rendered by `output`; `--web` on hey mode
//!    and timelines: the run page, `web::run_page`).
//! 5. `cli`: the only clap code; turns what was typed into the checked plans below
//!    (`HeyArgs` -> `Plan` + `HeyRun`, `CanaryArgs` -> `CanaryPlan`, ...), each with the
//!    `OutputFormat` its flags spell. Nothing below reads a flag or imports `cli`.
//! 6. `runner`: what the binary does: builds the runtime (raising the open-file limit),
//!    installs Ctrl-C and SIGTERM (`runner::signals`), dispatches each command, prints, judges
//!    hey mode's gates, and maps results to exit codes. `main.rs` is parse -> `runner::run` ->
//!    exit code.

pub mod canary;
pub mod cli;
pub mod exit;
pub mod output;
pub mod phase_cmd;
pub mod reconcile;
pub mod rehearse;
pub mod runner;
pub mod scenario;
pub mod slo_cmd;
pub mod split_api;
pub mod web;

pub use runner::exit_code;
