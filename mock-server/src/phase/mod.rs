//! The phase: how often each endpoint succeeds, how slow it is, and how chats turn out.
//!
//! A phase is the 24-field document of the original mock (plus an optional latency shape and a
//! fault per endpoint). It is parsed case-insensitively, merged onto the current phase and
//! validated as a whole before it is swapped in, so a rejected document never changes anything.
//!
//! Layout, bottom to top: `fields` (the vocabulary and the key table), `error` (why a document
//! is refused), `value` (the [`Phase`] value and its reads), `document` (parsing, merging and
//! writing the JSON document) and `validate` (the whole-phase checks). The last two add methods
//! to [`Phase`] and are imported by nothing; this file only re-exports.

mod document;
mod error;
mod fields;
mod validate;
mod value;

pub use self::error::PhaseError;
pub use self::fields::{MAX_LATENCY_MS, Ratio, Timed, field_names};
pub use self::value::Phase;
