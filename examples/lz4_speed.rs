//! LZ4 block decoders side by side on a segment's real batches: kseg's own
//! frame reader (`compression::decompress`), lz4_flex's block decoder as kseg
//! configures it, and the C liblz4 (`LZ4_decompress_safe` through the `lz4`
//! crate). The batches' records sections are read into memory first, so only
//! decoding is timed; each decoder runs `ROUNDS` times and the best round counts.
//!
//! cargo run --release --example lz4_speed -- FILE [ROUNDS]

use std::time::Instant;

use kseg::Batch;
use kseg::format::compression::{self, Compression, DEFAULT_MAX_DECOMPRESSED};
use kseg::format::walk::{Step, Walker};

/// The blocks of a Kafka LZ4 frame (no checksums, no content size: what the
/// bench generator and Kafka's producer write): `(stored, bytes)`.
fn blocks(frame: &[u8]) -> Vec<(bool, &[u8])> {
    let flg = frame[4];
    assert_eq!(flg & 0x1c, 0, "this measurement reads frames without checksums or content size");
    let mut rest = &frame[7..];
    let mut v = Vec::new();
    loop {
        let size = u32::from_le_bytes(rest[..4].try_into().unwrap());
        rest = &rest[4..];
        if size == 0 {
            return v;
        }
        let len = (size & 0x7fff_ffff) as usize;
        v.push((size & 0x8000_0000 != 0, &rest[..len]));
        rest = &rest[len..];
    }
}

fn time(name: &str, rounds: usize, out_bytes: u64, mut f: impl FnMut() -> u64) {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        let n = f();
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(n, out_bytes, "{name} decoded a different number of bytes");
    }
    println!("{name:<40} {best:.3} s  {:>6.0} MB/s of output", out_bytes as f64 / best / 1e6);
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: lz4_speed FILE [ROUNDS]");
    let rounds: usize = args.next().map_or(5, |r| r.parse().expect("ROUNDS is a number"));
    let mut walker = Walker::open(std::path::Path::new(&path))?;
    let mut frames: Vec<Vec<u8>> = Vec::new();
    while let Some(step) = walker.next_step()? {
        let Step::Entry { position, bytes } = step else { break };
        let Ok(Batch::V2(b)) = Batch::parse(bytes, position) else { continue };
        if b.header.compression() == Some(Compression::Lz4) {
            frames.push(b.records_bytes().to_vec());
        }
    }
    let mut buf = Vec::new();
    let mut out_bytes = 0u64;
    for f in &frames {
        out_bytes += compression::decompress(Compression::Lz4, f, &mut buf, DEFAULT_MAX_DECOMPRESSED, 2)
            .expect("a valid frame") as u64;
    }
    let in_bytes: usize = frames.iter().map(Vec::len).sum();
    println!("{} lz4 batches, {in_bytes} bytes compressed, {out_bytes} bytes decompressed", frames.len());
    let split: Vec<Vec<(bool, &[u8])>> = frames.iter().map(|f| blocks(f)).collect();
    const ROOM: usize = 64 << 10;

    time("kseg compression::decompress", rounds, out_bytes, || {
        let mut n = 0;
        for f in &frames {
            n += compression::decompress(Compression::Lz4, f, &mut buf, DEFAULT_MAX_DECOMPRESSED, 2).unwrap() as u64;
        }
        n
    });

    let mut out = vec![0u8; 4 << 20];
    time("lz4_flex block::decompress_into", rounds, out_bytes, || {
        let mut n = 0;
        for bs in &split {
            let mut filled = 0;
            for &(stored, b) in bs {
                if stored {
                    out[filled..filled + b.len()].copy_from_slice(b);
                    filled += b.len();
                } else {
                    filled += lz4_flex::block::decompress_into(b, &mut out[filled..filled + ROOM]).unwrap();
                }
            }
            n += filled as u64;
        }
        n
    });

    time("liblz4 LZ4_decompress_safe (lz4 crate)", rounds, out_bytes, || {
        let mut n = 0;
        for bs in &split {
            let mut filled = 0;
            for &(stored, b) in bs {
                if stored {
                    out[filled..filled + b.len()].copy_from_slice(b);
                    filled += b.len();
                } else {
                    filled += lz4::block::decompress_to_buffer(b, Some(ROOM as i32), &mut out[filled..filled + ROOM])
                        .unwrap();
                }
            }
            n += filled as u64;
        }
        n
    });
    Ok(())
}
