//! The one output layer: every finished report, whatever the command, becomes what people and
//! machines read here, and nowhere else. Features compute their reports (the engine's `Report`
//! and `JourneyReport`, canary's `CanaryResult`, a timeline's `StepReport`s, rehearse's
//! `RehearsalReport`, the `slo` crate's report) and the runner hands them to [`Render`] with
//! one [`OutputFormat`], choosing only the format and where the bytes go.
//!
//! `format` holds the enum and the table of which report has which format; then one file per
//! report family: `hey` (hey's summary, split changes), `journey` (Locust's final report and
//! stats CSV), `reconcile` (a journey beside the server's counters), `canary` (the rollout table), `timeline` (a timeline's steps), `verdict`
//! (rehearse's verdict table and JUnit), and `html` (one self-contained page per report).
//! JSON is every report's serde form, pretty and newline-terminated.
//!
//! Three things are written while a run goes on rather than from a finished report, and stay
//! with what produces them: hey's CSV rows (`-o csv`), streamed by the engine's workers as
//! requests end (the hot path must not collect them); a journey's live Locust table, printed
//! by the engine through the one table function (`engine::journey::report::table`) the final
//! report uses too; and canary's line per check (`canary::check_line`).

pub mod canary;
mod format;
pub mod hey;
pub mod html;
pub mod journey;
pub mod reconcile;
pub mod timeline;
pub mod verdict;

pub use self::format::{HeyReport, OutputFormat, Render, json};
