//! Read-only memory maps of index files, so a lookup touches only the pages
//! its binary search probes.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::Path;

/// The bytes of a file, mapped read-only (empty files are not mapped).
pub enum Mapped {
    Map(memmap2::Mmap),
    Empty,
}

impl Mapped {
    pub fn open(path: &Path) -> io::Result<Mapped> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Mapped::Empty);
        }
        // SAFETY: the map is read-only and kseg never writes the file. If
        // another process truncates it while we read (a live broker's
        // retention), the kernel may raise SIGBUS; index files are small and
        // read briefly, and the same caveat is documented for users.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Mapped::Map(map))
    }
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        match self {
            Mapped::Map(m) => m,
            Mapped::Empty => &[],
        }
    }
}
