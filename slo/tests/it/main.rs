//! Integration tests of the slo crate, in one binary so they link once.

mod generated;
mod live;
mod promtool;
mod spec;
mod support;
