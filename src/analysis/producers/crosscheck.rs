//! Cross-checks with the files the broker writes beside the log: each ABORT
//! marker against its entry in the segment's `.txnindex` (and entries no
//! marker explains), and each producer's final state against the newest
//! producer `.snapshot`. The caller hands over both files' bytes, parsed.

use std::collections::BTreeSet;
use std::path::Path;

use super::{Analyzer, FindingKind, ProducerBatch, Severity, SnapshotCheck, SnapshotFile, finding};
use crate::files::partition::Segment;
use crate::format::problem::ProblemKind;
use crate::format::txnindex::{AbortedTxn, ENTRY, TxnIndex};

/// The txnindex of one segment, walked alongside its ABORT markers.
pub(super) struct TxnCursor<'a> {
    /// The `.txnindex` file, if the segment has one.
    pub(super) path: Option<&'a Path>,
    pub(super) idx: TxnIndex<'a>,
    /// The first entry no marker has matched yet.
    pub(super) next: usize,
    /// The `.txnindex` was listed but gone when it was to be read (the
    /// broker's retention removing the segment meanwhile): its markers are
    /// not checked against it.
    pub(super) gone: bool,
}

impl Analyzer {
    /// Report the entries from `cursor.next` on whose ABORT marker would lie
    /// before `before` (all of them when `None`: the segment's markers are
    /// done), since no marker matched them.
    pub(super) fn txnindex_extras(&mut self, cursor: &mut TxnCursor<'_>, before: Option<i64>, compacted: bool) {
        while let Some(e) = cursor.idx.get(cursor.next)
            && before.is_none_or(|b| e.last_offset < b)
        {
            let at = (cursor.next * ENTRY) as u64;
            cursor.next += 1;
            self.txnindex_extra(cursor, at, e, compacted);
        }
    }

    fn txnindex_extra(&mut self, cursor: &TxnCursor<'_>, at: u64, e: AbortedTxn, compacted: bool) {
        let (severity, why) = if compacted {
            (Severity::Note, "; offsets were removed from this segment, so the cleaner may have removed the marker")
        } else {
            (Severity::Anomaly, "")
        };
        let mut f = finding(
            FindingKind::TxnindexExtra,
            severity,
            format!(
                "the .txnindex lists an aborted transaction {}..{} of producer {} with no ABORT marker at offset {}{why}",
                e.first_offset, e.last_offset, e.producer_id, e.last_offset
            ),
        );
        f.producer_id = Some(e.producer_id);
        f.first_offset = Some(e.first_offset);
        f.last_offset = Some(e.last_offset);
        f.file = cursor.path.map(Path::to_path_buf);
        f.position = Some(at);
        self.push(f);
    }

    /// The `.txnindex` entry an ABORT marker (`b`) needs, after reporting
    /// the entries before it, which no marker explains.
    pub(super) fn abort_in_txnindex(
        &mut self,
        b: &ProducerBatch,
        expected: AbortedTxn,
        seg: &Segment,
        cursor: &mut TxnCursor<'_>,
        compacted_here: bool,
    ) {
        if cursor.gone {
            return;
        }
        let first = expected.first_offset;
        // Entries before this marker have no marker of their own.
        self.txnindex_extras(cursor, Some(b.base_offset), compacted_here);
        let listed = cursor.idx.get(cursor.next).filter(|e| e.last_offset == b.base_offset);
        let mut f = match listed {
            None => {
                let where_ = match cursor.path {
                    Some(p) => format!("{} does not list it", p.display()),
                    None => "the segment has no .txnindex".to_string(),
                };
                finding(
                    FindingKind::AbortMissingFromTxnindex,
                    Severity::Anomaly,
                    format!(
                        "aborted transaction {first}..{} of producer {} (ABORT marker at {}): {where_}; a read_committed consumer would deliver its data",
                        b.base_offset, b.producer_id, b.base_offset
                    ),
                )
            }
            Some(e) => {
                let at = (cursor.next * ENTRY) as u64;
                cursor.next += 1;
                let mut diffs = Vec::new();
                if e.producer_id != expected.producer_id {
                    diffs.push(format!("producer id {} (the marker's is {})", e.producer_id, expected.producer_id));
                }
                // What lies before the first offset read (retention removed it, or
                // only later segments were given) cannot be checked.
                let start = self.first_offset.unwrap_or(i64::MIN);
                if e.first_offset != expected.first_offset
                    && !(e.first_offset < start && expected.first_offset >= start)
                {
                    diffs.push(format!("first offset {} (the log says {})", e.first_offset, expected.first_offset));
                }
                if e.last_stable_offset != expected.last_stable_offset
                    && !(e.last_stable_offset < start && expected.last_stable_offset >= start)
                {
                    diffs.push(format!(
                        "last stable offset {} (the log says {})",
                        e.last_stable_offset, expected.last_stable_offset
                    ));
                }
                if e.kafka_version() != 0 {
                    diffs.push(format!("version {} (Kafka writes 0)", e.version));
                }
                if diffs.is_empty() {
                    return;
                }
                let mut f = finding(
                    FindingKind::TxnindexMismatch,
                    Severity::Anomaly,
                    format!("the .txnindex entry for the ABORT marker at {} says {}", b.base_offset, diffs.join(", ")),
                );
                f.file = cursor.path.map(Path::to_path_buf);
                f.position = Some(at);
                f
            }
        };
        f.producer_id = Some(b.producer_id);
        f.epoch = Some(b.epoch);
        f.first_offset = Some(first);
        f.last_offset = Some(b.base_offset);
        if f.file.is_none() {
            f.file = Some(seg.log.clone());
            f.position = Some(b.position);
        }
        self.push(f);
    }

    /// Compare each producer's state at the end of the log with its entry in
    /// the snapshot, for the producers whose last batch the snapshot saw.
    pub(super) fn snapshot_check(&mut self, file: SnapshotFile<'_>) -> SnapshotCheck {
        let SnapshotFile { path, offset, snapshot: snap } = file;
        let mut check = SnapshotCheck { file: path.clone(), offset, ..SnapshotCheck::default() };
        // A snapshot Kafka would reject (its version, framing or CRC; bytes
        // after the entries Kafka accepts) is not compared with the log.
        if let Some(issue) = snap.issues.iter().find(|i| i.kind != ProblemKind::SnapshotTrailingBytes) {
            // Kafka creates the file and then writes it whole (at a roll, in
            // the background): an empty one is being written, or a crash came
            // between the two. Kafka skips it and rebuilds from the log.
            let mut f = if snap.byte_len() == 0 {
                let msg = "empty: a snapshot the broker was about to write (or a crash left unwritten); Kafka skips it";
                finding(FindingKind::SnapshotInvalid, Severity::Note, msg.to_owned())
            } else {
                finding(FindingKind::SnapshotInvalid, Severity::Anomaly, format!("cannot be used: {}", issue.message))
            };
            f.file = Some(path);
            self.push(f);
            return check;
        }
        let log_end = self.last_offset.map(|o| o.saturating_add(1));
        if let Some(end) = log_end
            && offset > end
        {
            let mut f = finding(
                FindingKind::SnapshotAhead,
                Severity::Note,
                format!(
                    "the snapshot was taken at offset {offset}, after the log end {end} (later segments are missing, or the log was truncated since)"
                ),
            );
            f.file = Some(path.clone());
            self.push(f);
        }
        let mut in_snapshot = BTreeSet::new();
        let total_missing = self.missing;
        let mut found = Vec::new();
        for e in snap.entries() {
            check.entries += 1;
            in_snapshot.insert(e.producer_id);
            let Some(p) = self.producers.get(&e.producer_id) else {
                check.only_in_snapshot += 1;
                continue;
            };
            if p.last_offset >= offset {
                check.skipped_later += 1;
                continue;
            }
            check.compared += 1;
            // The snapshot holds the broker's state (see `state`), with -1 for none.
            let seq = p.last_sequence;
            let (last, delta) = p.last_data.map_or((-1, 0), |(_, last, delta)| (last, delta));
            let txn = p.current_txn_start_offset.unwrap_or(-1);
            let mut diffs = Vec::new();
            if e.producer_epoch != p.epoch {
                diffs.push(format!("epoch {} (the log says {})", e.producer_epoch, p.epoch));
            }
            if e.last_sequence != seq {
                diffs.push(format!("last sequence {} (the log says {seq})", e.last_sequence));
            }
            if e.last_offset != last {
                diffs.push(format!("last offset {} (the log says {last})", e.last_offset));
            }
            if e.last_offset >= 0 && e.offset_delta != delta {
                diffs.push(format!("offset delta {} (the log says {delta})", e.offset_delta));
            }
            if e.current_txn_first_offset != txn {
                diffs.push(format!("open transaction at {} (the log says {txn})", e.current_txn_first_offset));
            }
            if let Some(ce) = p.coordinator_epoch
                && ce != e.coordinator_epoch
            {
                diffs.push(format!("coordinator epoch {} (the log says {ce})", e.coordinator_epoch));
            }
            if diffs.is_empty() {
                check.matching += 1;
                continue;
            }
            // The cleaner may have removed the batch the snapshot remembers.
            let removed_after = total_missing > p.missing_at_last && e.last_offset > p.last_offset;
            let (severity, why) = if removed_after {
                (
                    Severity::Note,
                    "; offsets were removed after the producer's last batch, so the cleaner may have removed the batch the snapshot remembers",
                )
            } else {
                (Severity::Anomaly, "")
            };
            let mut f = finding(
                FindingKind::SnapshotMismatch,
                severity,
                format!("producer {} in the snapshot: {}{why}", e.producer_id, diffs.join(", ")),
            );
            f.producer_id = Some(e.producer_id);
            f.epoch = Some(e.producer_epoch);
            f.first_offset = Some(p.last_offset);
            f.last_offset = Some(p.last_offset);
            f.file = Some(path.clone());
            found.push(f);
        }
        for f in found {
            self.push(f);
        }
        check.only_in_log =
            self.producers.values().filter(|p| p.last_offset < offset && !in_snapshot.contains(&p.producer_id)).count()
                as u64;
        check
    }
}
