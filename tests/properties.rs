//! Property tests for the decoder: whatever the bytes, walking a segment,
//! decoding its entries and iterating their records never panics, always
//! ends, names positions inside the input, and allocates no more than the
//! input (plus the decompression limit) justifies.
//!
//! Allocations are counted by a per-thread counting global allocator, so the
//! measurements stay exact while the test harness runs tests in parallel.
//! Only allocations made through Rust's allocator are seen: zstd's C code
//! allocates with libc `malloc`, which this cannot count (a zstd frame
//! header declaring a 128 MiB window makes it allocate 128 MiB, whatever
//! the decompression limit).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kseg::format::compression::{self, Compression};
use kseg::format::entry::Batch;
use kseg::format::walk::{Step, Walker};
use kseg::{DecodeError, Decoder, ErrorKind};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Counting allocator

struct Counting;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + delta;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping only touches const-initialised thread locals, which never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as the net change: large reallocations are done in
            // place (mremap) by the system allocator.
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f` and return its result with the peak number of bytes it had
/// allocated (on this thread) at any one time beyond what was live before.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, (peak - base).max(0) as usize)
}

/// What decoding `input_len` bytes with a decompression limit of `limit`
/// may allocate at its peak: a constant factor of the input, the
/// decompressed bytes (a `Vec` may hold up to twice what it was asked
/// for, since it grows by doubling), and a fixed allowance for codec state
/// (zlib-rs' window and tables).
fn alloc_bound(input_len: usize, limit: usize) -> usize {
    64 * input_len + 2 * limit + (512 << 10)
}

// ---------------------------------------------------------------------------
// The harness: walk, decode, iterate, and check everything on the way

/// The decompression limit the properties use.
const LIMIT: usize = 1 << 20;

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    entries: usize,
    records: usize,
    errors: usize,
}

fn check_error(e: &DecodeError, input_len: u64, limit: usize) {
    assert!(e.position <= input_len, "error position {} past the input ({input_len} bytes): {e}", e.position);
    if let Some(at) = e.decompressed_at {
        assert!(at <= limit as u64, "decompressed position {at} past the limit {limit}: {e}");
    }
    // Rendering an error must not panic either.
    let _ = (e.to_string(), e.kind_name());
}

/// Decode one entry and iterate all its records.
fn decode_entry(decoder: &mut Decoder, bytes: &[u8], position: u64, input_len: u64, stats: &mut Stats) {
    let limit = decoder.max_decompressed;
    let mut decoded = match decoder.decode(bytes, position) {
        Ok(d) => d,
        Err(e) => {
            stats.errors += 1;
            check_error(&e, input_len, limit);
            return;
        }
    };
    let info = decoded.info.clone();
    assert_eq!(info.position, position);
    assert!(info.size <= bytes.len() as u64, "batch size {} > entry length {}", info.size, bytes.len());
    if let Some(e) = decoded.wrapper_error() {
        check_error(e, input_len, limit);
    }
    // Every record takes at least one byte of the entry or of the
    // decompressed records: more items than that means the iterator is
    // not advancing.
    let max_items = bytes.len() + limit + 1;
    let mut items = 0usize;
    for item in decoded.records() {
        items += 1;
        assert!(items <= max_items, "records iterator of the entry at {position} does not end");
        match item {
            Ok(rec) => {
                stats.records += 1;
                assert!(rec.size <= bytes.len() + limit, "record size {} is impossible", rec.size);
                assert_eq!(
                    rec.headers.iter().count(),
                    rec.headers.len(),
                    "header iterator disagrees with header count"
                );
                for (k, v) in rec.headers.iter() {
                    std::hint::black_box((k, v));
                }
                std::hint::black_box((rec.key, rec.value, &rec.control));
            }
            Err(e) => {
                stats.errors += 1;
                check_error(&e, input_len, limit);
            }
        }
    }
}

/// Walk `data` as a segment and decode everything in it.
fn exercise(data: &[u8], limit: usize, max_entry: usize) -> Stats {
    let len = data.len() as u64;
    let mut walker = Walker::new(data).max_entry(max_entry);
    let mut decoder = Decoder::new(limit);
    let mut stats = Stats::default();
    // An entry has at least 26 bytes; a walk that yields more steps than
    // that allows is not advancing.
    let max_steps = data.len() / 26 + 2;
    let mut steps = 0usize;
    while let Some(step) = walker.next_step().expect("a slice source never fails to read") {
        steps += 1;
        assert!(steps <= max_steps, "walk does not end");
        match step {
            Step::Entry { position, bytes } => {
                assert!(position + bytes.len() as u64 <= len);
                assert!(bytes.len() <= max_entry);
                stats.entries += 1;
                decode_entry(&mut decoder, bytes, position, len, &mut stats);
            }
            Step::Trailing { position, len: n } | Step::ZeroFill { position, len: n } => {
                assert_eq!(position + n, len, "a tail step must reach the end");
            }
            Step::TooLarge { position, size } => {
                assert!(position + size <= len);
                assert!(size > max_entry as u64);
            }
            Step::Corrupt(e) => {
                stats.errors += 1;
                check_error(&e, len, limit);
            }
        }
    }
    stats
}

/// `exercise` under the allocation bound.
fn exercise_bounded(data: &[u8], limit: usize, max_entry: usize) -> Stats {
    let (stats, peak) = measure(|| exercise(data, limit, max_entry));
    let bound = alloc_bound(data.len(), limit);
    assert!(peak <= bound, "decoding {} bytes allocated {peak} bytes at peak (bound {bound})", data.len());
    stats
}

// ---------------------------------------------------------------------------
// Encoders for hand-made inputs

fn uvarint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn varint(v: i32) -> Vec<u8> {
    uvarint(u64::from(((v << 1) ^ (v >> 31)) as u32))
}

fn varlong(v: i64) -> Vec<u8> {
    uvarint(((v << 1) ^ (v >> 63)) as u64)
}

fn put_varint_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => out.extend(varint(-1)),
        Some(b) => {
            out.extend(varint(b.len() as i32));
            out.extend_from_slice(b);
        }
    }
}

type Header<'a> = (&'a [u8], Option<&'a [u8]>);

fn v2_record(offset_delta: i32, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[Header<'_>]) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend(varlong(0));
    body.extend(varint(offset_delta));
    put_varint_bytes(&mut body, key);
    put_varint_bytes(&mut body, value);
    body.extend(varint(headers.len() as i32));
    for (k, v) in headers {
        put_varint_bytes(&mut body, Some(k));
        put_varint_bytes(&mut body, *v);
    }
    let mut rec = varint(body.len() as i32);
    rec.extend(body);
    rec
}

/// A v2 batch (log overhead included) around an already encoded (and, per
/// `attributes`, already compressed) records section.
fn v2_batch(base_offset: i64, attributes: i16, last_offset_delta: i32, records_count: i32, records: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(61 + records.len());
    b.extend(base_offset.to_be_bytes());
    b.extend((49 + records.len() as i32).to_be_bytes());
    b.extend(0i32.to_be_bytes()); // partition leader epoch
    b.push(2);
    b.extend(0u32.to_be_bytes()); // crc, set below
    b.extend(attributes.to_be_bytes());
    b.extend(last_offset_delta.to_be_bytes());
    b.extend(1_700_000_000_000i64.to_be_bytes());
    b.extend(1_700_000_000_000i64.to_be_bytes());
    b.extend((-1i64).to_be_bytes()); // producer id
    b.extend((-1i16).to_be_bytes()); // producer epoch
    b.extend((-1i32).to_be_bytes()); // base sequence
    b.extend(records_count.to_be_bytes());
    assert_eq!(b.len(), 61);
    b.extend_from_slice(records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// A legacy message (log overhead included).
fn legacy_message(offset: i64, magic: u8, attributes: u8, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![magic, attributes];
    if magic == 1 {
        body.extend(1_700_000_000_000i64.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => body.extend((-1i32).to_be_bytes()),
            Some(b) => {
                body.extend((b.len() as i32).to_be_bytes());
                body.extend_from_slice(b);
            }
        }
    }
    let mut m = offset.to_be_bytes().to_vec();
    m.extend((4 + body.len() as i32).to_be_bytes());
    m.extend(crc32fast::hash(&body).to_be_bytes());
    m.extend(body);
    m
}

const XERIAL_HEADER: [u8; 16] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1];

/// Compress like Kafka's producers do. `variant` picks between the framings
/// a codec allows (raw snappy or xerial chunks; LZ4 with a header checksum
/// for `magic` >= 1 or Kafka's old broken one for v0).
fn compress(codec: Compression, data: &[u8], variant: bool, magic: u8) -> Vec<u8> {
    match codec {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        Compression::Snappy if variant => {
            let mut out = XERIAL_HEADER.to_vec();
            for chunk in data.chunks(1024) {
                let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
                out.extend((block.len() as i32).to_be_bytes());
                out.extend(block);
            }
            out
        }
        Compression::Snappy => snap::raw::Encoder::new().compress_vec(data).unwrap(),
        Compression::Lz4 => {
            let (flg, bd) = (0x60u8, 0x40u8); // v1, independent blocks, 64 KiB blocks
            let mut out = vec![0x04, 0x22, 0x4d, 0x18, flg, bd];
            let hc = if magic == 0 && variant {
                (xxhash_rust::xxh32::xxh32(&out, 0) >> 8) as u8 // KAFKA-3160: over the magic too
            } else {
                (xxhash_rust::xxh32::xxh32(&[flg, bd], 0) >> 8) as u8
            };
            out.push(hc);
            for chunk in data.chunks(64 << 10) {
                let block = lz4_flex::block::compress(chunk);
                if block.len() < chunk.len() {
                    out.extend((block.len() as u32).to_le_bytes());
                    out.extend(block);
                } else {
                    out.extend((chunk.len() as u32 | 0x8000_0000).to_le_bytes());
                    out.extend_from_slice(chunk);
                }
            }
            out.extend(0u32.to_le_bytes());
            out
        }
        Compression::Zstd => zstd::bulk::compress(data, 1).unwrap(),
    }
}

/// `compression::decompress` reports its output either as all of `out`
/// (`Ok(())`) or as the first `n` bytes of `out` (`Ok(n)`, where LZ4 may
/// leave stale bytes after them). This turns either into `n`, so the tests
/// hold for both forms of the API.
trait Produced {
    fn produced(self, out: &[u8]) -> usize;
}

impl Produced for () {
    fn produced(self, out: &[u8]) -> usize {
        out.len()
    }
}

impl Produced for usize {
    fn produced(self, _: &[u8]) -> usize {
        self
    }
}

/// Decompress, returning the length of the output at the start of `out`.
fn decompress(
    codec: Compression,
    input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    magic: i8,
) -> Result<usize, ErrorKind> {
    let result = compression::decompress(codec, input, out, limit, magic);
    result.map(|p| p.produced(out))
}

const CODECS: [Compression; 5] =
    [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

fn codec_id(c: Compression) -> u8 {
    CODECS.iter().position(|&x| x == c).unwrap() as u8
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------
// Fixtures

fn fixtures() -> &'static [(String, Vec<u8>)] {
    static FIXTURES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut paths: Vec<PathBuf> = Vec::new();
        for group in ["segments", "partitions"] {
            for dir in std::fs::read_dir(root.join(group)).unwrap() {
                for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                    let p = file.unwrap().path();
                    if p.extension().is_some_and(|e| e == "log") {
                        paths.push(p);
                    }
                }
            }
        }
        paths.sort();
        assert!(paths.len() >= 20, "fixtures missing under {}", root.display());
        paths
            .into_iter()
            .map(|p| (p.strip_prefix(&root).unwrap().display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    })
}

/// Start positions of the entries of a fixture.
fn entry_starts(data: &[u8]) -> Vec<usize> {
    let mut w = Walker::new(data);
    let mut out = Vec::new();
    while let Some(step) = w.next_step().unwrap() {
        if let Step::Entry { position, .. } = step {
            out.push(position as usize);
        }
    }
    out
}

/// Decompressed payloads found in the fixtures, to be mutated and
/// compressed again so that the mutations reach the decompressed parsers.
#[derive(Debug)]
enum Payload {
    /// A v2 records section and its batch's header fields.
    V2 { base_offset: i64, attributes: i16, last_offset_delta: i32, records_count: i32, records: Vec<u8> },
    /// A legacy wrapper's inner message set.
    Legacy { offset: i64, magic: u8, inner: Vec<u8> },
}

fn payloads() -> &'static [Payload] {
    static PAYLOADS: OnceLock<Vec<Payload>> = OnceLock::new();
    PAYLOADS.get_or_init(|| {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for (_, data) in fixtures() {
            let mut w = Walker::new(&data[..]);
            while let Some(step) = w.next_step().unwrap() {
                let Step::Entry { position, bytes } = step else {
                    continue;
                };
                match Batch::parse(bytes, position).unwrap() {
                    Batch::V2(b) => {
                        let h = b.header;
                        let codec = h.compression().unwrap();
                        let n = decompress(codec, b.records_bytes(), &mut buf, LIMIT, 2).unwrap();
                        out.push(Payload::V2 {
                            base_offset: h.base_offset,
                            attributes: h.attributes & !7,
                            last_offset_delta: h.last_offset_delta,
                            records_count: h.records_count,
                            records: buf[..n].to_vec(),
                        });
                    }
                    Batch::Legacy(m) => {
                        let codec = m.compression().unwrap();
                        if codec != Compression::None {
                            let n = decompress(codec, m.value.unwrap(), &mut buf, LIMIT, m.magic).unwrap();
                            out.push(Payload::Legacy {
                                offset: m.offset,
                                magic: m.magic as u8,
                                inner: buf[..n].to_vec(),
                            });
                        }
                    }
                }
            }
        }
        assert!(out.iter().any(|p| matches!(p, Payload::Legacy { .. })));
        out
    })
}

// ---------------------------------------------------------------------------
// Mutations

/// Field offsets inside an entry worth setting to extreme values: the entry
/// size / v2 batch length (8), v2 attributes+lastOffsetDelta (21, 23), v2
/// records count (57), v0 and v1 key lengths (18, 26), and the first v2
/// record's leading bytes (61, 63).
const FIELDS: [usize; 9] = [8, 21, 23, 57, 18, 26, 30, 61, 63];

#[derive(Clone, Debug)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    SetByte {
        at: usize,
        value: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        n: usize,
    },
    /// Copy `n` bytes from `from` to `at` (repeats entries or records).
    Duplicate {
        from: usize,
        n: usize,
        at: usize,
    },
    /// Overwrite a big-endian int32 at a field of an entry.
    Int32 {
        entry: usize,
        field: usize,
        value: i32,
    },
    /// Overwrite bytes with a zigzag varint (a record length, a key length…).
    Varint {
        at: usize,
        value: i64,
    },
    /// Set the codec bits of an entry.
    Codec {
        entry: usize,
        codec: u8,
    },
}

fn nasty_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        prop::sample::select(vec![i32::MAX, i32::MIN, -1, -2, 0, 1, 13, 14, 48, 49, 61, 0x7fff_fff0, 0x0100_0000]),
        -100..2000i32,
        any::<i32>(),
    ]
}

fn nasty_varint() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![i64::from(i32::MAX), i64::from(i32::MIN), -1, -2, 0, 1 << 31, i64::MAX, i64::MIN]),
        -10..300i64,
        any::<i64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1..32usize).prop_map(|(at, n)| Mutation::Remove { at, n }),
        1 => (any::<usize>(), 1..200usize, any::<usize>()).prop_map(|(from, n, at)| Mutation::Duplicate { from, n, at }),
        3 => (any::<usize>(), prop::sample::select(FIELDS.to_vec()), nasty_i32())
            .prop_map(|(entry, field, value)| Mutation::Int32 { entry, field, value }),
        2 => (any::<usize>(), nasty_varint()).prop_map(|(at, value)| Mutation::Varint { at, value }),
        1 => (any::<usize>(), 0..8u8).prop_map(|(entry, codec)| Mutation::Codec { entry, codec }),
    ]
}

fn overwrite(data: &mut [u8], at: usize, bytes: &[u8]) {
    if at < data.len() {
        let n = bytes.len().min(data.len() - at);
        data[at..at + n].copy_from_slice(&bytes[..n]);
    }
}

fn apply(data: &mut Vec<u8>, entries: &[usize], m: &Mutation) {
    let len = data.len();
    let entry = |sel: usize| entries.get(sel % entries.len().max(1)).copied();
    match m {
        Mutation::FlipBit { at, bit } if len > 0 => data[at % len] ^= 1 << bit,
        Mutation::SetByte { at, value } if len > 0 => data[at % len] = *value,
        Mutation::Truncate { at } => data.truncate(at % (len + 1)),
        Mutation::Insert { at, bytes } => {
            let at = at % (len + 1);
            data.splice(at..at, bytes.iter().copied());
        }
        Mutation::Remove { at, n } if len > 0 => {
            let at = at % len;
            data.drain(at..(at + n).min(len));
        }
        Mutation::Duplicate { from, n, at } if len > 0 => {
            let from = from % len;
            let piece = data[from..(from + n).min(len)].to_vec();
            let at = at % (len + 1);
            data.splice(at..at, piece);
        }
        Mutation::Int32 { entry: sel, field, value } => {
            if let Some(start) = entry(*sel) {
                overwrite(data, start + field, &value.to_be_bytes());
            }
        }
        Mutation::Varint { at, value } if len > 0 => {
            let at = at % len;
            overwrite(data, at, &varlong(*value));
        }
        Mutation::Codec { entry: sel, codec } => {
            if let Some(start) = entry(*sel) {
                // The codec bits are in the low byte of the v2 attributes
                // (22) or in the legacy attributes byte (17).
                let at = if data.get(start + 16) == Some(&2) { start + 22 } else { start + 17 };
                if let Some(b) = data.get_mut(at) {
                    *b = (*b & !7) | codec;
                }
            }
        }
        _ => {}
    }
}

/// `cases` per property, or `PROPTEST_CASES` when set (for long runs:
/// `PROPTEST_CASES=100000 cargo test --release --test properties`).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    // Failures are kept as explicit regression tests below, not in files.
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 0..max))
}

/// A well-formed v2 record with arbitrary contents.
fn any_record() -> impl Strategy<Value = Vec<u8>> {
    (
        -5..100i32,
        opt_bytes(24),
        opt_bytes(64),
        prop::collection::vec((prop::collection::vec(any::<u8>(), 0..8), opt_bytes(8)), 0..4),
    )
        .prop_map(|(delta, key, value, headers)| {
            let headers: Vec<Header<'_>> = headers.iter().map(|(k, v)| (&k[..], v.as_deref())).collect();
            v2_record(delta, key.as_deref(), value.as_deref(), &headers)
        })
}

/// A records section: well-formed records, then a few mutations.
fn any_records_section() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(any_record(), 0..6), prop::collection::vec(mutation(), 0..3)).prop_map(
        |(records, mutations)| {
            let mut section = records.concat();
            for m in &mutations {
                apply(&mut section, &[0], m);
            }
            section
        },
    )
}

/// One entry: arbitrary bytes behind correct framing (offset, size) and a
/// chosen magic byte, so that they reach the batch and message parsers; or
/// a legacy message with arbitrary fields; or a v2 batch of arbitrary records.
fn framed_entry() -> impl Strategy<Value = Vec<u8>> {
    let raw =
        (any::<i64>(), prop::sample::select(vec![0u8, 1, 2, 2, 3, 0xff]), prop::collection::vec(any::<u8>(), 2..300))
            .prop_map(|(offset, magic, mut body)| {
                // body[0..4] is the crc or partition leader epoch; the magic follows.
                body.resize(body.len().max(5), 0);
                body[4] = magic;
                let mut e = offset.to_be_bytes().to_vec();
                e.extend((body.len() as i32).to_be_bytes());
                e.extend(body);
                e
            });
    let legacy = (any::<i64>(), 0..2u8, any::<u8>(), opt_bytes(32), opt_bytes(64)).prop_map(
        |(offset, magic, attributes, key, value)| {
            legacy_message(offset, magic, attributes, key.as_deref(), value.as_deref())
        },
    );
    let v2 = (any::<i64>(), 0..5u8, any::<bool>(), any::<i16>(), -1..8i32, any_records_section()).prop_map(
        |(base, codec, variant, attributes, count, section)| {
            let payload = compress(CODECS[codec as usize], &section, variant, 2);
            v2_batch(base, (attributes & !7) | i16::from(codec), count.max(0), count, &payload)
        },
    );
    prop_oneof![raw, legacy, v2]
}

// ---------------------------------------------------------------------------
// Properties 1–3 on generated and mutated inputs

proptest! {
    #![proptest_config(config(512))]

    /// 1. Arbitrary bytes: no panic, the walk and every iterator end, every
    /// error names a position inside the input, allocation stays bounded.
    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..2048), max_entry in 26usize..4096) {
        exercise_bounded(&data, LIMIT, max_entry);
        exercise_bounded(&data, LIMIT, usize::MAX);
    }

    /// 1b. Arbitrary entry bodies behind correct framing, so the bytes get
    /// past the walker into the v2 and legacy parsers.
    #[test]
    fn arbitrary_framed_entries(entries in prop::collection::vec(framed_entry(), 1..8), tail in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut data: Vec<u8> = entries.concat();
        data.extend(tail);
        exercise_bounded(&data, LIMIT, usize::MAX);
    }

    /// 1c. Arbitrary records sections in v2 batches of every codec, and
    /// arbitrary compressed payloads of every codec.
    #[test]
    fn arbitrary_records_sections(
        records in prop_oneof![any_records_section(), prop::collection::vec(any::<u8>(), 0..512)],
        codec in 0..5u8,
        compress_it in any::<bool>(),
        control in any::<bool>(),
        count in prop_oneof![3 => 0..8i32, 1 => nasty_i32()],
    ) {
        let codec_c = CODECS[codec as usize];
        let section = if compress_it { compress(codec_c, &records, count % 2 == 0, 2) } else { records };
        let attributes = i16::from(codec) | if control { 0x30 } else { 0 };
        let data = v2_batch(0, attributes, 3, count, &section);
        exercise_bounded(&data, LIMIT, usize::MAX);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// 2. Mutated fixtures (every fixture, every kind of mutation).
    #[test]
    fn mutated_fixtures(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
        max_entry in prop_oneof![Just(usize::MAX), 26usize..2048],
    ) {
        let (_, original) = &fixtures()[which.index(fixtures().len())];
        let entries = entry_starts(original);
        let mut data = original.clone();
        for m in &mutations {
            apply(&mut data, &entries, m);
        }
        exercise_bounded(&data, LIMIT, max_entry);
    }

    /// 2b. Mutations inside compressed payloads: the fixtures' decompressed
    /// records are mutated and compressed again (with any codec), so the
    /// mutations reach the record and inner-message parsers.
    #[test]
    fn mutated_compressed_payloads(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
        codec in 1..4u8,
        zstd_for_v2 in any::<bool>(),
        variant in any::<bool>(),
        count in prop_oneof![3 => Just(None), 1 => nasty_i32().prop_map(Some)],
    ) {
        let payload = &payloads()[which.index(payloads().len())];
        let data = match payload {
            Payload::V2 { base_offset, attributes, last_offset_delta, records_count, records } => {
                let mut raw = records.clone();
                let starts = [0];
                for m in &mutations {
                    apply(&mut raw, &starts, m);
                }
                let codec = if zstd_for_v2 { 4 } else { codec };
                let section = compress(CODECS[codec as usize], &raw, variant, 2);
                v2_batch(*base_offset, attributes | i16::from(codec), *last_offset_delta, count.unwrap_or(*records_count), &section)
            }
            Payload::Legacy { offset, magic, inner } => {
                let mut raw = inner.clone();
                let starts = entry_starts(inner);
                for m in &mutations {
                    apply(&mut raw, &starts, m);
                }
                let value = compress(CODECS[codec as usize], &raw, variant, *magic);
                legacy_message(*offset, *magic, codec, None, Some(&value))
            }
        };
        exercise_bounded(&data, LIMIT, usize::MAX);
    }
}

/// What verify's fast scan of a v2 batch and the record iterator conclude
/// must agree: the scan succeeds exactly when the iterator meets no error,
/// and then with the same count, largest CreateTime timestamp and first
/// out-of-order offset. Otherwise verify would miss damage (or report
/// different findings) depending on the path a batch took.
fn scan_agrees_with_iterator(
    base_offset: i64,
    last_offset_delta: i32,
    records_count: i32,
    control: bool,
    section: &[u8],
) {
    let data = v2_batch(base_offset, if control { 0x30 } else { 0 }, last_offset_delta, records_count, section);
    let Ok(Batch::V2(b)) = Batch::parse(&data, 0) else { panic!("v2_batch makes a parseable header") };
    let mut scratch = Vec::new();
    let scan = b.scan(&mut scratch, LIMIT);
    // What each path yields, record by record: the fields a consumer sees,
    // or the error.
    type Seen = Vec<
        Result<(i64, i64, i8, Option<Vec<u8>>, Option<Vec<u8>>, Vec<(Vec<u8>, Option<Vec<u8>>)>, usize), DecodeError>,
    >;
    let read = |reference: bool| -> Seen {
        let mut scratch = Vec::new();
        match b.records(&mut scratch, LIMIT) {
            Ok(records) => {
                let records = if reference { records.reference() } else { records };
                records
                    .map(|r| {
                        r.map(|r| {
                            let headers = r.headers.iter().map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec))).collect();
                            (
                                r.offset,
                                r.timestamp,
                                r.attributes,
                                r.key.map(<[u8]>::to_vec),
                                r.value.map(<[u8]>::to_vec),
                                headers,
                                r.size,
                            )
                        })
                    })
                    .collect()
            }
            Err(e) => vec![Err(e)],
        }
    };
    let reference = read(true);
    assert_eq!(read(false), reference, "the fast record path and the reference path disagree on {}", hex(section));
    if control {
        // Control records are decoded by the iterator only.
        return;
    }
    let failed = reference.iter().any(Result::is_err);
    let iterated: Vec<(i64, i64)> = reference.iter().filter_map(|r| r.as_ref().ok()).map(|r| (r.0, r.1)).collect();
    match scan {
        None => assert!(failed, "scan rejected records the iterator read without error: {}", hex(section)),
        Some(s) => {
            assert!(!failed, "scan accepted records the iterator rejects: {}", hex(section));
            assert_eq!(s.count as usize, iterated.len());
            let max_ts = iterated.iter().map(|&(_, t)| t).max().unwrap_or(i64::MIN);
            assert_eq!(s.max_timestamp, max_ts);
            let last = b.header.last_offset();
            let mut prev = None;
            let mut first_bad = None;
            for &(o, _) in &iterated {
                if first_bad.is_none() && (o < base_offset || o > last || prev.is_some_and(|p| o <= p)) {
                    first_bad = Some(o);
                }
                prev = Some(o);
            }
            assert_eq!(s.out_of_order, first_bad);
        }
    }
}

/// A record whose fields may lie inside correct-looking framing: a length
/// of -1, -2 or past the record, a null header key, a header count beyond
/// the record, extra bytes, a record length off by a little, and timestamp
/// deltas of every size (so the CreateTime sum wraps).
fn lying_record() -> impl Strategy<Value = Vec<u8>> {
    let length = || prop_oneof![6 => Just(None), 1 => (-3..40i32).prop_map(Some)];
    (
        prop_oneof![Just(0i64), -5..5i64, any::<i64>()],
        -3..10i32,
        (opt_bytes(8), length(), opt_bytes(8), length()),
        prop::collection::vec((opt_bytes(4), opt_bytes(4)), 0..3),
        prop_oneof![6 => Just(None), 1 => (-2..6i32).prop_map(Some)],
        prop::collection::vec(any::<u8>(), 0..2),
        prop_oneof![6 => Just(0i32), 1 => -2..3i32],
    )
        .prop_map(|(ts, od, (key, key_len, value, value_len), headers, header_count, extra, adjust)| {
            let put = |body: &mut Vec<u8>, b: &Option<Vec<u8>>, len: Option<i32>| match len {
                Some(n) => {
                    body.extend(varint(n));
                    body.extend(b.as_deref().unwrap_or_default());
                }
                None => put_varint_bytes(body, b.as_deref()),
            };
            let mut body = vec![0u8];
            body.extend(varlong(ts));
            body.extend(varint(od));
            put(&mut body, &key, key_len);
            put(&mut body, &value, value_len);
            body.extend(varint(header_count.unwrap_or(headers.len() as i32)));
            for (k, v) in &headers {
                put_varint_bytes(&mut body, k.as_deref());
                put_varint_bytes(&mut body, v.as_deref());
            }
            body.extend(extra);
            let mut rec = varint(body.len() as i32 + adjust);
            rec.extend(body);
            rec
        })
}

proptest! {
    #![proptest_config(config(1024))]

    /// 4. Generated and mutated records sections, and arbitrary bytes.
    #[test]
    fn scan_matches_iterator_on_generated_records(
        section in prop_oneof![
            3 => any_records_section(),
            3 => prop::collection::vec(lying_record(), 0..5).prop_map(|r| r.concat()),
            1 => prop::collection::vec(any::<u8>(), 0..256),
        ],
        base_offset in prop_oneof![Just(0i64), Just(i64::MAX - 2), any::<i64>()],
        last_offset_delta in -2..8i32,
        count in prop_oneof![4 => 0..8i32, 1 => nasty_i32()],
        control in prop::bool::weighted(0.2),
    ) {
        scan_agrees_with_iterator(base_offset, last_offset_delta, count, control, &section);
    }

    /// 4b. The fixtures' real records sections, mutated.
    #[test]
    fn scan_matches_iterator_on_mutated_fixtures(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..4),
        count in prop_oneof![3 => Just(None), 1 => (-1..40i32).prop_map(Some)],
    ) {
        let v2: Vec<_> = payloads().iter().filter(|p| matches!(p, Payload::V2 { .. })).collect();
        let Payload::V2 { base_offset, attributes, last_offset_delta, records_count, records } = v2[which.index(v2.len())] else {
            unreachable!()
        };
        let mut raw = records.clone();
        for m in &mutations {
            apply(&mut raw, &[0], m);
        }
        let control = attributes & 0x20 != 0;
        scan_agrees_with_iterator(*base_offset, *last_offset_delta, count.unwrap_or(*records_count), control, &raw);
    }
}

/// A successful decompression yields at most `limit` bytes, and leaves at
/// most `limit` bytes in the buffer. After a DecompressLimit error the
/// buffer may hold one byte more: gzip and zstd read `limit + 1` bytes to
/// learn that the output is too long.
fn check_output_len(codec: Compression, result: &Result<usize, ErrorKind>, out: &[u8], limit: usize) {
    if let Ok(n) = result {
        assert!(*n <= limit && *n <= out.len(), "{codec:?}: {n} bytes out, limit {limit}");
    }
    let allowed = if result.is_ok() { limit } else { limit + 1 };
    assert!(out.len() <= allowed, "{codec:?}: buffer of {} bytes, limit {limit}: {result:?}", out.len());
}

proptest! {
    #![proptest_config(config(256))]

    /// 3. Decompression never yields more than the limit, whatever the input
    /// claims, and a payload that decompresses to more than the limit is a
    /// DecompressLimit error. Valid payloads within the limit round-trip.
    #[test]
    fn decompress_respects_limit(
        codec in 0..5u8,
        magic in 0..3i8,
        variant in any::<bool>(),
        // Compressible data: runs of a few byte values.
        runs in prop::collection::vec((any::<u8>(), 1..4096usize), 0..32),
        limit in prop_oneof![0..64usize, 0..(64usize << 10)],
        garbage in prop::collection::vec(any::<u8>(), 0..256),
        use_garbage in any::<bool>(),
        dirty in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let codec = CODECS[codec as usize];
        let plain: Vec<u8> = runs.iter().flat_map(|&(b, n)| std::iter::repeat_n(b, n)).collect();
        let input = if use_garbage { garbage } else { compress(codec, &plain, variant, magic as u8) };
        let mut out = Vec::new();
        let (result, peak) = measure(|| decompress(codec, &input, &mut out, limit, magic));
        check_output_len(codec, &result, &out, limit);
        let bound = alloc_bound(input.len(), limit);
        prop_assert!(peak <= bound, "{codec:?}: {peak} bytes allocated for {} input bytes, limit {limit}", input.len());
        if !use_garbage {
            if plain.len() <= limit {
                prop_assert_eq!(&result, &Ok(plain.len()), "{:?} of {} bytes", codec, plain.len());
                prop_assert!(out[..plain.len()] == plain[..]);
            } else {
                prop_assert_eq!(&result, &Err(ErrorKind::DecompressLimit(limit as u64)));
            }
        }
        // A reused buffer holding an earlier output gives the same result.
        let mut reused = dirty;
        let again = decompress(codec, &input, &mut reused, limit, magic);
        prop_assert_eq!(&again, &result);
        if let Ok(n) = again {
            prop_assert!(reused[..n] == out[..n]);
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Tiny inputs with huge claims: errors, fast, with no allocation to match

/// Decode `data` and return every error met, with the peak allocation.
fn errors_of(data: &[u8], limit: usize) -> (Vec<ErrorKind>, usize) {
    let (errors, peak) = measure(|| {
        let mut errors = Vec::new();
        let mut walker = Walker::new(data);
        let mut decoder = Decoder::new(limit);
        while let Some(step) = walker.next_step().unwrap() {
            match step {
                Step::Entry { position, bytes } => match decoder.decode(bytes, position) {
                    // A legacy wrapper's error (`wrapper_error`) is also
                    // the records iterator's only item.
                    Ok(mut d) => {
                        errors.extend(d.records().filter_map(Result::err).map(|e| e.kind));
                    }
                    Err(e) => errors.push(e.kind),
                },
                Step::Corrupt(e) => errors.push(e.kind),
                Step::Trailing { .. } => errors.push(ErrorKind::Other("trailing".into())),
                Step::TooLarge { .. } | Step::ZeroFill { .. } => {}
            }
        }
        errors
    });
    // Everything but the bytes of the input itself: tiny inputs may allocate
    // a few KiB (error messages, codec state), never megabytes.
    assert!(
        peak <= 64 * data.len() + (256 << 10),
        "{peak} bytes allocated for {} input bytes: {}",
        data.len(),
        hex(data)
    );
    (errors, peak)
}

fn assert_one_error(data: &[u8], want: impl Fn(&ErrorKind) -> bool) {
    let (errors, _) = errors_of(data, 256 << 20);
    assert!(errors.len() == 1 && want(&errors[0]), "unexpected errors {errors:?} for {}", hex(data));
}

#[test]
fn huge_record_count_with_no_records() {
    // records_count = i32::MAX, an empty records section, every codec.
    for codec in CODECS {
        let section = compress(codec, &[], false, 2);
        let data = v2_batch(0, i16::from(codec_id(codec)), 0, i32::MAX, &section);
        assert_one_error(&data, |k| matches!(k, ErrorKind::PrematureEnd { read: 0, declared: 0x7fff_ffff }));
    }
    // And one real record followed by nothing.
    let rec = v2_record(0, None, Some(b"v"), &[]);
    let data = v2_batch(0, 0, 0, i32::MAX, &rec);
    assert_one_error(&data, |k| matches!(k, ErrorKind::PrematureEnd { read: 1, .. }));
    // A negative count is its own error.
    let data = v2_batch(0, 0, 0, i32::MIN, &rec);
    assert_one_error(&data, |k| matches!(k, ErrorKind::BadRecordCount(i32::MIN)));
}

#[test]
fn huge_varint_lengths() {
    // Record length 2^31-1.
    let mut section = varint(i32::MAX);
    section.extend([0u8; 8]);
    assert_one_error(&v2_batch(0, 0, 0, 1, &section), |k| matches!(k, ErrorKind::PrematureEnd { .. }));
    // Key and value lengths 2^31-1 inside a record of the right length.
    for field in 0..2 {
        let mut body = vec![0u8, 0, 0];
        if field == 1 {
            body.extend(varint(-1)); // null key
        }
        body.extend(varint(i32::MAX));
        body.extend([7u8; 4]);
        let mut section = varint(body.len() as i32);
        section.extend(&body);
        assert_one_error(&v2_batch(0, 0, 0, 1, &section), |k| matches!(k, ErrorKind::Truncated { .. }));
    }
    // A header count of 2^31-1, and a header key length of 2^31-1.
    for huge_key in [false, true] {
        let mut body = vec![0u8, 0, 0, 1, 1]; // attributes, ts, offset, null key, null value
        if huge_key {
            body.extend(varint(1));
            body.extend(varint(i32::MAX));
        } else {
            body.extend(varint(i32::MAX));
        }
        body.extend([0u8; 6]);
        let mut section = varint(body.len() as i32);
        section.extend(&body);
        assert_one_error(&v2_batch(0, 0, 0, 1, &section), |_| true);
    }
    // An overlong varint (ten 0xff bytes) where a length belongs.
    let mut section = vec![0xffu8; 10];
    section.push(0);
    assert_one_error(&v2_batch(0, 0, 0, 1, &section), |k| matches!(k, ErrorKind::VarintTooLong));
}

#[test]
fn huge_legacy_lengths() {
    for magic in [0u8, 1] {
        let mut m = legacy_message(5, magic, 0, None, Some(b"value"));
        let key_len_at = if magic == 0 { 18 } else { 26 };
        m[key_len_at..key_len_at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert_one_error(&m, |k| matches!(k, ErrorKind::Truncated { .. }));
        m[key_len_at..key_len_at + 4].copy_from_slice(&i32::MIN.to_be_bytes());
        assert_one_error(&m, |k| matches!(k, ErrorKind::BadLength(_)));
    }
    // An entry size of 2^31-1 in a 30-byte file: trailing bytes, no read.
    let mut m = legacy_message(5, 0, 0, None, Some(b"v"));
    m[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    assert_one_error(&m, |k| matches!(k, ErrorKind::Other(s) if s == "trailing"));
    m[8..12].copy_from_slice(&i32::MIN.to_be_bytes());
    assert_one_error(&m, |k| matches!(k, ErrorKind::SizeTooSmall(i32::MIN)));
}

#[test]
fn huge_claimed_decompressed_sizes() {
    // A raw snappy block whose preamble claims 2^32-1 bytes.
    let snappy_claim = vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    // A xerial stream with a chunk length of 2^31-1.
    let mut xerial = XERIAL_HEADER.to_vec();
    xerial.extend(i32::MAX.to_be_bytes());
    xerial.extend([0u8; 8]);
    // An LZ4 frame (4 MiB blocks) with a block size of 2^31-1, and one with
    // a 4 MiB compressed block that is not there.
    let mut lz4 = vec![0x04, 0x22, 0x4d, 0x18, 0x60, 0x70];
    lz4.push((xxhash_rust::xxh32::xxh32(&lz4[4..6], 0) >> 8) as u8);
    let mut lz4_huge = lz4.clone();
    lz4_huge.extend(0x7fff_ffffu32.to_le_bytes());
    lz4.extend((4u32 << 20).to_le_bytes());
    lz4.extend([0u8; 16]);
    // A single-segment zstd frame claiming a 2^40-byte content size.
    let mut zstd_claim = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
    zstd_claim.extend((1u64 << 40).to_le_bytes());
    zstd_claim.extend([0x01, 0x00, 0x00]); // a last, empty raw block
    let cases: [(Compression, &[u8]); 5] = [
        (Compression::Snappy, &snappy_claim),
        (Compression::Snappy, &xerial),
        (Compression::Lz4, &lz4_huge),
        (Compression::Lz4, &lz4),
        (Compression::Zstd, &zstd_claim),
    ];
    for (codec, payload) in cases {
        for limit in [0usize, 1000, 256 << 20] {
            let mut out = Vec::new();
            let (r, peak) = measure(|| decompress(codec, payload, &mut out, limit, 2));
            assert!(r.is_err(), "{codec:?} {}: {r:?}", hex(payload));
            check_output_len(codec, &r, &out, limit);
            // LZ4 may size its output for one whole block of the frame's
            // declared maximum (4 MiB) before decoding it.
            let allowed = if codec == Compression::Lz4 { 2 * (4 << 20) } else { 64 << 10 };
            assert!(peak <= allowed, "{codec:?} {}: {peak} bytes allocated (limit {limit})", hex(payload));
        }
        // The same payloads inside a v2 batch and (but zstd) a legacy wrapper.
        let id = codec_id(codec);
        assert_one_error(&v2_batch(0, i16::from(id), 0, 1, payload), |_| true);
        if codec != Compression::Zstd {
            assert_one_error(&legacy_message(0, 1, id, None, Some(payload)), |_| true);
        }
    }
}

#[test]
fn decompression_bombs_stop_at_the_limit() {
    // 4 MiB of zeros compressed, decoded with a 1 MiB limit.
    let zeros = vec![0u8; 4 << 20];
    for codec in CODECS {
        let payload = compress(codec, &zeros, true, 2);
        let mut out = Vec::new();
        let (r, peak) = measure(|| decompress(codec, &payload, &mut out, LIMIT, 2));
        assert_eq!(r, Err(ErrorKind::DecompressLimit(LIMIT as u64)), "{codec:?}");
        check_output_len(codec, &r, &out, LIMIT);
        let bound = alloc_bound(payload.len(), LIMIT);
        assert!(peak <= bound, "{codec:?}: {peak} bytes allocated, bound {bound}");
    }
}

#[test]
fn huge_control_counts() {
    // KRaft control values whose arrays or tagged fields claim 2^32-1 items.
    let key = [0u8, 0, 0, 6]; // KRAFT_VOTERS
    let mut voters = vec![0u8, 0];
    voters.extend(uvarint(u64::from(u32::MAX)));
    let mut tags = vec![0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // SNAPSHOT_HEADER: version, timestamp
    tags.extend(uvarint(u64::from(u32::MAX)));
    for (key, value) in [(key, voters), ([0, 0, 0, 3], tags)] {
        let rec = v2_record(0, Some(&key), Some(&value), &[]);
        assert_one_error(&v2_batch(0, 0x20, 0, 1, &rec), |k| matches!(k, ErrorKind::Control(_)));
    }
}

/// An unsigned varint padded to five bytes (LEB128 allows it).
fn uvarint5(v: u32) -> [u8; 5] {
    let mut out = [0u8; 5];
    for (i, b) in out.iter_mut().enumerate() {
        *b = ((v >> (7 * i)) & 0x7f) as u8 | if i < 4 { 0x80 } else { 0 };
    }
    out
}

/// A control batch whose single KRAFT_VOTERS record claims as many voters
/// as there are bytes left, and whose first voter claims as many endpoints
/// as there are bytes left after it: `control::compact_array` reserves room
/// for `count` elements of 56 bytes (a `Voter`, an `Endpoint`) up front.
fn voters_bomb(value_len: usize, codec: Compression) -> Vec<u8> {
    let mut value = vec![0u8, 0]; // version
    value.extend(uvarint5((value_len - 7 + 1) as u32)); // voters
    value.extend([0u8; 4 + 16]); // voter id, directory id
    value.extend(uvarint5((value_len - 32 + 1) as u32)); // endpoints
    value.resize(value_len, 0); // the first endpoint's name is null: an error
    let rec = v2_record(0, Some(&[0, 0, 0, 6]), Some(&value), &[]);
    let section = compress(codec, &rec, false, 2);
    v2_batch(0, 0x20 | i16::from(codec_id(codec)), 0, 1, &section)
}

/// Regression case for the unbounded reservation in `control::compact_array`:
/// a 136-byte segment holding a zstd control batch makes the decoder
/// reserve about 2 × 56 bytes per decompressed byte: ~118 MB with a 1 MiB
/// limit, and with the default 256 MiB limit (an 8 KB segment) a first
/// reservation of 15 GB, which aborts the process under `ulimit -v`.
#[test]

fn control_arrays_compressed_stay_bounded() {
    let data = voters_bomb(LIMIT - 64, Compression::Zstd);
    let (_, peak) = measure(|| exercise(&data, LIMIT, usize::MAX));
    let bound = alloc_bound(data.len(), LIMIT);
    assert!(peak <= bound, "{peak} bytes allocated for {} input bytes (bound {bound}): {}", data.len(), hex(&data));
}

/// Regression case for LZ4 work out of proportion to the input: every LZ4
/// payload zero-fills a whole block of the frame's declared maximum size
/// (4 MiB) before decoding into it, however small the block. 200 legacy
/// wrappers of 43 bytes each then cost 800 MiB of memset (about 4 s in a
/// debug build, 40 ms in release; a 1 GiB segment of them, hours). Before
/// the high-water-mark change in `compression::lz4` this happened for every
/// block, not just every payload. The zero fill is of memory the decoder
/// allocates, so it is bounded here by the peak allocation, a count that a
/// debug build and a busy machine do not change: an LZ4 block of 2 bytes
/// can give at most 2 × 255 + 16 bytes (the peak is exactly that today).
#[test]

fn lz4_tiny_blocks_cost_little() {
    let block = [0x10u8, b'a']; // one literal
    let mut frame = vec![0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x00]; // 4 MiB blocks; v0 skips the checksum
    frame.extend((block.len() as u32).to_le_bytes());
    frame.extend(block);
    frame.extend(0u32.to_le_bytes());
    let mut data = Vec::new();
    for i in 0..200 {
        data.extend(legacy_message(i, 0, codec_id(Compression::Lz4), None, Some(&frame)));
    }
    let (entries, peak) = measure(|| {
        let mut decoder = Decoder::default();
        let mut walker = Walker::new(&data[..]);
        let mut entries = 0;
        while let Some(Step::Entry { position, bytes }) = walker.next_step().unwrap() {
            let _ = decoder.decode(bytes, position).map(|mut d| d.records().count());
            entries += 1;
        }
        entries
    });
    assert_eq!(entries, 200);
    assert!(peak <= 4 << 10, "{peak} bytes allocated for {} bytes: {}", data.len(), hex(&data[..43]));
}

// ---------------------------------------------------------------------------
// 4. Valid fixtures

/// Everything a decode yields, as comparable text.
fn transcript(data: &[u8], decoder: &mut Decoder) -> Vec<String> {
    let mut out = Vec::new();
    let mut walker = Walker::new(data);
    while let Some(step) = walker.next_step().unwrap() {
        let Step::Entry { position, bytes } = step else {
            out.push(format!("{step:?}"));
            continue;
        };
        let mut d = decoder.decode(bytes, position).unwrap();
        out.push(format!("{:?}", d.info));
        for rec in d.records() {
            let rec = rec.unwrap();
            let headers: Vec<_> = rec.headers.iter().collect();
            out.push(format!("{rec:?} {headers:?}"));
        }
    }
    out
}

#[test]
fn valid_fixtures_decode_deterministically_in_offset_order() {
    let mut shared = Decoder::new(LIMIT);
    for (name, data) in fixtures() {
        let mut walker = Walker::new(&data[..]);
        let mut decoder = Decoder::new(LIMIT);
        let mut total = 0u64;
        let mut entries = 0;
        while let Some(step) = walker.next_step().unwrap() {
            let Step::Entry { position, bytes } = step else {
                assert!(matches!(step, Step::ZeroFill { .. }), "{name}: {step:?}");
                continue;
            };
            entries += 1;
            let mut d = decoder.decode(bytes, position).unwrap_or_else(|e| panic!("{name}: {e}"));
            let info = d.info.clone();
            assert!(info.crc_valid, "{name}: bad CRC at {position}");
            assert!(d.wrapper_error().is_none(), "{name}: {:?}", d.wrapper_error());
            assert!(info.base_offset <= info.last_offset, "{name}: {info:?}");
            let mut previous = None;
            let mut count = 0u32;
            for rec in d.records() {
                let rec = rec.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    (info.base_offset..=info.last_offset).contains(&rec.offset),
                    "{name}: record offset {} outside [{}, {}]",
                    rec.offset,
                    info.base_offset,
                    info.last_offset
                );
                if let Some(p) = previous {
                    assert!(rec.offset > p, "{name}: offset {} after {p} in the batch at {position}", rec.offset);
                }
                assert_eq!(rec.headers.iter().count(), rec.headers.len());
                previous = Some(rec.offset);
                count += 1;
            }
            assert_eq!(Some(count), info.count, "{name}: batch at {position}");
            total += u64::from(count);
        }
        assert!(entries > 0, "{name}: no entries");
        // The sidecar counts records too (legacy uncompressed entries are
        // grouped there, records are not).
        let sidecar = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name).with_extension("expected.json");
        if let Ok(text) = std::fs::read_to_string(&sidecar) {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(Some(total), json["record_count"].as_u64(), "{name}: record count");
        }
        // Deterministic: a fresh decoder twice, and a decoder whose scratch
        // buffer is full of the previous fixtures' records, agree.
        let first = transcript(data, &mut Decoder::new(LIMIT));
        assert_eq!(first, transcript(data, &mut Decoder::new(LIMIT)), "{name}");
        assert_eq!(first, transcript(data, &mut shared), "{name}");
    }
}
