//! The walk over a `.log` (or `.checkpoint`) file: a concatenation of
//! entries, each `offset:int64, size:int32` then `size` bytes, with the magic
//! byte at entry offset 16. The stop rules are Kafka's (`FileLogInputStream`).
//!
//! A walk reads through a [`Source`]; the file sources (buffered reads,
//! memory maps) are in `crate::files`, so memory stays bounded by the
//! largest entry, never by the file.

use std::io;

use crate::format::error::{DecodeError, ErrorKind};
use crate::format::head::{EntryHead, V2_HEADER_LEN};
use crate::format::legacy::MESSAGE_OVERHEAD_V0;

/// Bytes up to and including the magic byte.
pub const HEADER_UP_TO_MAGIC: u64 = 17;
pub const LOG_OVERHEAD: u64 = 12;
/// Largest entry we read into memory; larger ones are reported and skipped.
pub const DEFAULT_MAX_ENTRY: usize = 256 << 20;
/// How much of a tail is read at a time to see whether it is all zeros.
const ZERO_CHECK_CHUNK: usize = 1 << 20;

/// Access to the bytes of a file, a buffer or a stream. A file or buffer
/// knows its length and reads anywhere; a stream (a pipe, standard input)
/// learns its length as it is read ([`Source::reach`]), reads forward only,
/// and keeps no more than the entry being read.
#[allow(clippy::len_without_is_empty)]
pub trait Source {
    /// The length: of a stream, the bytes read from it so far.
    fn len(&self) -> u64;
    /// `n` bytes at `pos`; the caller guarantees `pos + n <= len()` (after
    /// [`Source::reach`] for a stream, which reads forward only).
    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]>;
    /// Make the bytes up to `upto` readable if there are that many, and
    /// return [`Source::len`]: for a stream, at least `upto` unless it ended
    /// first.
    fn reach(&mut self, upto: u64) -> io::Result<u64> {
        let _ = upto;
        Ok(self.len())
    }
    /// The whole length, reading (and dropping) the rest of a stream.
    fn finish(&mut self) -> io::Result<u64> {
        Ok(self.len())
    }
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        let start = usize::try_from(pos).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        self.get(start..start + n).ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }
}

/// A source lent to a short walk (a lookup at one position) and used again after.
impl<S: Source + ?Sized> Source for &mut S {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        (**self).read(pos, n)
    }
    fn reach(&mut self, upto: u64) -> io::Result<u64> {
        (**self).reach(upto)
    }
    fn finish(&mut self) -> io::Result<u64> {
        (**self).finish()
    }
}

/// The last offset of the entry at `position`, as Kafka's
/// `FileChannelRecordBatch.lastOffset()` reads it from the file: the offset
/// field of a legacy entry (magic below 2); for any other magic, base offset
/// plus last offset delta from the 61-byte v2 header, which is read even past
/// the end of a shorter entry. `None` when the source ends before the bytes
/// needed, where Kafka fails to load the batch header.
pub fn last_offset_at<S: Source + ?Sized>(src: &mut S, position: u64) -> io::Result<Option<i64>> {
    let fits = |src: &S, n: u64| position.checked_add(n).is_some_and(|end| end <= src.len());
    if !fits(src, HEADER_UP_TO_MAGIC) {
        return Ok(None);
    }
    let head = EntryHead::any_magic(src.read(position, HEADER_UP_TO_MAGIC as usize)?);
    if head.magic().is_some_and(|m| m < 2) {
        return Ok(head.last_offset());
    }
    if !fits(src, V2_HEADER_LEN as u64) {
        return Ok(None);
    }
    Ok(EntryHead::any_magic(src.read(position, V2_HEADER_LEN)?).last_offset())
}

/// The framing of the next entry, without its bytes: `Ok((position, size))`
/// for a complete entry (`size` with the log overhead), or `Err` with the
/// step that ends the walk or skips an entry too large to read.
pub type Frame = Result<(u64, u64), Step<'static>>;

/// One step of the walk.
#[derive(Debug)]
pub enum Step<'a> {
    /// A complete entry: `bytes` includes the 12-byte log overhead.
    Entry { position: u64, bytes: &'a [u8] },
    /// Bytes at the end that do not hold a complete entry (Kafka stops here
    /// silently; DumpLogSegments reports them as trailing bytes).
    Trailing { position: u64, len: u64 },
    /// From `position` to the end every byte is zero: a preallocated file.
    ZeroFill { position: u64, len: u64 },
    /// An entry too large to read; the walk goes on after it.
    TooLarge { position: u64, size: u64 },
    /// A size field that cannot be right: the walk cannot go on.
    Corrupt(DecodeError),
}

/// A run of complete entries from a walk over bytes in memory, to check or
/// summarise in parallel: at most a given number of entries spanning at
/// most about a given number of bytes, and the step that ended it early.
pub struct Window {
    /// (position, length) of each entry, in file order.
    pub entries: Vec<(u64, usize)>,
    /// The step other than an entry that ended the window, if one did.
    pub last_step: Option<Step<'static>>,
    /// The walk is over.
    pub done: bool,
}

impl Window {
    /// The bytes the entries cover, from the first one's start to the last one's end.
    pub fn span(&self) -> Option<(usize, usize)> {
        let (&(first, _), &(last, len)) = (self.entries.first()?, self.entries.last()?);
        Some((first as usize, last as usize + len))
    }
}

pub struct Walker<S> {
    src: S,
    pos: u64,
    /// Where the walk stops at the latest (`--max-bytes`).
    limit: u64,
    max_entry: usize,
    done: bool,
}

impl Walker<&[u8]> {
    /// The next window of at most `max_entries` entries spanning at most
    /// about `max_bytes` (the entry that crosses the bound is included).
    pub fn window(&mut self, max_entries: usize, max_bytes: usize) -> io::Result<Window> {
        let mut w = Window { entries: Vec::with_capacity(max_entries), last_step: None, done: false };
        let mut spanned = 0;
        while w.entries.len() < max_entries && spanned < max_bytes {
            let step = match self.next_step()? {
                Some(Step::Entry { position, bytes }) => {
                    w.entries.push((position, bytes.len()));
                    spanned += bytes.len();
                    continue;
                }
                Some(Step::Trailing { position, len }) => Step::Trailing { position, len },
                Some(Step::ZeroFill { position, len }) => Step::ZeroFill { position, len },
                Some(Step::TooLarge { position, size }) => Step::TooLarge { position, size },
                Some(Step::Corrupt(e)) => Step::Corrupt(e),
                None => {
                    w.done = true;
                    break;
                }
            };
            w.last_step = Some(step);
            break;
        }
        Ok(w)
    }
}

impl<S: Source> Walker<S> {
    pub fn new(src: S) -> Self {
        Walker { src, pos: 0, limit: u64::MAX, max_entry: DEFAULT_MAX_ENTRY, done: false }
    }

    /// Read no further than `max_bytes` (DumpLogSegments' `--max-bytes`).
    pub fn limit_bytes(mut self, max_bytes: u64) -> Self {
        self.limit = self.limit.min(max_bytes);
        self
    }

    /// Where the bytes the walk may read end, having made those up to
    /// `upto` readable (a stream's end is known only once it is met).
    fn extent(&mut self, upto: u64) -> io::Result<u64> {
        Ok(self.src.reach(upto.min(self.limit))?.min(self.limit))
    }

    pub fn max_entry(mut self, max_entry: usize) -> Self {
        self.max_entry = max_entry;
        self
    }

    /// Start the walk at `position` (an index entry's position).
    pub fn seek(&mut self, position: u64) {
        self.pos = position;
        self.done = false;
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn source(&self) -> &S {
        &self.src
    }

    /// The source, to read at a position the walk has framed.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.src
    }

    /// Where the walk ends: the source's length (of a stream, what was
    /// read of it so far: all of it once the walk is over) or the limit.
    pub fn end(&self) -> u64 {
        self.src.len().min(self.limit)
    }

    pub fn next_step(&mut self) -> io::Result<Option<Step<'_>>> {
        match self.next_frame()? {
            None => Ok(None),
            Some(Err(step)) => Ok(Some(step)),
            Some(Ok((position, total))) => {
                let bytes = self.src.read(position, total as usize)?;
                Ok(Some(Step::Entry { position, bytes }))
            }
        }
    }

    /// The next complete entry's position, size and first `peek` bytes
    /// (fewer if the entry is shorter), without reading the rest: a lookup
    /// that only needs batch headers reads little of the log. The walk ends
    /// (`None`) at anything that is not a complete entry.
    pub fn next_head(&mut self, peek: usize) -> io::Result<Option<(u64, u64, &[u8])>> {
        match self.next_frame()? {
            Some(Ok((position, total))) => {
                let n = (total as usize).min(peek);
                Ok(Some((position, total, self.src.read(position, n)?)))
            }
            _ => Ok(None),
        }
    }

    /// The whole entry at `position` of `size` bytes (from `next_head`).
    pub fn read_entry(&mut self, position: u64, size: u64) -> io::Result<&[u8]> {
        self.src.read(position, size as usize)
    }

    /// Kafka's framing rules (`FileLogInputStream.nextBatch`) alone: the
    /// next entry found from its 17-byte head, which a lookup that needs
    /// only a few header bytes reads with [`Walker::read_entry`] or
    /// [`last_offset_at`]. `None` once the walk is over.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        if self.done {
            return Ok(None);
        }
        let pos = self.pos;
        let end = self.extent(pos + HEADER_UP_TO_MAGIC + 1)?;
        if pos + HEADER_UP_TO_MAGIC >= end {
            self.done = true;
            return Ok(if pos < end { Some(Err(self.tail(pos)?)) } else { None });
        }
        let head = self.src.read(pos, HEADER_UP_TO_MAGIC as usize)?;
        let size = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        if size < MESSAGE_OVERHEAD_V0 {
            self.done = true;
            if head.iter().all(|&b| b == 0) && self.rest_is_zero(pos)? {
                let end = self.src.finish()?.min(self.limit);
                return Ok(Some(Err(Step::ZeroFill { position: pos, len: end - pos })));
            }
            return Ok(Some(Err(Step::Corrupt(DecodeError::new(pos + 8, ErrorKind::SizeTooSmall(size))))));
        }
        let total = LOG_OVERHEAD + size as u64;
        if total > self.extent(pos + total)? - pos {
            self.done = true;
            return Ok(Some(Err(self.tail(pos)?)));
        }
        self.pos = pos + total;
        if total > self.max_entry as u64 {
            return Ok(Some(Err(Step::TooLarge { position: pos, size: total })));
        }
        Ok(Some(Ok((pos, total))))
    }

    fn tail(&mut self, pos: u64) -> io::Result<Step<'static>> {
        let zero = self.rest_is_zero(pos)?;
        let len = self.src.finish()?.min(self.limit) - pos;
        Ok(if zero { Step::ZeroFill { position: pos, len } } else { Step::Trailing { position: pos, len } })
    }

    fn rest_is_zero(&mut self, mut pos: u64) -> io::Result<bool> {
        loop {
            let end = self.extent(pos + ZERO_CHECK_CHUNK as u64)?;
            if pos >= end {
                return Ok(true);
            }
            let n = (end - pos).min(ZERO_CHECK_CHUNK as u64) as usize;
            if self.src.read(pos, n)?.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            pos += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: i64, size: i32, magic: u8) -> Vec<u8> {
        let mut v = offset.to_be_bytes().to_vec();
        v.extend_from_slice(&size.to_be_bytes());
        v.resize(12 + size.max(5) as usize, 0);
        v[16] = magic;
        v
    }

    fn steps(data: &[u8]) -> Vec<String> {
        let mut w = Walker::new(data);
        let mut out = Vec::new();
        while let Some(s) = w.next_step().unwrap() {
            out.push(match s {
                Step::Entry { position, bytes } => format!("entry@{position}+{}", bytes.len()),
                Step::Trailing { position, len } => format!("trailing@{position}+{len}"),
                Step::ZeroFill { position, len } => format!("zero@{position}+{len}"),
                Step::TooLarge { position, size } => format!("large@{position}+{size}"),
                Step::Corrupt(e) => format!("corrupt@{}", e.position),
            });
        }
        out
    }

    #[test]
    fn kafka_stop_rules() {
        let mut data = entry(0, 20, 2);
        data.extend(entry(1, 20, 2));
        assert_eq!(steps(&data), ["entry@0+32", "entry@32+32"]);
        // An entry cut short is trailing; 17 bytes or fewer are too.
        assert_eq!(steps(&data[..50]), ["entry@0+32", "trailing@32+18"]);
        assert_eq!(steps(&data[..49]), ["entry@0+32", "trailing@32+17"]);
        // A size below 14 stops the walk as corruption.
        let mut bad = entry(0, 20, 2);
        bad.extend(entry(1, 3, 2));
        bad.extend([1u8; 20]);
        assert_eq!(steps(&bad), ["entry@0+32", "corrupt@40"]);
        // Zeros to the end are a preallocated tail.
        let mut pre = entry(0, 20, 2);
        pre.extend([0u8; 100]);
        assert_eq!(steps(&pre), ["entry@0+32", "zero@32+100"]);
    }

    #[test]
    fn base_offsets_from_names() {}

    #[test]
    fn frames_without_reading_entries() {
        let mut data = entry(0, 20, 2);
        data.extend(entry(1, 3, 2));
        data.extend([1u8; 20]);
        let mut src = &data[..];
        let mut w = Walker::new(&mut src);
        assert_eq!(w.next_frame().unwrap().unwrap().unwrap(), (0, 32));
        assert!(matches!(w.next_frame().unwrap(), Some(Err(Step::Corrupt(_)))));
        assert!(w.next_frame().unwrap().is_none());
        // The walk only borrowed the source.
        assert_eq!(Source::read(&mut src, 32, 4).unwrap(), &data[32..36]);
    }

    #[test]
    fn last_offset_as_kafka_reads_it() {
        // v2: base offset 10 + last offset delta 4.
        let mut v2 = entry(10, 49, 2);
        v2[23..27].copy_from_slice(&4i32.to_be_bytes());
        assert_eq!(last_offset_at(&mut &v2[..], 0).unwrap(), Some(14));
        // Magic 3 is read as v2, as Kafka does.
        v2[16] = 3;
        assert_eq!(last_offset_at(&mut &v2[..], 0).unwrap(), Some(14));
        // A v2 entry shorter than its header: the header is read past its
        // end, and fails only where the file ends.
        let mut short = entry(10, 20, 2);
        assert_eq!(last_offset_at(&mut &short[..], 0).unwrap(), None);
        short.extend([0u8; 40]);
        assert_eq!(last_offset_at(&mut &short[..], 0).unwrap(), Some(10));
        // Legacy (negative magic too): the offset field.
        for magic in [0u8, 1, 0xff] {
            let legacy = entry(7, 14, magic);
            assert_eq!(last_offset_at(&mut &legacy[..], 0).unwrap(), Some(7));
        }
        assert_eq!(last_offset_at(&mut &v2[..], 50).unwrap(), None);
        assert_eq!(last_offset_at(&mut &v2[..], u64::MAX).unwrap(), None);
    }
}
