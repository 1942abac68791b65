//! Arbitrary keys and values through every internal-topic decoder
//! (`__consumer_offsets`, `__transaction_state`, `__cluster_metadata`,
//! `__remote_log_metadata`, `__share_group_state`) and their text. Input: a
//! selector byte (bits 0-2 the topic, bit 3 a null key, bit 4 a null value),
//! then the key and the value, framed by `common::parts`.
#![no_main]

#[path = "common.rs"]
mod common;

use kseg::topics::{TopicKind, decode_record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let kind = TopicKind::ALL[usize::from(selector & 7) % TopicKind::ALL.len()];
    let p = common::parts(rest, 2);
    let key = (selector & 8 == 0).then_some(p[0]);
    let value = (selector & 16 == 0).then_some(p[1]);
    let r = decode_record(kind, key, value);
    let (k, v) = r.texts();
    std::hint::black_box((k, v, r.group_id(), r.transactional_id(), r.type_matches("x")));
});
