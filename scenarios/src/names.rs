//! Shipped names: `challenge6` or `chat-latency-breach` work wherever a file does. One resolver
//! for every flag that takes a phase or a timeline, so the tools agree on what a name means: a
//! path that exists wins, then a shipped name, and anything else is refused with the list.

use std::path::{Path, PathBuf};

use crate::shipped::{PRESETS, TIMELINES};

/// What a name can stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Phase,
    Timeline,
}

impl Kind {
    fn shipped(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Phase => PRESETS,
            Kind::Timeline => TIMELINES,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Phase => "phase",
            Kind::Timeline => "timeline",
        }
    }

    /// The shipped names, comma-separated, for error messages.
    pub fn names(self) -> String {
        self.shipped()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a name or path led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk, still to be read (bounded) by the caller.
    File(PathBuf),
    /// A shipped document's text.
    Shipped(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no file or shipped {} named {given:?}; the shipped {}s are: {}", .kind.label(), .kind.label(), .kind.names())]
pub struct UnknownName {
    pub kind: Kind,
    pub given: String,
}

/// A path that exists (taken from `base`, the directory of the file that names it, first, then
/// from the working directory), else a shipped name, else [`UnknownName`].
pub fn resolve(kind: Kind, given: &Path, base: Option<&Path>) -> Result<Source, UnknownName> {
    let candidates = base
        .map(|b| b.join(given))
        .into_iter()
        .chain(std::iter::once(given.to_path_buf()));
    for path in candidates {
        // A path that exists but cannot be read is still the user's file: the caller's read
        // reports why, rather than a shipped document silently standing in for it.
        if path.exists() {
            return Ok(Source::File(path));
        }
    }
    given
        .to_str()
        .and_then(|name| kind.shipped().iter().find(|(n, _)| *n == name))
        .map(|(_, doc)| Source::Shipped(doc))
        .ok_or_else(|| UnknownName {
            kind,
            given: given.display().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shipped_name_resolves_to_its_text() {
        let s = resolve(Kind::Timeline, Path::new("chat-latency-breach"), None).unwrap();
        assert_eq!(s, Source::Shipped(TIMELINES[1].1));
        let s = resolve(Kind::Phase, Path::new("challenge6"), None).unwrap();
        assert_eq!(s, Source::Shipped(PRESETS[2].1));
        assert_eq!(PRESETS[2].0, "challenge6");
    }

    #[test]
    fn a_path_that_exists_wins_over_a_name() {
        let dir = std::env::temp_dir().join(format!("scenarios-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("challenge6"), "{}").unwrap();
        let s = resolve(Kind::Phase, Path::new("challenge6"), Some(&dir)).unwrap();
        assert_eq!(s, Source::File(dir.join("challenge6")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unknown_name_lists_the_shipped_ones() {
        let e = resolve(Kind::Timeline, Path::new("chat-breach"), None).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("\"chat-breach\""), "{msg}");
        for (name, _) in TIMELINES {
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn every_timeline_file_is_shipped_under_its_name() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("timelines");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let shipped: Vec<&str> = TIMELINES.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, shipped);
    }
}
