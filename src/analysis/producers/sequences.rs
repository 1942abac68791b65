//! The sequence and epoch rules: each producer's sequences run on from
//! batch to batch within an epoch (wrapping at `i32::MAX`) and restart at 0
//! in a new one; a gap is loss unless removed offsets explain it, a repeat is
//! a duplicate, and a batch below the producer's highest epoch is a fenced
//! writer or an epoch going backwards.

use super::{
    Analyzer, BatchRole, EpochRun, Finding, FindingKind, Producer, ProducerBatch, SEQ_SPACE, SeqRange, Severity,
    finding, seq_of,
};
use crate::files::partition::Segment;

impl Analyzer {
    fn epoch_run<'p>(p: &'p mut Producer, epoch: i16, b: &ProducerBatch, began_here: bool) -> &'p mut EpochRun {
        let i = match p.epochs.iter().rposition(|r| r.epoch == epoch) {
            Some(i) => i,
            None => {
                p.epochs.push(EpochRun {
                    epoch,
                    first_offset: b.base_offset,
                    last_offset: b.last_offset,
                    batches: 0,
                    records: 0,
                    sequences: Vec::new(),
                    next_ext: None,
                    began_here,
                    missing_at_last: b.missing_before,
                    last_sequenced_offset: b.base_offset,
                });
                p.epochs.len() - 1
            }
        };
        &mut p.epochs[i]
    }

    pub(super) fn epoch_check(&mut self, b: &ProducerBatch, seg: &Segment, is_new: bool) {
        let data_records =
            if matches!(b.kind, BatchRole::Data | BatchRole::TxnData) { b.records.max(0) as u64 } else { 0 };
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        let below = !is_new && b.epoch < p.max_epoch;
        if !below {
            if b.epoch > p.max_epoch {
                p.max_epoch = b.epoch;
            }
            p.run = None;
            let began_here = !is_new;
            let r = Self::epoch_run(p, b.epoch, b, began_here);
            r.last_offset = b.last_offset;
            r.batches += 1;
            r.records += data_records;
            return;
        }
        let seen = p.epochs.iter().any(|r| r.epoch == b.epoch);
        let kind = if seen { FindingKind::FencedWriter } else { FindingKind::EpochBackwards };
        let max = p.max_epoch;
        let r = Self::epoch_run(p, b.epoch, b, false);
        r.last_offset = b.last_offset;
        r.batches += 1;
        r.records += data_records;
        // Extend the run of low-epoch batches going on, if it is this one.
        if let Some(i) = p.run {
            let f = &mut self.findings[i];
            if f.kind == kind && f.epoch == Some(b.epoch) {
                f.last_offset = Some(b.last_offset);
                f.message = low_epoch_message(kind, b.epoch, max, f.first_offset.unwrap_or(0), b.last_offset);
                return;
            }
        }
        let mut f =
            finding(kind, Severity::Anomaly, low_epoch_message(kind, b.epoch, max, b.base_offset, b.last_offset));
        f.producer_id = Some(b.producer_id);
        f.epoch = Some(b.epoch);
        f.first_offset = Some(b.base_offset);
        f.last_offset = Some(b.last_offset);
        f.file = Some(seg.log.clone());
        f.position = Some(b.position);
        let i = self.push(f);
        if let Some(p) = self.producers.get_mut(&b.producer_id) {
            p.run = Some(i);
        }
    }

    pub(super) fn sequence(&mut self, b: &ProducerBatch, seg: &Segment) {
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        if b.base_sequence < 0 {
            return;
        }
        let producer_missing = p.missing_at_last;
        let delta = i64::from(b.last_offset_delta.max(0));
        let base = i64::from(b.base_sequence);
        let r = Self::epoch_run(p, b.epoch, b, false);
        let mut found: Option<Finding> = None;
        let ext_base = match r.next_ext {
            None => {
                if r.began_here && base != 0 {
                    // The epoch began in this log, so its sequences start at 0.
                    let removed = b.missing_before.saturating_sub(producer_missing);
                    found = Some(gap_finding(b, 0, base, removed, r.first_offset, true));
                }
                base
            }
            Some(next) => {
                let d = (base - next).rem_euclid(SEQ_SPACE);
                if d == 0 {
                    next
                } else if d < SEQ_SPACE / 2 {
                    let removed = b.missing_before.saturating_sub(r.missing_at_last);
                    found = Some(gap_finding(b, next, next + d, removed, r.last_sequenced_offset, false));
                    next + d
                } else {
                    let eb = next - (SEQ_SPACE - d);
                    let el = eb + delta;
                    let orig = r.sequences.iter().find(|s| s.first_ext <= el && eb <= s.last_ext);
                    let where_ = orig.map_or(String::new(), |s| {
                        format!(" (already written at offsets {}..{})", s.first_offset, s.last_offset)
                    });
                    let mut f = finding(
                        FindingKind::SequenceDuplicate,
                        Severity::Anomaly,
                        format!(
                            "sequences {}..{} in epoch {} written again at offsets {}..{}{where_}; the next expected was {}",
                            seq_of(eb),
                            seq_of(el.min(next - 1)),
                            b.epoch,
                            b.base_offset,
                            b.last_offset,
                            seq_of(next)
                        ),
                    );
                    f.first_offset = Some(b.base_offset);
                    f.last_offset = Some(b.last_offset);
                    found = Some(f);
                    eb
                }
            }
        };
        let ext_last = ext_base + delta;
        let next = r.next_ext.unwrap_or(ext_base);
        match r.sequences.last_mut() {
            Some(s) if ext_base <= s.last_ext + 1 && ext_last > s.last_ext => {
                s.last_ext = ext_last;
                s.last = seq_of(ext_last);
                s.last_offset = b.last_offset;
                s.batches += 1;
            }
            Some(s) if ext_last <= s.last_ext && ext_base >= s.first_ext => {}
            _ if ext_last < next => {}
            _ => r.sequences.push(SeqRange {
                first: seq_of(ext_base),
                last: seq_of(ext_last),
                first_offset: b.base_offset,
                last_offset: b.last_offset,
                batches: 1,
                first_ext: ext_base,
                last_ext: ext_last,
            }),
        }
        r.next_ext = Some(r.next_ext.map_or(ext_last + 1, |n| n.max(ext_last + 1)));
        r.missing_at_last = b.missing_before;
        r.last_sequenced_offset = b.last_offset;
        if let Some(mut f) = found {
            f.producer_id = Some(b.producer_id);
            f.epoch = Some(b.epoch);
            f.file = Some(seg.log.clone());
            f.position = Some(b.position);
            self.push(f);
        }
    }
}

fn low_epoch_message(kind: FindingKind, epoch: i16, max: i16, first: i64, last: i64) -> String {
    if kind == FindingKind::FencedWriter {
        format!(
            "epoch {epoch} wrote offsets {first}..{last} after epoch {max} had taken over: a fenced producer (zombie) still writing"
        )
    } else {
        format!("epoch went back from {max} to {epoch} (never seen before) at offsets {first}..{last}")
    }
}

/// A gap of sequences `from_ext..to_ext - 1`, explained when at least that
/// many offsets were removed since the producer's previous batch.
fn gap_finding(
    b: &ProducerBatch,
    from_ext: i64,
    to_ext: i64,
    removed: u64,
    prev_offset: i64,
    new_epoch: bool,
) -> Finding {
    let k = (to_ext - from_ext) as u64;
    let what = if new_epoch {
        format!("epoch {} begins at sequence {} instead of 0", b.epoch, seq_of(to_ext))
    } else {
        format!(
            "sequences {}..{} of epoch {} are missing between offset {prev_offset} and offset {}",
            seq_of(from_ext),
            seq_of(to_ext - 1),
            b.epoch,
            b.base_offset
        )
    };
    let (severity, why) = if removed >= k {
        (Severity::Note, format!(" ({removed} offsets were removed in between: the log was compacted)"))
    } else if removed > 0 {
        (
            Severity::Anomaly,
            format!(" ({k} missing, only {removed} offsets removed in between: more than compaction explains)"),
        )
    } else {
        (Severity::Anomaly, format!(" ({k} missing with no offset removed in between: lost before the broker)"))
    };
    let mut f = finding(FindingKind::SequenceGap, severity, format!("{what}{why}"));
    f.first_offset = Some(prev_offset);
    f.last_offset = Some(b.base_offset);
    f
}
