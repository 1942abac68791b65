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

    /// Drop `start..end` (page-aligned inward) from this process's resident
    /// set: a long walk over a big segment then keeps its RSS at the part
    /// being read, not the file size. The pages stay in the page cache, and
    /// reading them again only faults them back in.
    pub fn release(&self, start: usize, end: usize) {
        let Mapped::Map(m) = self else { return };
        let page = PAGE as usize;
        let (start, end) = (start.next_multiple_of(page), end.min(m.len()) / page * page);
        if start < end {
            // SAFETY: the map is a read-only shared mapping of a file. For
            // such a map MADV_DONTNEED only unmaps the pages; their contents
            // are the file's, and any later read returns the same bytes.
            // A failure only leaves the pages resident.
            let _ = unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
        }
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

/// A file read through a sliding read-only memory map: no copy into a
/// buffer, and only one window (`window` bytes, page aligned) is mapped at a
/// time, so the resident size stays bounded whatever the file size. Used
/// for long sequential walks (`kafka-dump-log` over a whole segment).
///
/// Like every map, a file truncated by another process while mapped can
/// raise SIGBUS; `kseg` only reads, and the caveat is documented.
pub struct WindowSource {
    file: File,
    len: u64,
    window: usize,
    map: Option<memmap2::Mmap>,
    map_pos: u64,
}

const PAGE: u64 = 4096;

impl WindowSource {
    pub fn open(path: &Path, window: usize) -> io::Result<Self> {
        Self::from_file(File::open(path)?, window)
    }

    /// Map a file already opened (and checked) by the caller; its length is
    /// taken now.
    pub fn from_file(file: File, window: usize) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(WindowSource { file, len, window: window.max(PAGE as usize), map: None, map_pos: 0 })
    }
}

impl crate::format::walk::Source for WindowSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        if pos + n as u64 > self.len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let inside =
            self.map.as_ref().is_some_and(|m| pos >= self.map_pos && pos + n as u64 <= self.map_pos + m.len() as u64);
        if !inside {
            // Unmap the old window first, so at most one is resident.
            self.map = None;
            let start = pos / PAGE * PAGE;
            let want = ((pos - start) as usize + n).max(self.window) as u64;
            let len = want.min(self.len - start) as usize;
            if len == 0 {
                return Ok(&[]);
            }
            // SAFETY: a read-only private view of a file kseg never writes;
            // see the type's note on concurrent truncation.
            let map = unsafe { memmap2::MmapOptions::new().offset(start).len(len).populate().map(&self.file)? };
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
            self.map = Some(map);
            self.map_pos = start;
        }
        let m = self.map.as_ref().ok_or(io::ErrorKind::UnexpectedEof)?;
        let at = (pos - self.map_pos) as usize;
        Ok(&m[at..at + n])
    }
}
