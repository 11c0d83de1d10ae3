//! Phase presets: the workshop's payloads by name, or any phase document on disk.

use std::path::Path;

use crate::names::{Kind, Source};
use crate::shipped::PRESETS;

#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("no preset or file named {name:?}; presets are: {}", PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))]
    Unknown { name: String },
    #[error("reading the phase file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// The JSON text of a named preset.
pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, doc)| *doc)
}

/// A phase document on disk, or else a preset name (see [`crate::resolve`]: a path that
/// exists wins). Relative paths are taken from `base` (the directory of the file that names
/// them), then from the working directory.
pub fn resolve_phase(name_or_path: &str, base: Option<&Path>) -> Result<String, PresetError> {
    match crate::names::resolve(Kind::Phase, Path::new(name_or_path), base) {
        Ok(Source::Shipped(doc)) => Ok(doc.to_owned()),
        Ok(Source::File(path)) => {
            crate::file::read_to_string_bounded(&path).map_err(|source| PresetError::Read {
                path: path.display().to_string(),
                source,
            })
        }
        Err(_) => Err(PresetError::Unknown {
            name: name_or_path.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_a_json_object_of_the_original_24_fields() {
        for (name, doc) in PRESETS {
            let v: serde_json::Value = serde_json::from_str(doc).unwrap();
            assert_eq!(v.as_object().map(|o| o.len()), Some(24), "{name}");
        }
    }

    #[test]
    fn unknown_names_list_the_presets() {
        let e = resolve_phase("challenge9", None).unwrap_err().to_string();
        assert!(e.contains("challenge9") && e.contains("bad-change"), "{e}");
    }
}
