//! The one driver that walks a segment's entries for verify and stats:
//! sequentially with plain reads, or memory-mapped in windows of batches
//! that are worked on by every core, with the walk to the next window
//! overlapping the work on this one.
//!
//! The work is a fold: each entry is added to an accumulator, and
//! accumulators of neighbouring runs merge left to right, so what depends on
//! order (offset gaps, the order of findings) stays exact. The caller gets
//! one accumulator per window, and every step that is not an entry (a torn
//! tail, a zero tail, an oversized or corrupt entry) in file order between
//! them. Memory is bounded by the window, never by the segment: a window's
//! mapped pages are released once it is done.

use std::io;
use std::path::Path;

use rayon::prelude::*;

use crate::files::change::Change;
use crate::files::input;
use crate::files::log::LogSource;
use crate::files::mmap::Mapped;
use crate::format::walk::{Step, Walker};

/// How a segment's log is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Buffered reads, one batch after another.
    Sequential,
    /// A read-only memory map, batches worked on in parallel in windows.
    Mapped,
}

/// How many entries, and how many bytes of them, make one window.
#[derive(Clone, Copy, Debug)]
pub struct WindowSize {
    pub entries: usize,
    pub bytes: usize,
}

/// A fold over entries: what verify and stats compute per entry.
pub trait EntryFold: Sync {
    /// Per-thread scratch (a decoder and its buffers).
    type Reader: Send;
    /// What a run of entries adds up to.
    type Acc: Send;
    fn reader(&self) -> Self::Reader;
    fn empty(&self) -> Self::Acc;
    /// Add the entry `bytes` (log overhead included) at `position`.
    fn add(&self, reader: &mut Self::Reader, acc: &mut Self::Acc, bytes: &[u8], position: u64);
    /// Append `later`, the run that follows `acc`'s, to it.
    fn merge(&self, acc: &mut Self::Acc, later: Self::Acc);
}

/// What the caller is handed, in file order.
pub enum Event<'a, A> {
    /// The accumulated work of a run of entries.
    Entries(A),
    /// A step of the walk that is not an entry.
    Step(&'a Step<'a>),
}

/// How a walk over a segment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkEnd {
    /// The length of the file as read (when it was opened).
    pub len: u64,
    /// How the file changed while it was read, if it did: then what was
    /// read past its new end is zeros or missing, not the file's bytes.
    pub change: Option<Change>,
}

/// Walk the segment `log` and fold its entries with `fold`, handing each
/// window's accumulator and every other step to `take` in file order.
pub fn walk_segment<F: EntryFold>(
    log: &Path,
    reading: Reading,
    size: WindowSize,
    fold: &F,
    mut take: impl FnMut(Event<'_, F::Acc>),
) -> io::Result<WalkEnd> {
    // A stream can only be read forward, once.
    let reading = if input::is_stream(log) { Reading::Sequential } else { reading };
    match reading {
        Reading::Sequential => {
            let mut walker = Walker::new(LogSource::open(log, false)?);
            let mut reader = fold.reader();
            let mut acc = fold.empty();
            let mut pending = 0usize;
            loop {
                let step = match walker.next_step() {
                    Ok(Some(step)) => step,
                    Ok(None) => break,
                    // A read that fails because the file shrank ends the
                    // walk as a change, not as an I/O error.
                    Err(e) => match walker.source().change(log) {
                        Some(change) => {
                            if pending > 0 {
                                take(Event::Entries(acc));
                            }
                            return Ok(WalkEnd { len: walker.end(), change: Some(change) });
                        }
                        None => return Err(e),
                    },
                };
                match step {
                    Step::Entry { position, bytes } => {
                        fold.add(&mut reader, &mut acc, bytes, position);
                        pending += 1;
                        if pending == size.entries {
                            take(Event::Entries(std::mem::replace(&mut acc, fold.empty())));
                            pending = 0;
                        }
                    }
                    other => {
                        if pending > 0 {
                            take(Event::Entries(std::mem::replace(&mut acc, fold.empty())));
                            pending = 0;
                        }
                        take(Event::Step(&other));
                    }
                }
            }
            if pending > 0 {
                take(Event::Entries(acc));
            }
            Ok(WalkEnd { len: walker.end(), change: walker.source().change(log) })
        }
        Reading::Mapped => {
            let map = Mapped::open(log)?;
            let data: &[u8] = map.as_ref();
            let mut walker = Walker::new(data);
            let mut current = walker.window(size.entries, size.bytes)?;
            loop {
                // The walk to the next window (a sequential read of batch
                // headers) overlaps the work on this one. Each split folds a
                // contiguous run in order and the reduction joins
                // neighbouring runs left to right.
                let more = !current.done;
                let (acc, next) = rayon::join(
                    || {
                        current
                            .entries
                            .par_iter()
                            .with_min_len(64)
                            .fold(
                                || (fold.reader(), fold.empty()),
                                |(mut reader, mut acc), &(pos, len)| {
                                    let start = pos as usize;
                                    fold.add(&mut reader, &mut acc, &data[start..start + len], pos);
                                    (reader, acc)
                                },
                            )
                            .map(|(_, acc)| acc)
                            .reduce(
                                || fold.empty(),
                                |mut a, b| {
                                    fold.merge(&mut a, b);
                                    a
                                },
                            )
                    },
                    || more.then(|| walker.window(size.entries, size.bytes)),
                );
                if !current.entries.is_empty() {
                    take(Event::Entries(acc));
                }
                if let Some(step) = &current.last_step {
                    take(Event::Step(step));
                }
                if let Some((start, end)) = current.span() {
                    map.release(start, end);
                }
                match next {
                    Some(window) => current = window?,
                    None => break,
                }
            }
            Ok(WalkEnd { len: data.len() as u64, change: map.change(log) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects entry positions, so the two readings can be compared.
    struct Positions;

    impl EntryFold for Positions {
        type Reader = ();
        type Acc = Vec<u64>;
        fn reader(&self) {}
        fn empty(&self) -> Vec<u64> {
            Vec::new()
        }
        fn add(&self, _: &mut (), acc: &mut Vec<u64>, _: &[u8], position: u64) {
            acc.push(position);
        }
        fn merge(&self, acc: &mut Vec<u64>, later: Vec<u64>) {
            acc.extend(later);
        }
    }

    /// A file of `n` minimal v0 entries (14 bytes each after the overhead) and a torn tail.
    fn segment(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n as i64 {
            out.extend_from_slice(&i.to_be_bytes());
            out.extend_from_slice(&14i32.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        }
        out.extend_from_slice(&[1, 2, 3]);
        out
    }

    #[test]
    fn both_readings_give_every_entry_once_in_order_and_the_tail_last() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("00000000000000000000.log");
        std::fs::write(&log, segment(1000)).unwrap();
        let expected: Vec<u64> = (0..1000).map(|i| i * 26).collect();
        for reading in [Reading::Sequential, Reading::Mapped] {
            for size in [WindowSize { entries: 7, bytes: 1 << 20 }, WindowSize { entries: 4096, bytes: 100 }] {
                let mut seen = Vec::new();
                let mut steps = Vec::new();
                let len = walk_segment(&log, reading, size, &Positions, |e| match e {
                    Event::Entries(p) => {
                        assert!(!p.is_empty());
                        seen.extend(p);
                    }
                    Event::Step(s) => steps.push((seen.len(), format!("{s:?}"))),
                })
                .unwrap();
                assert_eq!(len, WalkEnd { len: 26_003, change: None });
                assert_eq!(seen, expected, "{reading:?} {size:?}");
                assert_eq!(steps.len(), 1, "{steps:?}");
                assert_eq!(steps[0].0, 1000, "the tail comes after every entry");
            }
        }
    }
}
