//! CRC-32C throughput of the crate kseg uses (`crc-fast`, through
//! `kseg::format::crc`) against the `crc32c` crate (the dev-dependency the tests write
//! their CRCs with), on a cache-hot 1 MiB buffer cut into pieces of the
//! sizes batches have. Why kseg uses the first: see docs/choices.md.
//!
//! cargo run --release --example crc_speed

use std::hint::black_box;
use std::time::Instant;

fn main() {
    let buf: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    const ROUNDS: usize = 256;
    let gbps = |secs: f64| (buf.len() * ROUNDS) as f64 / secs / 1e9;
    println!("{:>8} {:>14} {:>14}", "piece", "kseg::format::crc GB/s", "crc32c GB/s");
    for piece in [40usize, 100, 300, 1000, 4096, 16384, 65536] {
        let time = |f: &dyn Fn(&[u8]) -> u32| {
            // Best of three passes over ROUNDS MiB.
            (0..3)
                .map(|_| {
                    let start = Instant::now();
                    let mut acc = 0u32;
                    for _ in 0..ROUNDS {
                        for c in buf.chunks(piece) {
                            acc ^= f(black_box(c));
                        }
                    }
                    black_box(acc);
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let ours = time(&kseg::format::crc::crc32c);
        let theirs = time(&crc32c::crc32c);
        // The two must agree, or the comparison means nothing.
        assert!(buf.chunks(piece).all(|c| kseg::format::crc::crc32c(c) == crc32c::crc32c(c)));
        println!("{piece:>8} {:>14.1} {:>14.1}", gbps(ours), gbps(theirs));
    }
}
