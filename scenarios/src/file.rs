//! Reading the files a run is configured with, with a bound: a phase or timeline is a few KiB,
//! and a path such as `/dev/zero` must be refused, not read until memory runs out.

use std::io::{self, Read};
use std::path::Path;

/// The largest phase or timeline file read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The bytes of `path`, or an error once more than [`MAX_FILE_BYTES`] have been read (the rest
/// is never read).
pub fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    read_at_most(path, MAX_FILE_BYTES)?.ok_or_else(too_large)
}

/// The bytes of `path` if it holds at most `max` of them; `None` if it holds more (at most one
/// byte past `max` is read, so an endless file costs nothing).
pub fn read_at_most(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= max).then_some(buf))
}

/// [`read_bounded`], as UTF-8 text.
pub fn read_to_string_bounded(path: &Path) -> io::Result<String> {
    String::from_utf8(read_bounded(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// The error for a file of `len` bytes (as far as it was read), if that is over the bound.
pub fn check_size(len: usize) -> io::Result<()> {
    if len as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the file is larger than 1 MiB (a phase or timeline takes a few KiB)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_bound() {
        let e = read_bounded(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("1 MiB"), "{e}");
    }
}
