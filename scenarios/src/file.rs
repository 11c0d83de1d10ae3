//! Reading the files a run is configured with, with a bound: a phase or timeline is a few KiB,
//! and a path such as `/dev/zero` must be refused, not read until memory runs out. Only regular
//! files are read: a FIFO or a device would block `open()` or never end, so it is refused, naming
//! what it is, before a byte is read.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
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
    open_regular(path)?.take(max + 1).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= max).then_some(buf))
}

/// Opens `path` for reading if it is a regular file. The open itself does not block: without
/// `O_NONBLOCK` a FIFO with no writer would hang `open()` for ever (and a process stuck there
/// no longer reacts to SIGTERM's graceful path).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    ))
}

/// [`read_bounded`], as UTF-8 text.
pub fn read_to_string_bounded(path: &Path) -> io::Result<String> {
    String::from_utf8(read_bounded(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// A size bound, in bytes, and how a message says it.
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub u64, pub &'static str);

/// Journey, timeline, phase and rehearsal files: a few KiB.
pub const SPEC_LIMIT: Limit = Limit(MAX_FILE_BYTES, "1 MiB");
/// Rules, SLO specs, OpenSLO documents and Alertmanager configurations: generated rules for
/// many SLOs run to a few hundred KiB.
pub const RULES_LIMIT: Limit = Limit(16 << 20, "16 MiB");
/// JSON reports (`loadgen merge`): a report is a few hundred KiB at most.
pub const REPORT_LIMIT: Limit = Limit(64 << 20, "64 MiB");

/// The text of `path`, a regular file (opened without blocking); an error (`InvalidData`) if it
/// is larger than `limit` or not UTF-8. Reads at most one byte past the limit, whatever the file.
pub fn read_text(path: &Path, limit: Limit) -> io::Result<String> {
    let bytes = read_at_most(path, limit.0)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {}", limit.1),
        )
    })?;
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
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
    fn a_device_is_refused_before_it_is_read() {
        let e = read_bounded(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("phase.json");
        // mkfifo(1) rather than libc::mkfifo keeps `unsafe` out of the crate.
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let e = read_bounded(&fifo).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_bounded(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_regular_file_is_read_up_to_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.json");
        std::fs::write(&f, b"{}").unwrap();
        assert_eq!(read_at_most(&f, 2).unwrap().as_deref(), Some(&b"{}"[..]));
        assert_eq!(read_at_most(&f, 1).unwrap(), None);
    }
}
