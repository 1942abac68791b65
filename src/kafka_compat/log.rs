//! The `.log` and `.checkpoint` dump: one line per batch (or legacy
//! message), and under `--deep-iteration` one line per record, with control
//! records (transaction markers, KRaft control records) printed as Kafka's
//! `printControlRecord` does and `--print-data-log` keys and values as
//! `StringDecoder` or the internal-topic decoders ([`super::topics`]) print
//! them.
//!
//! Entries come from the library's walk ([`Walker`]) and are read through
//! [`EntryHead`] (batch lines) and the library's parsers (records). The
//! record line is the hot path: it is written with the [`Fixed`] writer into
//! one reused buffer and allocates nothing.

use std::collections::BTreeMap;
use std::io::{self, Write};

use kseg::Decoder;
use kseg::files::log::LogSource;
use kseg::format::batch::{BatchV2, TimestampType};
use kseg::format::compression::{self, Compression};
use kseg::format::control::{ControlRecord, ControlValue};
use kseg::format::error::{DecodeError, ErrorKind};
use kseg::format::head::{EntryHead, LEGACY_MIN_LEN, V2_HEADER_LEN};
use kseg::format::record::Record;
use kseg::format::walk::{HEADER_UP_TO_MAGIC, Step, Walker};

use super::java::{
    Exception, JFile, KResult, base_offset, boolean, file_records_string, increment_sequence, num, optional_long,
    parse_int, parse_long, utf8_lossy,
};
use super::{Config, FLUSH_AT, INT_MAX, KafkaDump, Parser, group, open_records, topics};
use crate::output::ordered::Plan;
use crate::output::simd::Fixed;

impl<W: Write> KafkaDump<W> {
    pub(super) fn dump_log(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        let name = file.name().to_string();
        let stream = kseg::files::input::is_stream(&file.path);
        // A stream, read as it comes, and its length known at its end.
        let mut opened: Option<(LogSource, Option<u64>)> = None;
        if stream {
            let mut source = match LogSource::open(&file.path, false) {
                Ok(s) => s,
                Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
            };
            let base = match self.cfg.base_offset {
                Some(b) => b,
                None => first_offset(&mut source).ok().flatten().unwrap_or(0),
            };
            self.line(&format!("Log starting offset: {base}"));
            opened = Some((source, None));
        } else if name.ends_with(".log") {
            let base = match (self.cfg.base_offset, base_offset(&name)) {
                (Some(b), _) | (None, Ok(b)) => b,
                // Kafka stops with NumberFormatException on such a name;
                // kseg reads the segment (a deliberate difference).
                (None, Err(_)) => {
                    let base = kseg::files::partition::first_base_offset(&file.path).ok().flatten().unwrap_or(0);
                    self.err_line(&format!(
                        "kseg: note: {}: no base offset in its name; {base} taken from its first batch (--base-offset N sets it)",
                        file.shown
                    ))?;
                    base
                }
            };
            self.line(&format!("Log starting offset: {base}"));
        } else if name == "bootstrap.checkpoint" {
            self.line("KRaft bootstrap snapshot");
        } else {
            match snapshot_id(&name) {
                Ok((offset, epoch)) => self.line(&format!("Snapshot end offset: {offset}, epoch: {epoch}")),
                Err(e) => return Ok(Err(e)),
            }
        }
        let (source, len) = match opened {
            Some(stream) => stream,
            None => {
                let (f, len) = match open_records(file) {
                    Ok(x) => x,
                    Err(e) => return Ok(Err(e)),
                };
                // Every core, in file order (a stream, `--no-mmap` and
                // `--jobs 1` are read one batch after another).
                if self.cfg.mmap && self.cfg.max_bytes >= 0 && Plan::new(self.cfg.jobs).worth_it(len) {
                    return self.dump_log_windows(file, f, len);
                }
                match LogSource::from_file(f, self.cfg.mmap) {
                    Ok(s) => (s, Some(len)),
                    Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
                }
            }
        };
        if self.cfg.max_bytes < 0 {
            return Ok(Err(Exception::illegal_argument(format!(
                "Invalid size: {} in read from {}",
                self.cfg.max_bytes,
                file_records_string(len.unwrap_or(0), &file.shown)
            ))));
        }
        let mut walker = Walker::new(source).limit_bytes(self.cfg.max_bytes as u64).max_entry(usize::MAX);
        let abs = file.absolute();
        let mut valid: u64 = 0;
        let mut last_offset: i64 = -1;
        let mut pairs: Option<BTreeMap<i64, i64>> = None;
        let result = loop {
            let step = match walker.next_step() {
                Ok(s) => s,
                Err(e) => break Err(Exception::io(e, &file.shown)),
            };
            let Some(step) = step else { break Ok(()) };
            let (position, bytes) = match step {
                Step::Entry { position, bytes } => (position, bytes),
                other => break end_of_batches(&other, &file.shown),
            };
            let r = batch(
                &self.cfg,
                &mut self.buf,
                &mut self.decoder,
                &mut self.scratch,
                bytes,
                position,
                valid,
                &mut last_offset,
                &mut pairs,
            );
            if let Err(e) = r {
                break Err(e);
            }
            valid += bytes.len() as u64;
            if self.buf.len() >= FLUSH_AT {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        };
        if let Some(p) = pairs.filter(|p| !p.is_empty()) {
            group(&mut self.non_consecutive, &abs).extend(p);
        }
        // A file that shrank under the walk (a live broker): what was read
        // is shown; what the truncation cut off or zeroed is not damage,
        // and kseg says so on stderr, outside Kafka's text.
        if let Some(change) = walker.source().change(&file.path) {
            eprintln!("kseg: warning: {}: {change}", file.shown);
            if change.spoils_reading() {
                return Ok(Ok(()));
            }
        }
        if let Err(e) = result {
            return Ok(Err(e));
        }
        // A stream's length is known once the walk has met its end.
        let end = len.unwrap_or_else(|| walker.end()).min(self.cfg.max_bytes as u64);
        let trailing = end - valid;
        if trailing > 0 && self.cfg.max_bytes == INT_MAX {
            self.damaged = true;
            self.line(&format!("Found {trailing} invalid bytes at the end of {}", file.name()));
        }
        Ok(Ok(()))
    }
}

/// What goes before `payload: `: the line's prefix (`| ` when nothing was
/// printed yet), except in the Scala tool, which always printed a space.
fn payload_prefix<'a>(cfg: &Config, prefix: &'a [u8]) -> &'a [u8] {
    if cfg.version.scala_text() { b" " } else { prefix }
}

/// The offset field of a stream's first entry, read without consuming it.
fn first_offset(source: &mut LogSource) -> io::Result<Option<i64>> {
    use kseg::format::walk::Source;
    if source.reach(8)? < 8 {
        return Ok(None);
    }
    let head = source.read(0, 8)?;
    Ok(Some(i64::from_be_bytes([head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7]])))
}

/// How a step of the walk other than an entry ends Kafka's batch iterator
/// (`FileLogInputStream.nextBatch`): quietly for bytes too few to hold an
/// entry, with `CorruptRecordException` for a size below the minimum (a
/// zero-filled tail has size 0).
pub(super) fn end_of_batches(step: &Step<'_>, file: &str) -> KResult<()> {
    match *step {
        // An entry ends nothing (callers pass the other steps); bytes too
        // few for an entry end the iteration quietly.
        Step::Entry { .. } | Step::Trailing { .. } => Ok(()),
        Step::ZeroFill { len, .. } if len <= HEADER_UP_TO_MAGIC => Ok(()),
        Step::ZeroFill { .. } => Err(size_too_small(0, file)),
        Step::TooLarge { .. } => unreachable!("no entry limit is set"),
        Step::Corrupt(ref e) => match e.kind {
            ErrorKind::SizeTooSmall(size) => Err(size_too_small(size, file)),
            _ => Err(Exception::decode(e)),
        },
    }
}

fn size_too_small(size: i32, file: &str) -> Exception {
    Exception::new(
        "org.apache.kafka.common.errors.CorruptRecordException",
        format!("Found record size {size} smaller than minimum record overhead (14) in file {file}."),
    )
}

/// `Snapshots.parse` of `<20-digit offset>-<10-digit epoch>.checkpoint`.
fn snapshot_id(name: &str) -> KResult<(i64, i32)> {
    let offset = name.get(..20).ok_or_else(|| {
        Exception::new("java.lang.StringIndexOutOfBoundsException", format!("begin 0, end 20, length {}", name.len()))
    })?;
    let epoch = name.get(21..31).ok_or_else(|| {
        Exception::new("java.lang.StringIndexOutOfBoundsException", format!("begin 21, end 31, length {}", name.len()))
    })?;
    Ok((parse_long(offset)?, parse_int(epoch)?))
}

/// Per-batch facts a record line needs.
struct BatchCtx {
    ts_type: TimestampType,
    v2: bool,
    base_offset: i64,
    base_sequence: i32,
    control: bool,
}

/// An entry whose header Kafka cannot load.
fn short_header(position: u64, len: usize, header: usize) -> Exception {
    Exception::new(
        "org.apache.kafka.common.KafkaException",
        format!(
            "Failed to load record batch at position {position}: batch of {len} bytes is shorter than the {header}-byte header"
        ),
    )
}

fn codec_name(id: u8) -> KResult<&'static str> {
    Compression::from_id(id)
        .map(|c| c.name())
        .ok_or_else(|| Exception::illegal_argument(format!("Unknown compression type id: {id}")))
}

/// Print one entry of a `.log`: its batch line and, under deep iteration,
/// its record lines. On an exception the buffer keeps what Kafka would have
/// printed before it.
#[allow(clippy::too_many_arguments)]
pub(super) fn batch(
    cfg: &Config,
    buf: &mut Vec<u8>,
    decoder: &mut Decoder,
    scratch: &mut Vec<u8>,
    bytes: &[u8],
    position: u64,
    valid: u64,
    last_offset: &mut i64,
    pairs: &mut Option<BTreeMap<i64, i64>>,
) -> KResult<()> {
    // Kafka picks the batch reader by magic alone: from 2 up as a v2 batch,
    // below (negative too) as a legacy message.
    let head = EntryHead::any_magic(bytes);
    let (Some(magic), Some(log_offset)) = (head.magic(), head.offset()) else {
        return Err(short_header(position, bytes.len(), LEGACY_MIN_LEN));
    };
    let mut ctx = BatchCtx {
        ts_type: TimestampType::NoTimestampType,
        v2: magic >= 2,
        base_offset: log_offset,
        base_sequence: -1,
        control: false,
    };
    let (crc, valid_crc, max_timestamp, codec_id);
    let v2 = if magic >= 2 {
        if bytes.len() < V2_HEADER_LEN {
            return Err(short_header(position, bytes.len(), V2_HEADER_LEN));
        }
        let b = BatchV2::parse(bytes, position).map_err(|e| Exception::decode(&e))?;
        let h = &b.header;
        ctx.ts_type = h.timestamp_type();
        ctx.base_sequence = h.base_sequence;
        ctx.control = h.is_control();
        (crc, valid_crc, max_timestamp, codec_id) = (h.crc, b.crc_valid(), h.max_timestamp, h.compression_id());
        buf.extend_from_slice(b"baseOffset: ");
        num(buf, h.base_offset);
        buf.extend_from_slice(b" lastOffset: ");
        num(buf, h.last_offset());
        buf.extend_from_slice(b" count: ");
        num(buf, h.records_count);
        buf.extend_from_slice(b" baseSequence: ");
        num(buf, h.base_sequence);
        buf.extend_from_slice(b" lastSequence: ");
        let last_sequence = match h.base_sequence {
            -1 => -1,
            base => increment_sequence(base, h.last_offset_delta),
        };
        num(buf, last_sequence);
        buf.extend_from_slice(b" producerId: ");
        num(buf, h.producer_id);
        buf.extend_from_slice(b" producerEpoch: ");
        num(buf, h.producer_epoch);
        buf.extend_from_slice(b" partitionLeaderEpoch: ");
        num(buf, h.partition_leader_epoch);
        buf.extend_from_slice(b" isTransactional: ");
        boolean(buf, h.is_transactional());
        buf.extend_from_slice(b" isControl: ");
        boolean(buf, ctx.control);
        buf.extend_from_slice(b" deleteHorizonMs: ");
        optional_long(buf, h.delete_horizon());
        Some(b)
    } else {
        let (Some(stored), Some(ts_type), Some(id)) = (head.crc(), head.timestamp_type(), head.compression_id()) else {
            return Err(short_header(position, bytes.len(), LEGACY_MIN_LEN));
        };
        ctx.ts_type = ts_type;
        // A v0 message has no timestamp: Kafka prints NO_TIMESTAMP (-1).
        (crc, valid_crc, max_timestamp, codec_id) = (stored, head.crc_valid(), head.max_timestamp().unwrap_or(-1), id);
        buf.extend_from_slice(b"offset: ");
        num(buf, log_offset);
        None
    };
    let codec = codec_name(codec_id)?;
    buf.extend_from_slice(b" position: ");
    num(buf, valid);
    buf.push(b' ');
    buf.extend_from_slice(ctx.ts_type.name().as_bytes());
    buf.extend_from_slice(b": ");
    num(buf, max_timestamp);
    buf.extend_from_slice(b" size: ");
    num(buf, bytes.len());
    buf.extend_from_slice(b" magic: ");
    num(buf, magic);
    buf.extend_from_slice(b" compresscodec: ");
    buf.extend_from_slice(codec.as_bytes());
    buf.extend_from_slice(b" crc: ");
    num(buf, crc);
    buf.extend_from_slice(b" isvalid: ");
    boolean(buf, valid_crc);
    buf.push(b'\n');
    if !cfg.deep {
        return Ok(());
    }
    let compressed = codec_id != 0;
    let mark = buf.len();
    let fail = |buf: &mut Vec<u8>, line_start: usize, e: &DecodeError| {
        // A compressed batch is read whole before its first record is
        // printed; an uncompressed one fails at the record, and "records
        // still remaining" fails the last record before it is printed.
        if compressed {
            buf.truncate(mark);
        } else if matches!(e.kind, ErrorKind::RecordsRemaining(_)) {
            buf.truncate(line_start);
        }
        Exception::decode(e)
    };
    let mut line_start = mark;
    if let Some(b) = v2 {
        let it = b.records(scratch, compression::DEFAULT_MAX_DECOMPRESSED).map_err(|e| fail(buf, mark, &e))?;
        for r in it {
            match r {
                Ok(rec) => {
                    line_start = buf.len();
                    record(cfg, buf, &ctx, &rec, last_offset, pairs)?;
                }
                Err(e) => return Err(fail(buf, line_start, &e)),
            }
        }
    } else {
        let mut d = decoder.decode(bytes, position).map_err(|e| Exception::decode(&e))?;
        for r in d.records() {
            match r {
                Ok(rec) => {
                    line_start = buf.len();
                    record(cfg, buf, &ctx, &rec, last_offset, pairs)?;
                }
                Err(e) => return Err(fail(buf, line_start, &e)),
            }
        }
    }
    Ok(())
}

/// One record line (`dumpBatchRecords`' loop body).
#[inline]
fn record(
    cfg: &Config,
    buf: &mut Vec<u8>,
    ctx: &BatchCtx,
    rec: &Record<'_>,
    last_offset: &mut i64,
    pairs: &mut Option<BTreeMap<i64, i64>>,
) -> KResult<()> {
    // The Scala tool starts counting at a file's first record; the Java
    // tool reports a file that does not start at offset 0 as `-1 is
    // followed by N`.
    let first_in_scala = cfg.version.scala_text() && *last_offset == -1;
    if rec.offset != last_offset.wrapping_add(1) && !first_in_scala {
        pairs.get_or_insert_with(BTreeMap::new).insert(*last_offset, rec.offset);
    }
    *last_offset = rec.offset;
    // One reservation for the whole line: the pushes below then never grow
    // the buffer.
    buf.reserve(
        Fixed::CAP + 32 + rec.key.map_or(0, <[u8]>::len) + rec.value.map_or(0, <[u8]>::len) + rec.headers.len() * 16,
    );
    if !cfg.skip_metadata {
        let mut w = Fixed::new(buf);
        w.lit(b"| offset: ");
        w.num(rec.offset);
        match ctx.ts_type {
            TimestampType::CreateTime => w.lit(b" CreateTime: "),
            TimestampType::LogAppendTime => w.lit(b" LogAppendTime: "),
            TimestampType::NoTimestampType => w.lit(b" NoTimestampType: "),
        }
        w.num(rec.timestamp);
        w.lit(b" keySize: ");
        w.num(rec.key.map_or(-1, |k| k.len() as i64));
        w.lit(b" valueSize: ");
        w.num(rec.value.map_or(-1, |v| v.len() as i64));
        if ctx.v2 {
            w.lit(b" sequence: ");
            let sequence = if ctx.base_sequence >= 0 {
                increment_sequence(ctx.base_sequence, rec.offset.wrapping_sub(ctx.base_offset) as i32)
            } else {
                -1
            };
            w.num(i64::from(sequence));
            w.lit(b" headerKeys: [");
        }
        w.done();
        if ctx.v2 {
            for (i, (k, _)) in rec.headers.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                utf8_lossy(buf, k);
            }
            buf.push(b']');
        }
        if let Some(m) = rec.message {
            // A legacy record: its message's own checksum, as
            // `LegacyRecord.isValid` and `checksum` give them.
            let message = EntryHead::new(m);
            buf.extend_from_slice(b" isValid: ");
            boolean(buf, message.crc_valid());
            buf.extend_from_slice(b" crc: ");
            num(buf, message.crc().unwrap_or_default());
            if cfg.version.scala_text() {
                buf.push(b'}');
            }
        }
        if ctx.control
            && let Some(c) = &rec.control
        {
            control_part(buf, c);
        }
    }
    if cfg.print_data && !ctx.control {
        let mut prefix: &[u8] = if cfg.skip_metadata { b"| " } else { b" " };
        match cfg.parser {
            Parser::Strings => {
                if let Some(k) = rec.key {
                    buf.extend_from_slice(prefix);
                    buf.extend_from_slice(b"key: ");
                    utf8_lossy(buf, k);
                    prefix = b" ";
                }
                if let Some(v) = rec.value {
                    buf.extend_from_slice(payload_prefix(cfg, prefix));
                    buf.extend_from_slice(b"payload: ");
                    utf8_lossy(buf, v);
                }
            }
            Parser::Internal(kind) => {
                let text = topics::record_text(kind, rec.offset, rec.key, rec.value, cfg.version).map_err(|_| {
                    Exception::new(
                        "java.lang.RuntimeException",
                        format!(
                            "Failed to decode message at offset {} using the specified decoder (message had a missing key)",
                            rec.offset
                        ),
                    )
                })?;
                if let Some(k) = text.key {
                    buf.extend_from_slice(prefix);
                    buf.extend_from_slice(b"key: ");
                    buf.extend_from_slice(k.as_bytes());
                    prefix = b" ";
                }
                if let Some(v) = text.payload {
                    buf.extend_from_slice(payload_prefix(cfg, prefix));
                    buf.extend_from_slice(b"payload: ");
                    buf.extend_from_slice(v.as_bytes());
                }
            }
        }
    }
    buf.push(b'\n');
    Ok(())
}

/// Jackson's string escaping (compact output).
fn json_string(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            '\u{8}' => buf.extend_from_slice(b"\\b"),
            '\u{c}' => buf.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => buf.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes()),
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    buf.push(b'"');
}

fn json_voter_ids(buf: &mut Vec<u8>, ids: &[i32]) {
    buf.push(b'[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"voterId\":");
        num(buf, *id);
        buf.push(b'}');
    }
    buf.push(b']');
}

/// The control part of a record line (`printControlRecord`).
fn control_part(buf: &mut Vec<u8>, c: &ControlRecord) {
    match &c.value {
        ControlValue::EndTxn { coordinator_epoch, .. } => {
            buf.extend_from_slice(b" endTxnMarker: ");
            buf.extend_from_slice(c.type_name.as_bytes());
            buf.extend_from_slice(b" coordinatorEpoch: ");
            num(buf, *coordinator_epoch);
        }
        ControlValue::LeaderChange { version, leader_id, voters, granting_voters } => {
            buf.extend_from_slice(b" LeaderChange: {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"leaderId\":");
            num(buf, *leader_id);
            buf.extend_from_slice(b",\"voters\":");
            json_voter_ids(buf, voters);
            buf.extend_from_slice(b",\"grantingVoters\":");
            json_voter_ids(buf, granting_voters);
            buf.push(b'}');
        }
        ControlValue::SnapshotHeader { version, last_contained_log_timestamp } => {
            buf.extend_from_slice(b" SnapshotHeader {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"lastContainedLogTimestamp\":");
            num(buf, *last_contained_log_timestamp);
            buf.push(b'}');
        }
        ControlValue::SnapshotFooter { version } => {
            buf.extend_from_slice(b" SnapshotFooter {\"version\":");
            num(buf, *version);
            buf.push(b'}');
        }
        ControlValue::KRaftVersion { version, kraft_version } => {
            buf.extend_from_slice(b" KRaftVersion {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"kRaftVersion\":");
            num(buf, *kraft_version);
            buf.push(b'}');
        }
        ControlValue::KRaftVoters { version, voters } => {
            buf.extend_from_slice(b" KRaftVoters {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"voters\":[");
            for (i, v) in voters.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"voterId\":");
                num(buf, v.voter_id);
                buf.extend_from_slice(b",\"voterDirectoryId\":");
                json_string(buf, &v.voter_directory_id);
                buf.extend_from_slice(b",\"endpoints\":[");
                for (j, e) in v.endpoints.iter().enumerate() {
                    if j > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(b"{\"name\":");
                    json_string(buf, &e.name);
                    buf.extend_from_slice(b",\"host\":");
                    json_string(buf, &e.host);
                    buf.extend_from_slice(b",\"port\":");
                    num(buf, e.port);
                    buf.push(b'}');
                }
                buf.extend_from_slice(b"],\"kRaftVersionFeature\":{\"minSupportedVersion\":");
                num(buf, v.kraft_version_feature.min_supported_version);
                buf.extend_from_slice(b",\"maxSupportedVersion\":");
                num(buf, v.kraft_version_feature.max_supported_version);
                buf.extend_from_slice(b"}}");
            }
            buf.extend_from_slice(b"]}");
        }
        ControlValue::Unknown {} => {
            buf.extend_from_slice(b" controlType: ");
            buf.extend_from_slice(c.type_name.as_bytes());
            buf.push(b'(');
            num(buf, c.type_id);
            buf.push(b')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_numbers_match_the_standard_formatting() {
        let mut samples = vec![0i64, 1, -1, 9, 10, 99, 100, 101, i64::MAX, i64::MIN, i64::MIN + 1];
        for k in 1..19u32 {
            let p = 10i64.pow(k);
            samples.extend([p - 1, p, p + 1, -(p - 1), -p, -(p + 1)]);
        }
        for v in samples {
            let mut buf = b"x".to_vec();
            buf.reserve(Fixed::CAP);
            let mut w = Fixed::new(&mut buf);
            w.lit(b"<");
            w.num(v);
            w.lit(b">");
            w.done();
            assert_eq!(String::from_utf8(buf).unwrap(), format!("x<{v}>"));
        }
    }
}
