//! Integration tests of the slo crate, in one binary so they link once.

mod dashboards;
mod exports;
mod generated;
mod live;
mod predict;
mod promtool;
mod report;
mod spec;
mod support;
