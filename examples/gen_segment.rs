//! Writes a realistic Kafka log segment (magic v2) for benchmarks, with the
//! `.index` and `.timeindex` a broker would have written beside it.
//!
//! ```text
//! cargo run --release --example gen_segment -- --out DIR/00000000000000000000.log \
//!     --size-mib 1024 --codec none|gzip|snappy|lz4|zstd \
//!     [--record-bytes 500] [--records-per-batch N] [--batch-bytes 16384] [--seed 42]
//! ```
//!
//! What the segment looks like:
//! * records of about `--record-bytes` bytes: keys `key-123456`, JSON-like text values
//!   (semi-compressible: a small vocabulary plus ids, hex tokens and numbers), two headers on
//!   every fourth record;
//! * batches filled like a producer with `batch.size=16384` and some linger: records are added
//!   while the uncompressed batch stays within `--batch-bytes` (or exactly
//!   `--records-per-batch` records), then the whole records section is compressed once;
//! * offsets increase by one per record from the base offset, timestamps (CreateTime) by 0–2 ms
//!   per record plus 1–5 ms between batches; four idempotent producers (id, epoch, sequence);
//! * codec framing as Kafka's Java client writes it: gzip members, xerial-framed snappy
//!   (32 KiB chunks), Kafka's LZ4 frame (64 KiB independent blocks, correct header checksum),
//!   zstd frames;
//! * the file stops before the batch that would make it larger than `--size-mib` (the way
//!   `segment.bytes` rolls a segment).
//!
//! Indexes follow `LogSegment.append` with `index.interval.bytes=4096`: before each batch is
//! appended, if more than 4096 bytes were written since the last entry, the offset index gets
//! `(batch last offset - base, batch position)` and the time index
//! `(max timestamp so far - only if it grew, offset of that timestamp - base)`; the first batch
//! is never indexed. Like a rolled segment, the time index then gets its final
//! `(max timestamp, offset)` entry if that is newer, and both files are trimmed to their
//! entries. Output is deterministic for a given set of arguments.
//!
//! Prints one line, `records=N batches=B bytes=… uncompressed_bytes=… index_entries=…
//! timeindex_entries=…`, on stdout.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Codec {
    /// Attribute bits 0-2.
    fn id(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Gzip => 1,
            Codec::Snappy => 2,
            Codec::Lz4 => 3,
            Codec::Zstd => 4,
        }
    }
}

/// Generate a Kafka magic-v2 log segment with its offset and time indexes.
#[derive(Debug, Parser)]
struct Args {
    /// The `.log` file to write; `.index` and `.timeindex` are written beside it.
    #[arg(long)]
    out: PathBuf,
    /// Target size of the `.log` in MiB (fractions allowed); the last batch that fits ends it.
    #[arg(long, default_value_t = 1024.0)]
    size_mib: f64,
    /// Compression codec of every batch.
    #[arg(long, value_enum, default_value_t = Codec::None)]
    codec: Codec,
    /// Approximate size of one record (key, value, headers and framing).
    #[arg(long, default_value_t = 500)]
    record_bytes: usize,
    /// Exactly this many records per batch (default: fill up to --batch-bytes).
    #[arg(long)]
    records_per_batch: Option<usize>,
    /// Producer `batch.size`: largest uncompressed batch when --records-per-batch is not given.
    #[arg(long, default_value_t = 16384)]
    batch_bytes: usize,
    /// Offset of the first record (use it in the file name too: `%020d.log`).
    #[arg(long, default_value_t = 0)]
    base_offset: i64,
    /// Seed of the pseudo-random content.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// `index.interval.bytes` default.
const INDEX_INTERVAL_BYTES: u64 = 4096;
/// Size of the v2 batch header.
const BATCH_HEADER: usize = 61;
/// 2026-01-01T00:00:00Z in milliseconds.
const FIRST_TIMESTAMP: i64 = 1_767_225_600_000;
const PRODUCERS: usize = 4;
const LEADER_EPOCH: i32 = 3;

fn main() -> Result<()> {
    let args = Args::parse();
    if args.record_bytes < 64 {
        bail!("--record-bytes must be at least 64");
    }
    if args.records_per_batch == Some(0) {
        bail!("--records-per-batch must be at least 1");
    }
    let limit = (args.size_mib * (1u64 << 20) as f64) as u64;
    if limit > i32::MAX as u64 {
        bail!("segments are limited to 2 GiB (positions are 32-bit)");
    }

    let log = File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut log = BufWriter::with_capacity(1 << 20, log);
    let mut g = Generator::new(&args);
    let mut idx = Indexes::new(args.base_offset);
    let mut stats = Stats::default();
    let mut position: u64 = 0;
    loop {
        let batch = g.next_batch()?;
        if position + batch.bytes.len() as u64 > limit {
            break;
        }
        idx.append(position, &batch);
        log.write_all(&batch.bytes)?;
        position += batch.bytes.len() as u64;
        stats.records += batch.records;
        stats.batches += 1;
        stats.uncompressed += batch.uncompressed as u64;
    }
    log.flush()?;
    idx.roll();
    write_file(&sibling(&args.out, "index"), &idx.offset)?;
    write_file(&sibling(&args.out, "timeindex"), &idx.time)?;
    println!(
        "records={} batches={} bytes={} uncompressed_bytes={} index_entries={} timeindex_entries={}",
        stats.records,
        stats.batches,
        position,
        stats.uncompressed,
        idx.offset.len() / 8,
        idx.time.len() / 12
    );
    Ok(())
}

#[derive(Default)]
struct Stats {
    records: u64,
    batches: u64,
    uncompressed: u64,
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// `x/00000000000000000000.log` → `x/00000000000000000000.<ext>`; any other name gets `.<ext>`
/// appended.
fn sibling(log: &Path, ext: &str) -> PathBuf {
    if log.extension().is_some_and(|e| e == "log") {
        log.with_extension(ext)
    } else {
        let mut s = log.as_os_str().to_owned();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    }
}

/// A finished batch and what the indexes need to know about it.
struct Batch {
    bytes: Vec<u8>,
    records: u64,
    uncompressed: usize,
    last_offset: i64,
    max_timestamp: i64,
}

/// Offset and time index contents, built the way `LogSegment.append` does.
struct Indexes {
    base: i64,
    offset: Vec<u8>,
    time: Vec<u8>,
    bytes_since_last_entry: u64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    last_time_entry: i64,
}

impl Indexes {
    fn new(base: i64) -> Self {
        Indexes {
            base,
            offset: Vec::new(),
            time: Vec::new(),
            bytes_since_last_entry: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            last_time_entry: -1,
        }
    }

    fn append(&mut self, position: u64, batch: &Batch) {
        if batch.max_timestamp > self.max_timestamp {
            self.max_timestamp = batch.max_timestamp;
            self.offset_of_max_timestamp = batch.last_offset;
        }
        if self.bytes_since_last_entry > INDEX_INTERVAL_BYTES {
            self.offset.extend_from_slice(&((batch.last_offset - self.base) as i32).to_be_bytes());
            self.offset.extend_from_slice(&(position as i32).to_be_bytes());
            self.maybe_append_time();
            self.bytes_since_last_entry = 0;
        }
        self.bytes_since_last_entry += batch.bytes.len() as u64;
    }

    /// `TimeIndex.maybeAppend`: only a strictly larger timestamp makes an entry.
    fn maybe_append_time(&mut self) {
        if self.max_timestamp > self.last_time_entry {
            self.time.extend_from_slice(&self.max_timestamp.to_be_bytes());
            self.time.extend_from_slice(&((self.offset_of_max_timestamp - self.base) as i32).to_be_bytes());
            self.last_time_entry = self.max_timestamp;
        }
    }

    /// `onBecomeInactiveSegment`: the final time index entry of a rolled segment.
    fn roll(&mut self) {
        if self.max_timestamp >= 0 {
            self.maybe_append_time();
        }
    }
}

struct Generator {
    rng: Rng,
    codec: Codec,
    record_bytes: usize,
    records_per_batch: Option<usize>,
    batch_bytes: usize,
    next_offset: i64,
    timestamp: i64,
    sequences: [i32; PRODUCERS],
    /// Uncompressed records section of the batch being built.
    records: Vec<u8>,
    /// One record without its length prefix.
    body: Vec<u8>,
    value: Vec<u8>,
    zstd: zstd::bulk::Compressor<'static>,
    snappy: snap::raw::Encoder,
}

impl Generator {
    fn new(args: &Args) -> Self {
        Generator {
            rng: Rng((args.seed ^ 0x9E37_79B9_7F4A_7C15).max(1)),
            codec: args.codec,
            record_bytes: args.record_bytes,
            records_per_batch: args.records_per_batch,
            batch_bytes: args.batch_bytes,
            next_offset: args.base_offset,
            timestamp: FIRST_TIMESTAMP,
            sequences: [0; PRODUCERS],
            records: Vec::with_capacity(args.batch_bytes * 2),
            body: Vec::with_capacity(args.record_bytes * 2),
            value: Vec::with_capacity(args.record_bytes * 2),
            // Level 3 is the zstd default and what the Java client uses unless told otherwise.
            zstd: zstd::bulk::Compressor::new(3).expect("zstd compressor"),
            snappy: snap::raw::Encoder::new(),
        }
    }

    fn next_batch(&mut self) -> Result<Batch> {
        let base_offset = self.next_offset;
        // Linger: the batch's first record comes a little after the previous batch's last.
        self.timestamp += 1 + self.rng.below(5) as i64;
        let base_timestamp = self.timestamp;
        self.records.clear();
        let mut count: usize = 0;
        let mut max_timestamp = base_timestamp;
        loop {
            if self.records_per_batch == Some(count) {
                break;
            }
            let ts = if count == 0 { base_timestamp } else { self.timestamp + self.rng.below(3) as i64 };
            let mark = self.records.len();
            self.record(ts - base_timestamp, count as i32, base_offset + count as i64);
            // A producer closes the batch when the next record would not fit (it always
            // takes at least one record).
            if self.records_per_batch.is_none() && count > 0 && BATCH_HEADER + self.records.len() > self.batch_bytes {
                self.records.truncate(mark);
                break;
            }
            self.timestamp = ts;
            max_timestamp = ts;
            count += 1;
        }
        self.next_offset += count as i64;

        let producer = self.rng.below(PRODUCERS as u64) as usize;
        let base_sequence = self.sequences[producer];
        self.sequences[producer] = base_sequence.wrapping_add(count as i32) & i32::MAX;

        let mut bytes = Vec::with_capacity(BATCH_HEADER + self.records.len() + 64);
        bytes.extend_from_slice(&base_offset.to_be_bytes());
        bytes.extend_from_slice(&[0; 4]); // batchLength, patched below
        bytes.extend_from_slice(&LEADER_EPOCH.to_be_bytes());
        bytes.push(2); // magic
        bytes.extend_from_slice(&[0; 4]); // crc, patched below
        bytes.extend_from_slice(&(self.codec.id() as i16).to_be_bytes()); // CreateTime, not transactional
        bytes.extend_from_slice(&(count as i32 - 1).to_be_bytes());
        bytes.extend_from_slice(&base_timestamp.to_be_bytes());
        bytes.extend_from_slice(&max_timestamp.to_be_bytes());
        bytes.extend_from_slice(&(1000 + producer as i64).to_be_bytes());
        bytes.extend_from_slice(&(producer as i16).to_be_bytes());
        bytes.extend_from_slice(&base_sequence.to_be_bytes());
        bytes.extend_from_slice(&(count as i32).to_be_bytes());
        debug_assert_eq!(bytes.len(), BATCH_HEADER);
        self.compress_records(&mut bytes)?;
        let batch_length = (bytes.len() - 12) as i32;
        bytes[8..12].copy_from_slice(&batch_length.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());

        Ok(Batch {
            bytes,
            records: count as u64,
            uncompressed: BATCH_HEADER + self.records.len(),
            last_offset: base_offset + count as i64 - 1,
            max_timestamp,
        })
    }

    /// Appends one record (length prefix included) to `self.records`.
    fn record(&mut self, timestamp_delta: i64, offset_delta: i32, offset: i64) {
        let rng = &mut self.rng;
        let id = rng.below(1_000_000);
        let key = format!("key-{id:06}");
        let with_headers = offset % 4 == 0;
        let headers_len = if with_headers { 64 } else { 0 };
        // Key, varints and framing take about 20 bytes; values vary by ±5%.
        let target = self.record_bytes.saturating_sub(20 + headers_len).max(16);
        let jitter = (target / 20).max(1) as u64;
        let value_len = target - jitter as usize + rng.below(2 * jitter + 1) as usize;
        fill_value(rng, offset, id, value_len, &mut self.value);

        let b = &mut self.body;
        b.clear();
        b.push(0); // attributes
        put_varlong(b, timestamp_delta);
        put_varint(b, offset_delta);
        put_varint(b, key.len() as i32);
        b.extend_from_slice(key.as_bytes());
        put_varint(b, self.value.len() as i32);
        b.extend_from_slice(&self.value);
        if with_headers {
            put_varint(b, 2);
            put_header(b, b"content-type", b"application/json");
            let trace = format!("{:016x}{:016x}", rng.next(), rng.next());
            put_header(b, b"trace-id", trace.as_bytes());
        } else {
            put_varint(b, 0);
        }
        put_varint(&mut self.records, self.body.len() as i32);
        self.records.extend_from_slice(&self.body);
    }

    /// Appends the records section, compressed with the batch codec, to `out`.
    fn compress_records(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let data = &self.records[..];
        match self.codec {
            Codec::None => out.extend_from_slice(data),
            Codec::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
                enc.write_all(data)?;
                enc.finish()?;
            }
            Codec::Snappy => {
                // xerial framing as written by snappy-java's SnappyOutputStream.
                out.extend_from_slice(&[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0]);
                out.extend_from_slice(&1i32.to_be_bytes());
                out.extend_from_slice(&1i32.to_be_bytes());
                for chunk in data.chunks(32 << 10) {
                    let block = self.snappy.compress_vec(chunk)?;
                    out.extend_from_slice(&(block.len() as i32).to_be_bytes());
                    out.extend_from_slice(&block);
                }
            }
            Codec::Lz4 => {
                // Kafka's LZ4 frame: version 01 + independent blocks, 64 KiB max block size,
                // no checksums, no content size.
                const FLG: u8 = 0x60;
                const BD: u8 = 0x40;
                out.extend_from_slice(&[0x04, 0x22, 0x4D, 0x18, FLG, BD]);
                out.push((xxhash_rust::xxh32::xxh32(&[FLG, BD], 0) >> 8) as u8);
                for chunk in data.chunks(64 << 10) {
                    let block = lz4_flex::block::compress(chunk);
                    if block.len() < chunk.len() {
                        out.extend_from_slice(&(block.len() as u32).to_le_bytes());
                        out.extend_from_slice(&block);
                    } else {
                        // Incompressible: stored, bit 31 set.
                        out.extend_from_slice(&(chunk.len() as u32 | 1 << 31).to_le_bytes());
                        out.extend_from_slice(chunk);
                    }
                }
                out.extend_from_slice(&0u32.to_le_bytes());
            }
            Codec::Zstd => out.extend_from_slice(&self.zstd.compress(data)?),
        }
        Ok(())
    }
}

fn put_header(b: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    put_varint(b, key.len() as i32);
    b.extend_from_slice(key);
    put_varint(b, value.len() as i32);
    b.extend_from_slice(value);
}

fn put_varint(b: &mut Vec<u8>, v: i32) {
    put_uvarint(b, ((v << 1) ^ (v >> 31)) as u32 as u64);
}

fn put_varlong(b: &mut Vec<u8>, v: i64) {
    put_uvarint(b, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_uvarint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push(v as u8 | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

const EVENTS: &[&str] = &["page_view", "add_to_cart", "checkout", "login", "logout", "search", "click", "purchase"];
const WORDS: &[&str] = &[
    "the",
    "order",
    "customer",
    "shipped",
    "warehouse",
    "payment",
    "accepted",
    "pending",
    "delivery",
    "address",
    "street",
    "city",
    "product",
    "quantity",
    "price",
    "discount",
    "coupon",
    "invoice",
    "account",
    "session",
    "browser",
    "mobile",
    "android",
    "ios",
    "desktop",
    "region",
    "europe",
    "america",
    "asia",
    "status",
    "ok",
    "retry",
    "timeout",
    "service",
    "gateway",
    "latency",
    "request",
    "response",
    "inventory",
    "reserved",
    "released",
    "cancelled",
    "refund",
    "review",
    "rating",
    "stars",
    "comment",
    "and",
    "of",
    "to",
    "in",
    "for",
    "with",
    "on",
    "by",
    "from",
    "kafka",
    "stream",
    "event",
    "record",
    "partition",
    "topic",
    "consumer",
    "producer",
];

/// A JSON-ish event of exactly `len` bytes: structured fields, ids and random tokens, then
/// free text from a small vocabulary. lz4 shrinks it 2-3x, like typical application logs.
fn fill_value(rng: &mut Rng, offset: i64, id: u64, len: usize, out: &mut Vec<u8>) {
    out.clear();
    let event = EVENTS[rng.below(EVENTS.len() as u64) as usize];
    let _ = write!(
        out,
        "{{\"id\":{offset},\"user\":\"user-{id:06}\",\"event\":\"{event}\",\"session\":\"{:012x}\",\
         \"amount\":{}.{:02},\"items\":{},\"text\":\"",
        rng.next() >> 16,
        rng.below(10_000),
        rng.below(100),
        rng.below(20)
    );
    while out.len() < len {
        if rng.below(8) == 0 {
            let _ = write!(out, "{:x} ", rng.next() >> 40);
        } else {
            out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
            out.push(b' ');
        }
    }
    out.truncate(len.saturating_sub(2));
    out.extend_from_slice(b"\"}");
    out.truncate(len);
}

/// xorshift64*: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
}
