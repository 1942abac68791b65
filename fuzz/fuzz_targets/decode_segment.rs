//! Walk arbitrary bytes as a segment, decode every entry and iterate every
//! record and header. Run with `cargo +nightly fuzz run decode_segment`
//! (seed the corpus with `testdata/segments/*/*.log`).
#![no_main]

use kseg::Decoder;
use kseg::format::walk::{Step, Walker};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    // The first byte picks a small entry cap now and then, to reach TooLarge.
    let max_entry = match data.first() {
        Some(&b) if b & 0xf0 == 0xf0 => 26 + usize::from(b & 0x0f) * 64,
        _ => usize::MAX,
    };
    let mut walker = Walker::new(data).max_entry(max_entry);
    let mut decoder = Decoder::new(LIMIT);
    while let Some(step) = walker.next_step().expect("a slice never fails to read") {
        match step {
            Step::Entry { position, bytes } => {
                assert!(position + bytes.len() as u64 <= len);
                let mut decoded = match decoder.decode(bytes, position) {
                    Ok(d) => d,
                    Err(e) => {
                        assert!(e.position <= len, "{e}");
                        continue;
                    }
                };
                for record in decoded.records() {
                    match record {
                        Ok(r) => {
                            assert_eq!(r.headers.iter().count(), r.headers.len());
                            std::hint::black_box((r.key, r.value, r.control));
                        }
                        Err(e) => {
                            assert!(e.position <= len, "{e}");
                            assert!(e.decompressed_at.is_none_or(|at| at <= LIMIT as u64), "{e}");
                        }
                    }
                }
            }
            Step::Trailing { position, len: n } | Step::ZeroFill { position, len: n } => {
                assert_eq!(position + n, len);
            }
            Step::TooLarge { position, size } => assert!(position + size <= len),
            Step::Corrupt(e) => assert!(e.position <= len, "{e}"),
        }
    }
});
