//! The codec's own speed on a segment, for comparison with `kseg verify`:
//! walks the batches and decompresses each one's records section with the
//! same decompressor kseg uses, without reading any record.
//!
//! cargo run --release --example codec_speed -- FILE

use std::time::Instant;

use kseg::Batch;
use kseg::format::compression::{self, DEFAULT_MAX_DECOMPRESSED};
use kseg::format::walk::{Step, Walker};

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: codec_speed FILE");
    let start = Instant::now();
    let mut walker = Walker::open(std::path::Path::new(&path))?;
    let (mut stored, mut out_bytes, mut batches) = (0u64, 0u64, 0u64);
    let mut buf = Vec::new();
    while let Some(step) = walker.next_step()? {
        let Step::Entry { position, bytes } = step else { break };
        let Ok(Batch::V2(b)) = Batch::parse(bytes, position) else { continue };
        let Some(codec) = b.header.compression() else { continue };
        let n = compression::decompress(codec, b.records_bytes(), &mut buf, DEFAULT_MAX_DECOMPRESSED, 2)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        stored += bytes.len() as u64;
        out_bytes += n as u64;
        batches += 1;
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "{batches} batches, {stored} bytes stored, {out_bytes} bytes decompressed in {s:.3} s: {:.0} MB/s of segment",
        stored as f64 / s / 1e6
    );
    Ok(())
}
