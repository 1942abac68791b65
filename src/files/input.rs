//! A PATH argument opened for reading: a regular file (read through a map
//! or plain reads, at any position), or a stream read forward once —
//! standard input (`-`), a pipe, a process substitution (`<(…)`), a FIFO.
//! Telling them apart needs no open (a FIFO's open blocks until a writer
//! comes), so a directory walk can leave streams out unopened.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::files::read::StreamSource;

/// The PATH that means standard input.
pub const STDIN: &str = "-";

/// An input, opened.
pub enum Input {
    /// A regular file, opened read-only.
    File(File),
    /// A stream, read forward as it comes.
    Stream(StreamSource),
}

/// Whether `path` is standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Whether `path` is read as a stream: standard input, or anything that is
/// neither a regular file nor a directory (a FIFO, a pipe from `<(…)`, a
/// character device). Found from the file's type, without opening it.
pub fn is_stream(path: &Path) -> bool {
    is_stdin(path) || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Open `path` read-only: a regular file as one, anything else as a stream.
pub fn open(path: &Path) -> io::Result<Input> {
    if is_stdin(path) {
        return Ok(Input::Stream(StreamSource::new(Box::new(io::stdin()))));
    }
    let file = File::open(path)?;
    if file.metadata()?.is_file() {
        Ok(Input::File(file))
    } else {
        Ok(Input::Stream(StreamSource::new(Box::new(file))))
    }
}
