//! SLOs for the Movie Guru mock backend and its canary, as Prometheus sees them.
//!
//! - [`Spec`] reads and checks the SLO spec (`scenarios/slo/slos.toml`).
//! - [`rules()`] writes the recording and burn-rate alert rules; [`Compression`] makes the
//!   time-compressed copy from the same function; [`rule_tests()`] writes `promtool test rules` files.
//! - [`generated_files`] lists everything checked in under `scenarios/slo/`, so one test keeps
//!   those files equal to what the generator writes.
//! - [`dashboards()`] writes the workshop's Grafana dashboards and their provisioning files, reading
//!   the dashboard series that [`panels`] defines and the rules record.
//! - [`export`] writes the spec as Cloud Monitoring SLO bodies and as OpenSLO, and reads OpenSLO
//!   back into a [`Spec`].
//! - [`alerts_wait`] and [`slo_report`] ask a running Prometheus, for users' CI pipelines.
//! - [`predict`] says when an alert fires and resolves, by the burn-rate formula.
//! - [`LocalPrometheus`] starts a real Prometheus on a free loopback port, for tests and
//!   rehearsals; [`LocalAlertmanager`] an Alertmanager the same way.
//! - [`compress_rules`] divides every duration of any rule file by a [`Compression`] factor, and
//!   [`Resolution`] says how often a rehearsal's Prometheus scrapes and evaluates at that factor.

pub mod client;
pub mod compress;
pub mod dashboards;
pub mod duration;
pub mod export;
pub mod files;
pub mod local;
pub mod panels;
pub mod predict;
pub mod rules;
pub mod selector;
pub mod spec;
pub mod testgen;

pub use client::api::{ApiError, PrometheusClient};
pub use client::report::{Report, SloStatus, slo_report};
pub use client::wait::{AlertState, WaitError, WaitFor, WaitOutcome, alerts_wait, alerts_wait_for};
pub use compress::{CompressError, Resolution, compress_rules};
pub use dashboards::{Dashboard, dashboard_files, dashboards};
pub use duration::{Compression, PromDuration};
pub use export::export_files;
pub use export::openslo::{OpenSloError, from_openslo, load_openslo, to_openslo};
pub use files::{GeneratedFile, generated_files};
pub use local::alertmanager::LocalAlertmanager;
pub use local::prometheus::LocalPrometheus;
pub use local::{LocalServiceError, Service};
pub use rules::{CompressionError, rules};
pub use spec::{SkippedAlert, Sli, Spec, SpecError};
pub use testgen::{TestFile, rule_tests};
