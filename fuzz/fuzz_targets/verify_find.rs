//! Arbitrary bytes as a segment with its `.index` and `.timeindex`: the
//! verify checks (batches, index and time-index merged in, cross-segment)
//! in both readings, which must agree, and the broker's lookups (find-offset,
//! find-time) over the same files. Input: a selector byte, then the index,
//! the time index and the log, framed by `common::parts`.
#![no_main]

#[path = "common.rs"]
mod common;

use kseg::analysis::find::{self, TimeTarget};
use kseg::analysis::verify::{self, Options};
use kseg::analysis::window::Reading;
use kseg::files::partition::{BaseOffsetFrom, Segment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let p = common::parts(rest, 3);
    let (index, timeindex, log) = (p[0], p[1], p[2]);
    let dir = common::scratch();
    let path = |ext: &str| dir.join(format!("00000000000000000000.{ext}"));
    std::fs::write(path("log"), log).unwrap();
    std::fs::write(path("index"), index).unwrap();
    std::fs::write(path("timeindex"), timeindex).unwrap();
    let seg = Segment {
        base_offset: 0,
        base_from: BaseOffsetFrom::Name,
        log: path("log"),
        index: (selector & 1 == 0).then(|| path("index")),
        timeindex: (selector & 2 == 0).then(|| path("timeindex")),
        txnindex: None,
        listed: None,
    };
    let active = selector & 4 != 0;
    let len = log.len() as u64;

    let mut reports = Vec::new();
    for reading in [Reading::Sequential, Reading::Mapped] {
        let opts = Options { max_decompressed: 1 << 20, reading };
        let r = verify::verify_segment(&seg, active, &opts).expect("the files are there");
        for f in &r.findings {
            let file_len = std::fs::metadata(&f.file).map(|m| m.len()).unwrap_or(0);
            assert!(f.position.is_none_or(|p| p <= file_len), "{f:?} in a {file_len}-byte file");
        }
        assert!(r.first_offset.is_none_or(|(_, at)| at < len));
        reports.push(r);
    }
    assert_eq!(format!("{:?}", reports[0]), format!("{:?}", reports[1]), "the two readings disagree");
    let _ = verify::cross_segment(std::slice::from_ref(&seg), &reports[..1]);

    // Lookups: an offset and a timestamp taken from the input.
    let target = i64::from(selector >> 3) - 2;
    let a = find::find_offset(std::slice::from_ref(&seg), target).expect("the files are there");
    assert!(a.position.is_none_or(|p| p < len), "{a:?}");
    assert!(a.offset.is_none_or(|o| o >= target), "{a:?}");
    let ts = log.get(27..35).map_or(0, |b| i64::from_be_bytes(b.try_into().unwrap()));
    for t in [TimeTarget::Earliest, TimeTarget::Latest, TimeTarget::MaxTimestamp, TimeTarget::At(ts)] {
        let a = find::find_time(std::slice::from_ref(&seg), t).expect("the files are there");
        std::hint::black_box(a);
    }
});
