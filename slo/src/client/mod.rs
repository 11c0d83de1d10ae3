//! Asking a running Prometheus: the bounded HTTP API client (`api`), waiting for alerts to
//! reach a state (`wait`, `loadgen alerts wait`), and each SLO's status now (`report`,
//! `loadgen slo report`).

pub mod api;
pub mod report;
pub mod wait;
