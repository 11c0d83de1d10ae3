//! Ready-made scenarios and the formats that describe them.
//!
//! Phase presets are the workshop's own payloads, embedded so a binary resolves `challenge6`
//! wherever it runs; timelines are TOML files of steps (apply a phase, hold for a duration, and
//! for loadgen a load and a traffic split). mock-server and loadgen read both through this crate,
//! so the two tools never disagree on what a file means.

pub mod duration;
mod file;
pub mod json;
mod names;
mod presets;
mod shipped;
mod timeline;

pub use file::{
    Limit, MAX_FILE_BYTES, REPORT_LIMIT, RULES_LIMIT, SPEC_LIMIT, check_size, open_regular,
    read_at_most, read_bounded, read_text, read_to_string_bounded,
};
pub use names::{Kind, Source, UnknownName, resolve};
pub use presets::{PresetError, preset, resolve_phase};
pub use shipped::{PRESETS, TIMELINES};
pub use timeline::{PhaseRef, Step, Timeline, TimelineError};
