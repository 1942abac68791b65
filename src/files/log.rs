//! A segment's `.log` opened for one forward walk: through a sliding
//! read-only map (kseg's default, guarded against a live broker truncating
//! the file meanwhile), or with plain reads (`--no-mmap`). Either way memory
//! stays bounded whatever the segment size, and the source says afterwards
//! whether the file changed while it was read.

use std::io;
use std::path::Path;

use crate::files::input::{self, Input};
use crate::files::mmap::WindowSource;
use crate::files::read::{FileSource, StreamSource};
use crate::format::walk::Source;

/// Bytes of a `.log` mapped at a time.
pub const MAP_WINDOW: usize = 8 << 20;

/// The ways a `.log` is read.
pub enum LogSource {
    Mapped(WindowSource),
    Read(FileSource),
    /// Standard input, a pipe or a FIFO: forward, once.
    Stream(StreamSource),
}

impl LogSource {
    /// Open `path` read-only, mapped a window at a time when `mmap`; a
    /// stream (`-`, a pipe, a FIFO) is read as one either way.
    pub fn open(path: &Path, mmap: bool) -> io::Result<LogSource> {
        match input::open(path)? {
            Input::File(file) => Self::from_file(file, mmap),
            Input::Stream(stream) => Ok(LogSource::Stream(stream)),
        }
    }

    /// How the file (opened from `path`) changed since it was opened, if it did.
    pub fn change(&self, path: &Path) -> Option<crate::files::change::Change> {
        match self {
            LogSource::Mapped(s) => s.change(path),
            LogSource::Read(s) => s.change(path),
            // A stream is read once, as it comes: nothing to change under it.
            LogSource::Stream(_) => None,
        }
    }

    /// The same over a file already opened (read-only) and checked.
    pub fn from_file(file: std::fs::File, mmap: bool) -> io::Result<LogSource> {
        if mmap {
            WindowSource::from_file(file, MAP_WINDOW).map(LogSource::Mapped)
        } else {
            FileSource::from_file(file).map(LogSource::Read)
        }
    }
}

impl Source for LogSource {
    fn len(&self) -> u64 {
        match self {
            LogSource::Mapped(s) => s.len(),
            LogSource::Read(s) => s.len(),
            LogSource::Stream(s) => s.len(),
        }
    }

    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        match self {
            LogSource::Mapped(s) => s.read(pos, n),
            LogSource::Read(s) => s.read(pos, n),
            LogSource::Stream(s) => s.read(pos, n),
        }
    }

    fn reach(&mut self, upto: u64) -> io::Result<u64> {
        match self {
            LogSource::Stream(s) => s.reach(upto),
            other => Ok(other.len()),
        }
    }

    fn finish(&mut self) -> io::Result<u64> {
        match self {
            LogSource::Stream(s) => s.finish(),
            other => Ok(other.len()),
        }
    }
}
