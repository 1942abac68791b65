//! The per-batch extraction: one walk over a segment's entries that keeps,
//! of each v2 batch with a producer id, the few header fields the rules
//! need (a [`ProducerBatch`]), and counts the offsets missing between and
//! inside batches, which later explain sequence gaps as compaction.

use std::io;

use super::{BatchRole, ProducerBatch, SegmentScan};
use crate::format::batch::BatchV2;
use crate::format::control::ControlValue;
use crate::format::entry::Decoder;
use crate::format::head::EntryHead;
use crate::format::walk::{Source, Step, Walker};

/// Read the batch headers of one `.log` file from `src`. Only the header
/// bytes are asked for (and a control batch's first record), so through a
/// sliding map ([`crate::files::log::LogSource`]) only their pages are
/// touched, and memory does not grow with the segment.
pub fn scan_segment<S: Source>(src: S, max_decompressed: usize) -> io::Result<SegmentScan> {
    let mut walker = Walker::new(src);
    let mut scan = SegmentScan::default();
    let mut scratch = Vec::new();
    let mut decoder: Option<Decoder> = None;
    while let Some(step) = walker.next_step()? {
        let (position, bytes) = match step {
            Step::Entry { position, bytes } => (position, bytes),
            Step::ZeroFill { .. } | Step::Trailing { .. } => continue,
            Step::TooLarge { .. } | Step::Corrupt(_) => {
                scan.damaged += 1;
                continue;
            }
        };
        let (base, last, max_ts, producer_batch) = if EntryHead::new(bytes).magic() == Some(2) {
            let Ok(b) = BatchV2::parse(bytes, position) else {
                scan.damaged += 1;
                continue;
            };
            let h = b.header;
            let span = i64::from(h.last_offset_delta) + 1;
            if span > i64::from(h.records_count) && h.records_count >= 0 {
                scan.missing_within = scan.missing_within.saturating_add((span - i64::from(h.records_count)) as u64);
            }
            let producer_batch = (h.producer_id >= 0).then(|| {
                let kind = if h.is_control() {
                    control_kind(&b, &mut scratch, max_decompressed)
                } else if h.is_transactional() {
                    BatchRole::TxnData
                } else {
                    BatchRole::Data
                };
                ProducerBatch {
                    position,
                    base_offset: h.base_offset,
                    last_offset: h.last_offset(),
                    producer_id: h.producer_id,
                    epoch: h.producer_epoch,
                    base_sequence: h.base_sequence,
                    last_offset_delta: h.last_offset_delta,
                    records: h.records_count,
                    size: bytes.len() as u32,
                    max_timestamp: h.max_timestamp,
                    kind,
                    missing_before: 0,
                }
            });
            (h.base_offset, h.last_offset(), h.max_timestamp, producer_batch)
        } else {
            let dec = decoder.get_or_insert_with(|| Decoder::new(max_decompressed));
            match dec.decode(bytes, position) {
                Ok(d) => (d.info.base_offset, d.info.last_offset, d.info.max_timestamp, None),
                Err(_) => {
                    scan.damaged += 1;
                    continue;
                }
            }
        };
        if let Some(prev) = scan.last_offset
            && base > prev.saturating_add(1)
        {
            scan.missing_between = scan.missing_between.saturating_add(base.abs_diff(prev) - 1);
        }
        scan.first_offset.get_or_insert(base);
        scan.last_offset = Some(scan.last_offset.map_or(last, |p| p.max(last)));
        if max_ts >= 0 {
            scan.first_timestamp.get_or_insert(max_ts);
            scan.max_timestamp = Some(scan.max_timestamp.map_or(max_ts, |m| m.max(max_ts)));
        }
        if let Some(mut p) = producer_batch {
            p.missing_before = scan.missing_between;
            scan.batches.push(p);
        }
    }
    Ok(scan)
}

/// Read the batch headers of a `.log` file's bytes.
pub fn scan_bytes(data: &[u8], max_decompressed: usize) -> io::Result<SegmentScan> {
    scan_segment(data, max_decompressed)
}

pub(crate) fn control_kind(b: &BatchV2<'_>, scratch: &mut Vec<u8>, max: usize) -> BatchRole {
    let Ok(mut records) = b.records(scratch, max) else { return BatchRole::OtherControl };
    match records.next() {
        Some(Ok(r)) => match r.control {
            Some(c) => match (c.type_id, c.value) {
                (0, ControlValue::EndTxn { coordinator_epoch, .. }) => {
                    BatchRole::Abort { coordinator_epoch, timestamp: r.timestamp }
                }
                (1, ControlValue::EndTxn { coordinator_epoch, .. }) => {
                    BatchRole::Commit { coordinator_epoch, timestamp: r.timestamp }
                }
                _ => BatchRole::OtherControl,
            },
            None => BatchRole::OtherControl,
        },
        // No record: the cleaner removed the marker's record.
        None => BatchRole::EmptyControl,
        Some(Err(_)) => BatchRole::OtherControl,
    }
}
