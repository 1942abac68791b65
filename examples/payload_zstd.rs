//! The floor under `kseg export`'s default compression on a segment: the
//! records' key, value and header bytes (what the Parquet payload columns
//! hold, about all of the export's bytes) compressed with zstd at level 1,
//! the level `kseg export` uses, in 1 MiB pieces as Parquet compresses its
//! pages, on one thread, timed apart from reading the records.
//!
//! No Parquet writer can compress those bytes faster than zstd itself
//! does, so this time divided by the cores is the least an export of the
//! segment can take (bench/run.sh sets it beside issue 21's speed check).
//!
//! cargo run --release --example payload_zstd -- FILE

use std::time::{Duration, Instant};

use kseg::Batch;
use kseg::format::compression::DEFAULT_MAX_DECOMPRESSED;
use kseg::format::walk::{Step, Walker};

/// Parquet's default data page size: the unit one compression call sees.
const PAGE: usize = 1 << 20;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: payload_zstd FILE");
    let mut walker = Walker::open(std::path::Path::new(&path))?;
    let mut compressor = zstd::bulk::Compressor::new(1)?;
    let (mut page, mut scratch) = (Vec::with_capacity(PAGE + 4096), Vec::new());
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(PAGE + 4096));
    let (mut payload, mut compressed, mut spent) = (0u64, 0u64, Duration::ZERO);
    let mut compress = |page: &mut Vec<u8>| -> std::io::Result<()> {
        let start = Instant::now();
        out.clear();
        let n = compressor.compress_to_buffer(page, &mut out)?;
        spent += start.elapsed();
        payload += page.len() as u64;
        compressed += n as u64;
        page.clear();
        Ok(())
    };
    while let Some(step) = walker.next_step()? {
        let Step::Entry { position, bytes } = step else { break };
        let Ok(Batch::V2(b)) = Batch::parse(bytes, position) else { continue };
        let Ok(records) = b.records(&mut scratch, DEFAULT_MAX_DECOMPRESSED) else { continue };
        for r in records {
            let Ok(r) = r else { break };
            page.extend_from_slice(r.key.unwrap_or_default());
            page.extend_from_slice(r.value.unwrap_or_default());
            for (k, v) in r.headers.iter() {
                page.extend_from_slice(k);
                page.extend_from_slice(v.unwrap_or_default());
            }
            if page.len() >= PAGE {
                compress(&mut page)?;
            }
        }
    }
    if !page.is_empty() {
        compress(&mut page)?;
    }
    let s = spent.as_secs_f64();
    println!(
        "{payload} payload bytes -> {compressed} with zstd level 1 in {s:.3} s on one core: {:.0} MB/s",
        payload as f64 / s.max(1e-9) / 1e6
    );
    Ok(())
}
