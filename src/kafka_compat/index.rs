//! The `.index` and `.timeindex` dumps and their checks: each entry printed,
//! then checked against the log the way DumpLogSegments does (the offset
//! index entry against the last offset of the batch at its position, the
//! time index entry against the batch its offset lands in); the
//! `--index-sanity-check` a broker runs at startup; and `--verify-index-only`,
//! which checks without printing.
//!
//! The index files are read with the library's [`OffsetIndex`] and
//! [`TimeIndex`], and the log through a [`Walker`] over a [`PreadSource`],
//! since each check reads a few header bytes at a position.

use std::io::{self, Write};

use kseg::files::mmap::Mapped;
use kseg::files::read::PreadSource;
use kseg::format::batch::BatchV2;
use kseg::format::compression;
use kseg::format::head::{EntryHead, V2_HEADER_LEN};
use kseg::format::index::{OffsetIndex, TimeEntry, TimeIndex};
use kseg::format::walk::{LOG_OVERHEAD, Source, Walker, last_offset_at};

use super::java::{Exception, JFile, KResult, base_offset, file_records_string};
use super::log::end_of_batches;
use super::{KafkaDump, group, open_records};

/// Bytes read at least per read of the log by the offset index check: one
/// batch header, as entries are several KiB of log apart
/// (`index.interval.bytes`), so reading ahead would only copy bytes unused.
const INDEX_READ_AHEAD: usize = V2_HEADER_LEN;
/// The time index check walks the header of every batch from position 0:
/// a large read serves many small batches.
const TIME_INDEX_READ_AHEAD: usize = 64 << 10;

fn corrupt_index(message: String) -> Exception {
    Exception::new("org.apache.kafka.storage.internals.log.CorruptIndexException", message)
}

fn load_failure(position: u64, log_len: u64, file: &str) -> Exception {
    Exception::new(
        "org.apache.kafka.common.KafkaException",
        format!("Failed to load record batch at position {position} from {}", file_records_string(log_len, file)),
    )
}

/// A read of the log that failed, e.g. because the file shrank meanwhile.
fn read_failure(e: io::Error, file: &str) -> Exception {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            Exception::new("org.apache.kafka.common.KafkaException", format!("Failed to read {file}: {e}"))
        }
        _ => Exception::io(e, file),
    }
}

/// The log beside an index, read for lookups.
fn lookup_source(log: std::fs::File, ahead: usize, shown: &str) -> KResult<PreadSource> {
    PreadSource::from_file(log, ahead).map_err(|e| Exception::io(e, shown))
}

/// An index entry's position names a slice of the log, `slice(position, size)`.
fn check_slice(position: i32, log_len: u64, log: &JFile) -> KResult<u64> {
    if position < 0 {
        return Err(Exception::illegal_argument(format!(
            "Invalid position: {position} in read from {}",
            file_records_string(log_len, &log.shown)
        )));
    }
    if position as u64 > log_len {
        return Err(Exception::illegal_argument(format!(
            "Slice from position {position} exceeds end position of {}",
            file_records_string(log_len, &log.shown)
        )));
    }
    Ok(position as u64)
}

impl<W: Write> KafkaDump<W> {
    pub(super) fn dump_index(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        Ok(self.dump_index_inner(file))
    }

    fn dump_index_inner(&mut self, file: &JFile) -> KResult<()> {
        let name = file.name().to_string();
        let base = base_offset(&name)?;
        let log = file.sibling(&format!("{}.log", name.split('.').next().unwrap_or("")));
        let (log_file, log_len) = open_records(&log)?;
        // Kafka creates a missing index file here; kseg never writes.
        // Mapped, as Kafka maps it: an index of any size costs no allocation.
        let map = Mapped::open(&file.path).map_err(|e| Exception::io(e, &file.shown))?;
        let data = map.as_ref();
        // DumpLogSegments stops at the first slot after 0 holding the base offset.
        let index = OffsetIndex::new_exact(data, base);
        if index.slots() == 0 {
            self.line(&format!("{} is empty.", file.shown));
            return Ok(());
        }
        if self.cfg.index_sanity {
            // The sanity check looks at the last whole slot, zero tail included.
            let last = index.entry(index.slots() - 1).offset;
            if last < base {
                return Err(corrupt_index(format!(
                    "Corrupt index found, index file {} has non-zero size but the last offset is {last} which is less than the base offset {base}",
                    file.absolute()
                )));
            }
            if index.trailing_bytes() != 0 {
                return Err(corrupt_index(format!(
                    "Index file {} is corrupt, found {} bytes which is neither positive nor a multiple of 8",
                    file.absolute(),
                    data.len()
                )));
            }
            self.line(&format!("{} passed sanity check.", file.shown));
            return Ok(());
        }
        let abs = file.absolute();
        let mut src = lookup_source(log_file, INDEX_READ_AHEAD, &log.shown)?;
        for entry in index.iter() {
            // Kafka reads the stored position as a Java int.
            let (offset, position) = (entry.offset, entry.position as i32);
            let position = check_slice(position, log_len, &log)?;
            if self.cfg.max_message_size < 0 {
                return Err(Exception::illegal_argument(format!(
                    "Invalid size: {} in read from {}",
                    self.cfg.max_message_size,
                    file_records_string(log_len, &log.shown)
                )));
            }
            let end = (position + self.cfg.max_message_size as u64).min(log_len);
            let last = match first_batch_last_offset(&mut src, position, end, log_len, &log.shown)? {
                Some(l) => l,
                None => return Err(Exception::bare("java.util.NoSuchElementException")),
            };
            if last != offset {
                group(&mut self.index_mismatches, &abs).insert(offset, last);
            }
            if !self.cfg.verify_only {
                let mut l = String::with_capacity(48);
                l.push_str("offset: ");
                l.push_str(itoa::Buffer::new().format(offset));
                l.push_str(" position: ");
                l.push_str(itoa::Buffer::new().format(position));
                self.line(&l);
            }
        }
        Ok(())
    }

    pub(super) fn dump_time_index(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        Ok(self.dump_time_index_inner(file))
    }

    fn dump_time_index_inner(&mut self, file: &JFile) -> KResult<()> {
        let name = file.name().to_string();
        let base = base_offset(&name)?;
        let stem = name.split('.').next().unwrap_or("").to_string();
        let log = file.sibling(&format!("{stem}.log"));
        let (log_file, log_len) = open_records(&log)?;
        // Kafka creates a missing .index here (and then fails); kseg reads
        // the log from position 0 instead, which finds the same batches.
        let offsets = match Mapped::open(&file.sibling(&format!("{stem}.index")).path) {
            Ok(d) => Some(d),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Exception::io(e, &format!("{stem}.index"))),
        };
        let map = Mapped::open(&file.path).map_err(|e| Exception::io(e, &file.shown))?;
        let data = map.as_ref();
        let times = TimeIndex::new_exact(data, base);
        let abs = file.absolute();
        if self.cfg.index_sanity {
            if let Some(last_slot) = times.slots().checked_sub(1) {
                let (first, last) = (times.entry(0), times.entry(last_slot));
                if last.timestamp < first.timestamp {
                    return Err(corrupt_index(format!(
                        "Corrupt time index found, time index file ({abs}) has non-zero size but the last timestamp is {} which is less than the first timestamp {}",
                        last.timestamp, first.timestamp
                    )));
                }
                if last.offset < base {
                    return Err(corrupt_index(format!(
                        "Corrupt time index found, time index file ({abs}) has non-zero size but the last offset is {} which is less than the first offset {base}",
                        last.offset
                    )));
                }
            }
            if times.trailing_bytes() != 0 {
                return Err(corrupt_index(format!(
                    "Time index file {abs} is corrupt, found {} bytes which is neither positive nor a multiple of 12",
                    data.len()
                )));
            }
            self.line(&format!("{} passed sanity check.", file.shown));
            return Ok(());
        }
        let offsets = offsets.as_ref().map(|d| OffsetIndex::new(d.as_ref(), base));
        let mut src = lookup_source(log_file, TIME_INDEX_READ_AHEAD, &log.shown)?;
        let mut chain: Option<Chain> = None;
        let mut prev_ts: i64 = -1;
        for TimeEntry { timestamp, offset } in times.iter() {
            // Kafka reads the stored position as a Java int.
            let position = offsets.as_ref().map_or(0, |idx| idx.kafka_lookup(offset).position as i32);
            let position = check_slice(position, log_len, &log)?;
            let chain = match &mut chain {
                Some(c) => c,
                None => chain.insert(Chain::build(&mut src, 0, &log.shown)),
            };
            match chain.first_at_least(&mut src, position, log_len, &log.shown, offset)? {
                None => group(&mut self.time_errors.not_found, &abs).push((offset, -1)),
                Some((_, last)) if last != offset => group(&mut self.time_errors.not_found, &abs).push((offset, last)),
                Some((pos, _)) => {
                    let max_ts = self.max_record_timestamp(&mut src, pos, &log.shown)?;
                    if max_ts != timestamp {
                        group(&mut self.time_errors.mismatches, &abs).push((timestamp, max_ts));
                    }
                    if prev_ts >= timestamp {
                        group(&mut self.time_errors.out_of_order, &abs).push((timestamp, prev_ts));
                    }
                }
            }
            if !self.cfg.verify_only {
                let mut l = String::with_capacity(48);
                l.push_str("timestamp: ");
                l.push_str(itoa::Buffer::new().format(timestamp));
                l.push_str(" offset: ");
                l.push_str(itoa::Buffer::new().format(offset));
                self.line(&l);
            }
            prev_ts = timestamp;
        }
        Ok(())
    }

    /// The largest record timestamp of the batch at `pos`, from -1.
    fn max_record_timestamp(&mut self, src: &mut PreadSource, pos: u64, file: &str) -> KResult<i64> {
        let head = src.read(pos, LOG_OVERHEAD as usize).map_err(|e| read_failure(e, file))?;
        let size = EntryHead::new(head).size().unwrap_or_default();
        let bytes = src.read(pos, LOG_OVERHEAD as usize + size.max(0) as usize).map_err(|e| read_failure(e, file))?;
        let mut max = -1i64;
        if EntryHead::new(bytes).magic().unwrap_or(0) >= 2 {
            let b = BatchV2::parse(bytes, pos).map_err(|e| Exception::decode(&e))?;
            let it = b
                .records(&mut self.scratch, compression::DEFAULT_MAX_DECOMPRESSED)
                .map_err(|e| Exception::decode(&e))?;
            for r in it {
                max = max.max(r.map_err(|e| Exception::decode(&e))?.timestamp);
            }
        } else {
            let mut d = self.decoder.decode(bytes, pos).map_err(|e| Exception::decode(&e))?;
            for r in d.records() {
                max = max.max(r.map_err(|e| Exception::decode(&e))?.timestamp);
            }
        }
        Ok(max)
    }
}

/// `slice(pos, end).batches().iterator().next().lastOffset()`: the last
/// offset of the first batch of the log slice `[pos, end)`, `None` when the
/// slice holds none. The batch header is read from the whole file.
fn first_batch_last_offset(
    src: &mut PreadSource,
    pos: u64,
    end: u64,
    log_len: u64,
    file: &str,
) -> KResult<Option<i64>> {
    let mut walker = Walker::new(&mut *src).limit_bytes(end).max_entry(usize::MAX);
    walker.seek(pos);
    match walker.next_frame().map_err(|e| read_failure(e, file))? {
        None => Ok(None),
        Some(Err(step)) => end_of_batches(&step, file).map(|()| None),
        Some(Ok((position, _))) => match last_offset_at(walker.source_mut(), position) {
            Ok(Some(last)) => Ok(Some(last)),
            Ok(None) => Err(load_failure(position, log_len, file)),
            Err(e) => Err(read_failure(e, file)),
        },
    }
}

/// The batches of a log walked from position 0: start positions and last
/// offsets, and how the walk ended. Kafka walks from the looked-up position
/// for every time-index entry; a lookup that lands on one of these
/// positions sees the same suffix, so one walk serves them all.
struct Chain {
    positions: Vec<u64>,
    /// `i64::MIN` where the batch header could not be loaded: Kafka fails
    /// there only if that batch is examined.
    last_offsets: Vec<i64>,
    increasing: bool,
    /// The exception the walk to the end of the file raises, if any.
    error: Option<Exception>,
}

impl Chain {
    fn build(src: &mut PreadSource, start: u64, file: &str) -> Chain {
        let (mut positions, mut last_offsets) = (Vec::new(), Vec::new());
        let mut error = None;
        let mut walker = Walker::new(&mut *src).max_entry(usize::MAX);
        walker.seek(start);
        loop {
            match walker.next_frame() {
                Ok(Some(Ok((pos, _)))) => {
                    positions.push(pos);
                    let last = last_offset_at(walker.source_mut(), pos).ok().flatten();
                    last_offsets.push(last.unwrap_or(i64::MIN));
                }
                Ok(Some(Err(step))) => {
                    error = end_of_batches(&step, file).err();
                    break;
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(read_failure(e, file));
                    break;
                }
            }
        }
        let increasing = last_offsets.windows(2).all(|w| w[0] < w[1]);
        Chain { positions, last_offsets, increasing, error }
    }

    /// The first batch at or after `position` (walking from it) whose last
    /// offset is at least `target`: `(position, lastOffset)`.
    fn first_at_least(
        &mut self,
        src: &mut PreadSource,
        position: u64,
        log_len: u64,
        file: &str,
        target: i64,
    ) -> KResult<Option<(u64, i64)>> {
        let Ok(i) = self.positions.binary_search(&position) else {
            // Off the chain (an index entry pointing into a batch): walk
            // from there, as Kafka does.
            let c = Chain::build(src, position, file);
            if let Some(e) = c.error {
                return Err(e);
            }
            return c.scan(0, src, log_len, file, target);
        };
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.increasing {
            let j = i + self.last_offsets[i..].partition_point(|&l| l < target);
            return Ok(self.positions.get(j).map(|&p| (p, self.last_offsets[j])));
        }
        self.scan(i, src, log_len, file, target)
    }

    fn scan(
        &self,
        from: usize,
        src: &mut PreadSource,
        log_len: u64,
        file: &str,
        target: i64,
    ) -> KResult<Option<(u64, i64)>> {
        for j in from..self.positions.len() {
            let p = self.positions[j];
            let mut l = self.last_offsets[j];
            if l == i64::MIN {
                // Reproduce the header load failure now that it matters.
                l = match last_offset_at(src, p).map_err(|e| read_failure(e, file))? {
                    Some(l) => l,
                    None => return Err(load_failure(p, log_len, file)),
                };
            }
            if l >= target {
                return Ok(Some((p, l)));
            }
        }
        Ok(None)
    }
}
