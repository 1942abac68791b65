//! Decompression of batch payloads, one function per codec.
//!
//! Every codec writes into a caller-owned buffer that is reused from batch to
//! batch, and every codec stops at `limit` output bytes: a claimed or actual
//! decompressed size never makes us allocate more than the caller allows.

use std::io::Read;

use serde::Serialize;

use crate::format::error::ErrorKind;

/// Codec ids from the attribute bits 0-2 (same numbering for all magics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// The default cap on one batch's decompressed size. Kafka's default
/// `max.message.bytes` is about 1 MiB of *compressed* data; 256 MiB leaves
/// room for very compressible batches while stopping decompression bombs.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 256 << 20;

fn fail(codec: Compression, message: impl Into<String>) -> ErrorKind {
    ErrorKind::Decompress { codec: codec.name(), message: message.into() }
}

/// Decompress `input` (the records section of a batch, or a legacy wrapper's
/// value) into `out` and return how many bytes of `out` hold the result.
/// `out` may be longer than that: LZ4 keeps the buffer at its high-water
/// length so that blocks are not zero-filled again for every batch.
/// `magic` matters for LZ4, whose frame header checksum Kafka does not check
/// for magic v0 (KAFKA-3160).
pub fn decompress(
    codec: Compression,
    input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    magic: i8,
) -> Result<usize, ErrorKind> {
    if codec == Compression::Lz4 {
        return lz4(input, out, limit, magic != 0);
    }
    out.clear();
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(ErrorKind::DecompressLimit(limit as u64));
            }
            out.extend_from_slice(input);
            Ok(out.len())
        }
        Compression::Gzip => {
            // Kafka reads gzip through java.util.zip.GZIPInputStream, which
            // accepts concatenated members.
            let decoder = flate2::bufread::MultiGzDecoder::new(input);
            read_capped(decoder, out, limit, codec)
        }
        Compression::Snappy => snappy(input, out, limit).map(|()| out.len()),
        Compression::Lz4 => unreachable!("handled above"),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(|e| fail(codec, e.to_string()))?;
            read_capped(decoder, out, limit, codec)
        }
    }
}

fn read_capped(r: impl Read, out: &mut Vec<u8>, limit: usize, codec: Compression) -> Result<usize, ErrorKind> {
    match r.take(limit as u64 + 1).read_to_end(out) {
        Ok(_) if out.len() > limit => Err(ErrorKind::DecompressLimit(limit as u64)),
        Ok(n) => Ok(n),
        Err(e) => Err(fail(codec, e.to_string())),
    }
}

const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;

fn snappy(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), ErrorKind> {
    let codec = Compression::Snappy;
    // snappy-java's SnappyInputStream falls back to one raw block when the
    // input does not start with a full xerial header.
    if input.len() < XERIAL_HEADER_LEN || input[..8] != XERIAL_MAGIC {
        return snappy_block(input, out, limit);
    }
    let version = i32::from_be_bytes([input[8], input[9], input[10], input[11]]);
    let compatible = i32::from_be_bytes([input[12], input[13], input[14], input[15]]);
    if version < compatible {
        return Err(fail(
            codec,
            format!("xerial version {version} is below its minimum compatible version {compatible}"),
        ));
    }
    let mut rest = &input[XERIAL_HEADER_LEN..];
    while !rest.is_empty() {
        // A concatenated stream repeats the header where a chunk length would be.
        if rest.len() >= XERIAL_HEADER_LEN && rest[..8] == XERIAL_MAGIC {
            rest = &rest[XERIAL_HEADER_LEN..];
            continue;
        }
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(fail(codec, "truncated xerial chunk length"));
        };
        let len = i32::from_be_bytes(*len);
        if len < 0 || len as usize > tail.len() {
            return Err(fail(codec, format!("xerial chunk length {len} runs past the data")));
        }
        let (chunk, next) = tail.split_at(len as usize);
        snappy_block(chunk, out, limit)?;
        rest = next;
    }
    Ok(())
}

/// Append one raw snappy block to `out`.
fn snappy_block(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), ErrorKind> {
    let codec = Compression::Snappy;
    let len = snap::raw::decompress_len(block).map_err(|e| fail(codec, e.to_string()))?;
    let start = out.len();
    if start.saturating_add(len) > limit {
        return Err(ErrorKind::DecompressLimit(limit as u64));
    }
    out.resize(start + len, 0);
    match snap::raw::Decoder::new().decompress(block, &mut out[start..]) {
        Ok(n) if n == len => Ok(()),
        Ok(n) => Err(fail(codec, format!("block decoded to {n} bytes, header said {len}"))),
        Err(e) => Err(fail(codec, e.to_string())),
    }
}

const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

/// Kafka's LZ4 frame reader (`Lz4BlockInputStream`): a subset of the LZ4
/// frame format with independent blocks only; one frame per payload.
fn lz4(input: &[u8], out: &mut Vec<u8>, limit: usize, check_header: bool) -> Result<usize, ErrorKind> {
    let codec = Compression::Lz4;
    let premature = || fail(codec, "stream ended prematurely");
    if input.len() < 6 {
        return Err(premature());
    }
    if input[..4] != LZ4_MAGIC {
        return Err(fail(codec, "invalid magic bytes"));
    }
    let flg = input[4];
    let bd = input[5];
    if (flg >> 6) & 3 != 1 {
        return Err(fail(codec, format!("unsupported frame version {}", (flg >> 6) & 3)));
    }
    if flg & 0b11 != 0 || bd & 0x8f != 0 {
        return Err(fail(codec, "reserved bits set in the frame descriptor"));
    }
    if flg & 0x20 == 0 {
        return Err(fail(codec, "dependent block stream is unsupported"));
    }
    let block_checksum = flg & 0x10 != 0;
    let content_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let max_block = match (bd >> 4) & 7 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        id => return Err(fail(codec, format!("invalid block size id {id}"))),
    };
    let descriptor_end = 6 + if content_size { 8 } else { 0 };
    let Some(&hc) = input.get(descriptor_end) else {
        return Err(premature());
    };
    if check_header {
        let expected = (xxhash_rust::xxh32::xxh32(&input[4..descriptor_end], 0) >> 8) as u8;
        if hc != expected {
            return Err(fail(codec, "frame descriptor checksum mismatch"));
        }
    }
    let mut rest = &input[descriptor_end + 1..];
    let mut filled = 0usize;
    loop {
        let Some((size, tail)) = rest.split_first_chunk::<4>() else {
            return Err(premature());
        };
        let size = u32::from_le_bytes(*size);
        rest = tail;
        if size == 0 {
            // EndMark. Kafka reads the content checksum but does not verify it.
            if content_checksum && rest.len() < 4 {
                return Err(premature());
            }
            return Ok(filled);
        }
        let stored = size & 0x8000_0000 != 0;
        let len = (size & 0x7fff_ffff) as usize;
        if len > max_block {
            return Err(fail(codec, format!("block size {len} exceeded max: {max_block}")));
        }
        if rest.len() < len + if block_checksum { 4 } else { 0 } {
            return Err(premature());
        }
        let (block, tail) = rest.split_at(len);
        rest = tail;
        if block_checksum {
            let (sum, tail) = rest.split_at(4);
            rest = tail;
            let sum = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
            if xxhash_rust::xxh32::xxh32(block, 0) != sum {
                return Err(fail(codec, "block checksum mismatch"));
            }
        }
        if stored {
            if filled + len > limit {
                return Err(ErrorKind::DecompressLimit(limit as u64));
            }
            if out.len() < filled + len {
                out.resize(filled + len, 0);
            }
            out[filled..filled + len].copy_from_slice(block);
            filled += len;
        } else {
            // LZ4 expands a byte to at most 255: bound the room (and its zero
            // fill) by what this block can produce, not by the block maximum.
            let room =
                max_block.min(limit.saturating_sub(filled)).min(block.len().saturating_mul(255).saturating_add(16));
            // Grow (zero-filling) only past the high-water mark.
            if out.len() < filled + room {
                out.resize(filled + room, 0);
            }
            // liblz4's LZ4_decompress_safe (the `lz4` crate's safe wrapper):
            // bounded by `room` and safe on malformed input, and about 10 %
            // faster than lz4_flex's checked decoder (docs/choices.md).
            // `room` is at most 4 MiB, so it fits the C int.
            match lz4::block::decompress_to_buffer(block, Some(room as i32), &mut out[filled..filled + room]) {
                Ok(n) => filled += n,
                Err(_) if room == limit.saturating_sub(filled) && room < max_block => {
                    return Err(ErrorKind::DecompressLimit(limit as u64));
                }
                Err(_) => return Err(fail(codec, format!("malformed block, or one that decodes past {room} bytes"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xerial(chunks: &[&[u8]]) -> Vec<u8> {
        let mut v = XERIAL_MAGIC.to_vec();
        v.extend_from_slice(&1i32.to_be_bytes());
        v.extend_from_slice(&1i32.to_be_bytes());
        for c in chunks {
            let block = snap::raw::Encoder::new().compress_vec(c).unwrap();
            v.extend_from_slice(&(block.len() as i32).to_be_bytes());
            v.extend_from_slice(&block);
        }
        v
    }

    #[test]
    fn snappy_xerial_chunks_and_raw_blocks() {
        let mut out = Vec::new();
        decompress(Compression::Snappy, &xerial(&[b"hello ", b"world"]), &mut out, 1 << 20, 2).unwrap();
        assert_eq!(out, b"hello world");
        let raw = snap::raw::Encoder::new().compress_vec(b"raw snappy block").unwrap();
        decompress(Compression::Snappy, &raw, &mut out, 1 << 20, 2).unwrap();
        assert_eq!(out, b"raw snappy block");
    }

    #[test]
    fn limits_stop_bombs() {
        let zeros = vec![0u8; 1 << 20];
        let block = snap::raw::Encoder::new().compress_vec(&zeros).unwrap();
        let mut out = Vec::new();
        let e = decompress(Compression::Snappy, &block, &mut out, 1000, 2).unwrap_err();
        assert_eq!(e, ErrorKind::DecompressLimit(1000));
        let z = zstd::bulk::compress(&zeros, 3).unwrap();
        let e = decompress(Compression::Zstd, &z, &mut out, 1000, 2).unwrap_err();
        assert_eq!(e, ErrorKind::DecompressLimit(1000));
    }

    #[test]
    fn gzip_reads_concatenated_members() {
        use std::io::Write;
        let mut all = Vec::new();
        for part in [&b"first "[..], b"second"] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(part).unwrap();
            all.extend(enc.finish().unwrap());
        }
        let mut out = Vec::new();
        decompress(Compression::Gzip, &all, &mut out, 1 << 20, 2).unwrap();
        assert_eq!(out, b"first second");
    }

    fn lz4_frame(data: &[u8], hc_over_magic: bool) -> Vec<u8> {
        let mut v = LZ4_MAGIC.to_vec();
        let desc = [0x60u8, 0x40]; // version 1, independent blocks; 64 KiB blocks
        v.extend_from_slice(&desc);
        let hc = if hc_over_magic {
            (xxhash_rust::xxh32::xxh32(&[&LZ4_MAGIC[..], &desc].concat(), 0) >> 8) as u8
        } else {
            (xxhash_rust::xxh32::xxh32(&desc, 0) >> 8) as u8
        };
        v.push(hc);
        let block = lz4_flex::block::compress(data);
        v.extend_from_slice(&(block.len() as u32).to_le_bytes());
        v.extend_from_slice(&block);
        v.extend_from_slice(&0u32.to_le_bytes());
        v
    }

    #[test]
    fn lz4_header_checksum_is_skipped_only_for_magic_v0() {
        let mut out = Vec::new();
        let good = lz4_frame(b"lz4 payload lz4 payload", false);
        let n = decompress(Compression::Lz4, &good, &mut out, 1 << 20, 2).unwrap();
        assert_eq!(&out[..n], b"lz4 payload lz4 payload");
        let broken = lz4_frame(b"v0 payload", true);
        let n = decompress(Compression::Lz4, &broken, &mut out, 1 << 20, 0).unwrap();
        assert_eq!(&out[..n], b"v0 payload");
        assert!(decompress(Compression::Lz4, &broken, &mut out, 1 << 20, 1).is_err());
    }
}
