//! The transaction rules: transactional data opens a transaction that the
//! producer's COMMIT or ABORT marker closes, adding it to the committed or
//! aborted totals; an ABORT marker's aborted range is what the `.txnindex`
//! must list; a transaction still open at the end holds back the last
//! stable offset, and hangs when it began too long before the partition's
//! newest timestamp.

use super::crosscheck::TxnCursor;
use super::{Analyzer, BatchRole, FindingKind, OpenTxn, ProducerBatch, Severity, finding};
use crate::files::partition::Segment;
use crate::format::txnindex::AbortedTxn;

impl Analyzer {
    pub(super) fn txn_data(&mut self, b: &ProducerBatch) {
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        p.transactional = true;
        match &mut p.open {
            Some(t) => {
                t.last_offset = b.last_offset;
                t.last_time_ms = b.max_timestamp;
                t.batches += 1;
                t.records += b.records.max(0) as u64;
                t.bytes += u64::from(b.size);
            }
            None => {
                p.open = Some(OpenTxn {
                    first_offset: b.base_offset,
                    last_offset: b.last_offset,
                    first_time_ms: b.max_timestamp,
                    last_time_ms: b.max_timestamp,
                    batches: 1,
                    records: b.records.max(0) as u64,
                    bytes: u64::from(b.size),
                });
                self.open.insert((b.base_offset, b.producer_id));
            }
        }
    }
    pub(super) fn marker(
        &mut self,
        b: &ProducerBatch,
        seg: &Segment,
        cursor: &mut TxnCursor<'_>,
        compacted_here: bool,
    ) {
        let abort = matches!(b.kind, BatchRole::Abort { .. });
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        p.transactional = true;
        let txn = p.open.take();
        let totals = if abort { &mut p.aborted } else { &mut p.committed };
        totals.count += 1;
        match txn {
            Some(t) => {
                totals.batches += t.batches;
                totals.records += t.records;
                totals.bytes += t.bytes;
                totals.longest_ms = totals.longest_ms.max(b.max_timestamp.saturating_sub(t.first_time_ms));
                self.open.remove(&(t.first_offset, b.producer_id));
            }
            None => totals.empty += 1,
        }
        if !abort {
            return;
        }
        let first = txn.map_or(b.base_offset, |t| t.first_offset);
        let lso = self.open.first().map_or(b.base_offset.saturating_add(1), |&(o, _)| o);
        // What the broker appended to the .txnindex when it wrote this marker.
        let expected = AbortedTxn {
            position: 0,
            version: 0,
            producer_id: b.producer_id,
            first_offset: first,
            last_offset: b.base_offset,
            last_stable_offset: lso,
        };
        self.abort_in_txnindex(b, expected, seg, cursor, compacted_here);
    }

    /// A note for each transaction still open at the end, or an anomaly
    /// when it has been open too long to be in flight.
    pub(super) fn open_transactions(&mut self, log_end: Option<i64>) {
        let max_ts = self.max_ts;
        let open: Vec<(i64, OpenTxn)> =
            self.producers.values().filter_map(|p| p.open.map(|t| (p.producer_id, t))).collect();
        for (pid, t) in open {
            let age = max_ts.map_or(0, |m| m.saturating_sub(t.first_time_ms));
            let hanging = age >= self.opts.txn_timeout_ms;
            let (kind, severity, what) = if hanging {
                (FindingKind::HangingTransaction, Severity::Anomaly, "hanging")
            } else {
                (FindingKind::OpenTransaction, Severity::Note, "open (in flight)")
            };
            let held = log_end.map_or(0, |e| e.saturating_sub(t.first_offset));
            let mut f = finding(
                kind,
                severity,
                format!(
                    "transaction {what} since offset {} ({} batches, {} records, {} bytes, {} ms of writes, begun {} ms before the partition's newest timestamp); it holds the last stable offset at {} ({held} offsets behind the log end)",
                    t.first_offset,
                    t.batches,
                    t.records,
                    t.bytes,
                    t.last_time_ms.saturating_sub(t.first_time_ms),
                    age,
                    t.first_offset
                ),
            );
            f.producer_id = Some(pid);
            f.epoch = self.producers.get(&pid).map(|p| p.epoch);
            f.first_offset = Some(t.first_offset);
            f.last_offset = Some(t.last_offset);
            self.push(f);
        }
    }
}
