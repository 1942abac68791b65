//! Arbitrary bytes through `kseg kafka-dump-log`'s writer of Kafka's text
//! (`src/kafka_compat`, part of the binary crate: its modules are compiled
//! into this target by path, with the one `output` module they use), as
//! every file kind and with every option that changes the text. The mapped
//! and the plain reading must print the same. Input: two selector bytes,
//! then the named file and the `.log` beside it (which `.index`,
//! `.timeindex` and `.txnindex` dumps read), framed by `common::parts`.
#![no_main]
#![allow(dead_code, unused_imports)]

#[path = "common.rs"]
mod common;

#[path = "../../src/output/simd.rs"]
mod simd;
#[path = "../../src/output/ordered.rs"]
mod ordered;
#[path = "../../src/output/out.rs"]
mod out;
mod output {
    pub(crate) use super::out::Out;
    pub(crate) use super::{ordered, simd};
}
#[path = "../../src/kafka_compat/mod.rs"]
mod kafka_compat;

use kafka_compat::{Config, KafkaDump, KafkaVersion, Parser};
use kseg::topics::TopicKind;
use libfuzzer_sys::fuzz_target;

const KINDS: [&str; 6] = ["log", "index", "timeindex", "snapshot", "txnindex", "checkpoint"];

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else { return };
    let (a, b) = (*a, *b);
    let p = common::parts(rest, 2);
    let (file, log) = (p[0], p[1]);
    let ext = KINDS[usize::from(a & 7) % KINDS.len()];
    let dir = common::scratch();
    let name = dir.join(format!("00000000000000000000.{ext}"));
    if ext != "log" {
        std::fs::write(dir.join("00000000000000000000.log"), log).unwrap();
    }
    std::fs::write(&name, file).unwrap();
    let parser = match (b >> 5) % 6 {
        0 => Parser::Strings,
        k => Parser::Internal(TopicKind::ALL[usize::from(k) - 1]),
    };
    let version = [KafkaVersion::V4_1, KafkaVersion::V4_3, KafkaVersion::V4_4][usize::from(b & 3) % 3];
    let mut outputs = Vec::new();
    // Mapped and plain, and mapped on several threads (windows written in order): the same text.
    for (mmap, jobs) in [(true, 1), (false, 1), (true, 3)] {
        let cfg = Config {
            print_data: a & 8 != 0,
            deep: a & 16 != 0,
            skip_metadata: a & 32 != 0,
            verify_only: a & 64 != 0,
            index_sanity: a & 128 != 0,
            max_message_size: if b & 4 != 0 { 100 } else { 5 * 1024 * 1024 },
            max_bytes: if b & 8 != 0 { 300 } else { i32::MAX },
            parser,
            mmap,
            version,
            base_offset: None,
            jobs,
        };
        let mut out = Vec::new();
        let (ended, report) = {
            let mut dump = KafkaDump::new(cfg, &mut out);
            let ended = match dump.dump_file(name.to_str().unwrap()) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{e:?}")),
                Err(e) => Some(format!("io: {e}")),
            };
            dump.flush().unwrap();
            (ended, dump.report())
        };
        outputs.push((out, ended, report));
    }
    assert!(outputs[0] == outputs[1], "mapped and plain reads print different text");
    assert!(outputs[0] == outputs[2], "one thread and several print different text");
});
