//! Reading the files users name, bounded: a report, a journey or a timeline is small, and a
//! mistaken path (`/dev/zero`, a disk image) must give an error, not exhaust memory.

use std::io;
use std::path::Path;

/// JSON reports (`loadgen merge`): a report is a few hundred KiB at most.
pub const REPORT_LIMIT: Limit = Limit(64 << 20, "64 MiB");
/// Journey, timeline and phase files: a few KiB.
pub const SPEC_LIMIT: Limit = Limit(1 << 20, "1 MiB");

/// A size bound, in bytes, and how it is said.
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub u64, pub &'static str);

/// The file's text; an error (`InvalidData`) if it is larger than `limit` or not UTF-8. Reads
/// at most one byte past the limit, whatever the file.
pub fn read_to_string(path: impl AsRef<Path>, limit: Limit) -> io::Result<String> {
    let bytes = scenarios::read_at_most(path.as_ref(), limit.0)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {}", limit.1),
        )
    })?;
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}
