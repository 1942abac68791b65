//! Read-only memory maps: of index files, so a lookup touches only the pages
//! its binary search probes, and of segments, read in windows. Every map is
//! covered by the fault guard ([`guard`]): a file truncated by another
//! process while mapped (a live broker's roll, truncation or retention)
//! reads as zeros past its new end and is reported as changed, where the
//! kernel would otherwise stop kseg with SIGBUS.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::Path;

use crate::files::change::{Change, Opened};

/// The bytes of a file, mapped read-only (empty files are not mapped), with
/// the fault guard over the map: if the file shrinks while mapped, the lost
/// pages read as zeros and [`Mapped::change`] says so.
pub struct Mapped {
    map: Option<GuardedMap>,
    file: File,
    opened: Opened,
}

/// A map and its guard registration; the registration is dropped (and the
/// range forgotten by the guard) before the map is unmapped.
struct GuardedMap {
    guard: guard::Registration,
    map: memmap2::Mmap,
}

impl GuardedMap {
    fn new(map: memmap2::Mmap) -> io::Result<GuardedMap> {
        let guard = guard::Registration::new(map.as_ptr() as usize, map.len())?;
        Ok(GuardedMap { guard, map })
    }
}

impl Mapped {
    pub fn open(path: &Path) -> io::Result<Mapped> {
        Self::from_file(File::open(path)?)
    }

    /// Map a file already opened read-only; its length is taken now. A
    /// directory is refused as reading it is ("Is a directory"), not with
    /// the map's "No such device".
    pub fn from_file(file: File) -> io::Result<Mapped> {
        if file.metadata()?.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        let opened = Opened::of(&file)?;
        if opened.len == 0 {
            return Ok(Mapped { map: None, file, opened });
        }
        // SAFETY: the map is read-only and kseg never writes the file. If
        // another process truncates it while it is mapped, the fault guard
        // turns the lost pages into zeros instead of a SIGBUS, and
        // `change` reports the file as changed.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Mapped { map: Some(GuardedMap::new(map)?), file, opened })
    }

    /// How the file (opened from `path`) changed since it was mapped, if it did.
    pub fn change(&self, path: &Path) -> Option<Change> {
        let lost = self.map.as_ref().is_some_and(|m| m.guard.lost());
        self.opened.change(&self.file, path, lost)
    }

    /// Drop `start..end` (page-aligned inward) from this process's resident
    /// set: a long walk over a big segment then keeps its RSS at the part
    /// being read, not the file size. The pages stay in the page cache, and
    /// reading them again only faults them back in.
    pub fn release(&self, start: usize, end: usize) {
        let Some(GuardedMap { map: m, .. }) = &self.map else { return };
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
        match &self.map {
            Some(m) => &m.map,
            None => &[],
        }
    }
}

/// A file read through a sliding read-only memory map: no copy into a
/// buffer, and only one window (`window` bytes, page aligned) is mapped at a
/// time, so the resident size stays bounded whatever the file size. Used
/// for long sequential walks (`kafka-dump-log` over a whole segment).
/// Each window is covered by the fault guard; [`WindowSource::change`]
/// says whether the file changed while it was read.
pub struct WindowSource {
    file: File,
    opened: Opened,
    len: u64,
    window: usize,
    map: Option<GuardedMap>,
    map_pos: u64,
    /// A window already unmapped had lost pages.
    lost: bool,
}

const PAGE: u64 = 4096;

impl WindowSource {
    pub fn open(path: &Path, window: usize) -> io::Result<Self> {
        Self::from_file(File::open(path)?, window)
    }

    /// Map a file already opened (and checked) by the caller; its length is
    /// taken now.
    pub fn from_file(file: File, window: usize) -> io::Result<Self> {
        let opened = Opened::of(&file)?;
        Ok(WindowSource {
            file,
            len: opened.len,
            opened,
            window: window.max(PAGE as usize),
            map: None,
            map_pos: 0,
            lost: false,
        })
    }

    /// How the file (opened from `path`) changed since it was opened, if it did.
    pub fn change(&self, path: &Path) -> Option<Change> {
        let lost = self.lost || self.map.as_ref().is_some_and(|m| m.guard.lost());
        self.opened.change(&self.file, path, lost)
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
        let inside = self
            .map
            .as_ref()
            .is_some_and(|m| pos >= self.map_pos && pos + n as u64 <= self.map_pos + m.map.len() as u64);
        if !inside {
            // Unmap the old window first, so at most one is resident.
            if let Some(old) = self.map.take() {
                self.lost |= old.guard.lost();
            }
            let start = pos / PAGE * PAGE;
            let want = ((pos - start) as usize + n).max(self.window) as u64;
            let len = want.min(self.len - start) as usize;
            if len == 0 {
                return Ok(&[]);
            }
            // SAFETY: a read-only view of a file kseg never writes; pages
            // lost to a concurrent truncation read as zeros (the guard).
            let map = unsafe { memmap2::MmapOptions::new().offset(start).len(len).populate().map(&self.file)? };
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
            self.map = Some(GuardedMap::new(map)?);
            self.map_pos = start;
        }
        let m = self.map.as_ref().ok_or(io::ErrorKind::UnexpectedEof)?;
        let at = (pos - self.map_pos) as usize;
        Ok(&m.map[at..at + n])
    }
}

/// The fault guard: a SIGBUS handler that knows kseg's own maps.
///
/// Reading a page of a shared file map past the file's current end raises
/// SIGBUS, and a live broker truncates files all the time. The handler
/// looks the faulting address up among the registered maps (a fixed table
/// of atomics: a signal handler may not lock or allocate). For one of
/// them, it maps anonymous zero pages over the rest of that map, from the
/// faulting page, and flags the registration; the faulting read then runs
/// again and reads zeros, and the reader learns from the flag that the
/// file changed under it. A fault anywhere else is not kseg's to handle:
/// the handler puts back the action that was there before (Rust's own, or
/// the default) and returns, so the fault repeats and ends the process as
/// it would have without the guard.
#[cfg(target_os = "linux")]
mod guard {
    use std::io;
    use std::sync::Once;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Maps registered at once. Every reader holds a few (a segment's log
    /// window and its indexes) per thread; this leaves ample room.
    const SLOTS: usize = 4096;
    /// A slot being filled in: taken, but not yet a range to match.
    const CLAIMED: usize = usize::MAX;

    struct Slot {
        /// Start of the mapped range; 0 = free.
        start: AtomicUsize,
        end: AtomicUsize,
        lost: AtomicBool,
    }

    static TABLE: [Slot; SLOTS] =
        [const { Slot { start: AtomicUsize::new(0), end: AtomicUsize::new(0), lost: AtomicBool::new(false) } }; SLOTS];
    static INSTALL: Once = Once::new();
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
    /// The action in place before the guard's, restored for a fault that
    /// is not in a registered map. Written once, before the handler is
    /// installed.
    static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::zeroed();

    /// A map's range, known to the guard while this lives.
    pub struct Registration {
        slot: usize,
    }

    impl Registration {
        pub fn new(start: usize, len: usize) -> io::Result<Registration> {
            install();
            if !INSTALLED.load(Ordering::Acquire) {
                return Err(io::Error::other("cannot install the SIGBUS guard for memory maps; use --no-mmap"));
            }
            for (i, slot) in TABLE.iter().enumerate() {
                if slot.start.compare_exchange(0, CLAIMED, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                    slot.end.store(start + len, Ordering::Release);
                    slot.lost.store(false, Ordering::Release);
                    slot.start.store(start, Ordering::Release);
                    return Ok(Registration { slot: i });
                }
            }
            Err(io::Error::other("too many files mapped at once; use --no-mmap"))
        }

        /// Whether pages of the map vanished (and now read as zeros).
        pub fn lost(&self) -> bool {
            TABLE[self.slot].lost.load(Ordering::Acquire)
        }
    }

    impl Drop for Registration {
        fn drop(&mut self) {
            TABLE[self.slot].start.store(0, Ordering::Release);
        }
    }

    fn install() {
        INSTALL.call_once(|| {
            // SAFETY: sysconf and sigaction are called with valid
            // arguments; PREVIOUS is written here once, before the handler
            // that reads it can run.
            unsafe {
                let page = libc::sysconf(libc::_SC_PAGESIZE);
                if page > 0 {
                    PAGE_SIZE.store(page as usize, Ordering::Relaxed);
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let previous = (&raw mut PREVIOUS).cast::<libc::sigaction>();
                if libc::sigaction(libc::SIGBUS, &action, previous) == 0 {
                    INSTALLED.store(true, Ordering::Release);
                }
            }
        });
    }

    /// The handler. Only async-signal-safe work: atomic loads and stores,
    /// `mmap`, `sigaction`.
    extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE_SIZE.load(Ordering::Relaxed);
        for slot in &TABLE {
            let start = slot.start.load(Ordering::Acquire);
            if start == 0 || start == CLAIMED || addr < start {
                continue;
            }
            let end = slot.end.load(Ordering::Acquire);
            // The slot may have been freed and taken again meanwhile.
            if addr >= end || slot.start.load(Ordering::Acquire) != start {
                continue;
            }
            let from = addr / page * page;
            let to = end.next_multiple_of(page);
            // SAFETY: `from..to` lies within a registered read-only map
            // (the kernel maps whole pages), which stays mapped while it is
            // registered; replacing its pages with private zero pages
            // changes what kseg reads there, never memory Rust owns.
            let zeroed = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    to - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if zeroed != libc::MAP_FAILED {
                slot.lost.store(true, Ordering::Release);
                return;
            }
            break;
        }
        // SAFETY: PREVIOUS was filled in before this handler was installed.
        unsafe {
            libc::sigaction(libc::SIGBUS, (&raw const PREVIOUS).cast::<libc::sigaction>(), std::ptr::null_mut());
        }
    }
}

/// Elsewhere there is no guard: maps are plain (use `--no-mmap` on a live broker).
#[cfg(not(target_os = "linux"))]
mod guard {
    pub struct Registration;

    impl Registration {
        pub fn new(_: usize, _: usize) -> std::io::Result<Registration> {
            Ok(Registration)
        }
        pub fn lost(&self) -> bool {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::walk::Source;

    /// Without the guard this test process dies of SIGBUS.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_truncated_under_its_map_reads_zeros_and_is_reported_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.index");
        std::fs::write(&path, vec![7u8; 64 << 10]).unwrap();
        let map = Mapped::open(&path).unwrap();
        let mut window = WindowSource::open(&path, 16 << 10).unwrap();
        assert_eq!(window.read(0, 10).unwrap(), &[7u8; 10]);
        assert_eq!(map.change(&path), None);
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(5000).unwrap();
        let data: &[u8] = map.as_ref();
        assert_eq!(data.len(), 64 << 10, "the length seen when mapped");
        assert!(data[..4096].iter().all(|&b| b == 7), "the page still in the file");
        assert!(data[8192..].iter().all(|&b| b == 0), "pages past the new end read as zeros");
        assert_eq!(map.change(&path), Some(Change::PagesLost { before: 64 << 10, after: 5000 }));
        // The window source: the current window, and one mapped later.
        assert!(window.read(12 << 10, 100).unwrap().iter().all(|&b| b == 0));
        assert!(window.read(40 << 10, 100).unwrap().iter().all(|&b| b == 0));
        assert!(matches!(window.change(&path), Some(Change::PagesLost { .. })));
    }

    #[test]
    fn an_unchanged_file_is_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, vec![1u8; 100_000]).unwrap();
        let mut window = WindowSource::open(&path, 4096).unwrap();
        for pos in (0..99_000).step_by(5000) {
            assert_eq!(window.read(pos, 1000).unwrap(), &[1u8; 1000][..]);
        }
        assert_eq!(window.change(&path), None);
    }
}
