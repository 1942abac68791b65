//! Decompress arbitrary bytes with every codec. The first byte picks the
//! codec (bits 0-2), the magic (bits 3-4) and the output limit (bits 5-7);
//! the rest is the payload.
#![no_main]

use kseg::ErrorKind;
use kseg::format::compression::{Compression, decompress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else { return };
    let Some(codec) = Compression::from_id(selector & 7) else { return };
    let magic = ((selector >> 3) & 3) as i8;
    let limit = [0, 1, 100, 4096, 65536, 1 << 20, 4 << 20, 16 << 20][usize::from(selector >> 5)];
    let mut out = Vec::new();
    match decompress(codec, input, &mut out, limit, magic) {
        Ok(_) => assert!(out.len() <= limit, "{codec:?}: {} bytes out, limit {limit}", out.len()),
        Err(ErrorKind::DecompressLimit(l)) => assert_eq!(l, limit as u64),
        Err(_) => {}
    }
    // Whatever happened, the buffer never grew past the limit (gzip and zstd
    // read one byte more to learn that the output is too long).
    assert!(out.len() <= limit + 1, "{codec:?}: {} bytes out, limit {limit}", out.len());
});
