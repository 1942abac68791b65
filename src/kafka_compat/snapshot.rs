//! The `.snapshot` (producer state) and `.txnindex` (aborted transactions)
//! dumps: one line per producer or aborted transaction, in Kafka's words.
//!
//! Both files are read with the library's parsers
//! ([`kseg::format::snapshot`], [`kseg::format::txnindex`]); what is Kafka's
//! here is the order and wording of its checks and its version quirks.

use std::io::{self, Write};

use kseg::files::mmap::Mapped;
use kseg::format::snapshot::{self, ENTRY, HEADER, ProducerEntry, VERSION};
use kseg::format::txnindex::TxnIndex;

use super::KafkaDump;
use super::java::{Exception, JFile, KResult, decrement_sequence, optional_long, parse_long};

impl<W: Write> KafkaDump<W> {
    pub(super) fn dump_txn_index(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        let name = file.name();
        let stem = &name[..name.find('.').unwrap_or(name.len())];
        if let Err(e) = parse_long(stem) {
            return Ok(Err(e));
        }
        // Kafka opens the file read-write; kseg reads it.
        let data = match Mapped::open(&file.path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ok(())),
            Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
        };
        for t in TxnIndex::new(data.as_ref()).entries() {
            // Kafka's AbortedTxn.version() reads the first byte of the field.
            let version = t.kafka_version() as i8;
            if version > 0 {
                return Ok(Err(Exception::new(
                    "org.apache.kafka.common.KafkaException",
                    format!(
                        "Unexpected aborted transaction version {} in transaction index {}, current version is 0",
                        version,
                        file.absolute()
                    ),
                )));
            }
            self.line(&format!(
                "version: {} producerId: {} firstOffset: {} lastOffset: {} lastStableOffset: {}",
                version, t.producer_id, t.first_offset, t.last_offset, t.last_stable_offset
            ));
        }
        Ok(Ok(()))
    }

    pub(super) fn dump_snapshot(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        let data = match Mapped::open(&file.path) {
            Ok(d) => d,
            Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
        };
        match read_snapshot(data.as_ref()) {
            Ok(entries) => {
                for e in entries {
                    let mut l = format!(
                        "producerId: {} producerEpoch: {} coordinatorEpoch: {} currentTxnFirstOffset: ",
                        e.producer_id, e.producer_epoch, e.coordinator_epoch
                    );
                    let mut b = Vec::new();
                    optional_long(&mut b, (e.current_txn_first_offset >= 0).then_some(e.current_txn_first_offset));
                    l.push_str(&String::from_utf8_lossy(&b));
                    l.push_str(&format!(" lastTimestamp: {}", e.timestamp));
                    if e.last_offset >= 0 {
                        l.push_str(&format!(
                            " firstSequence: {} lastSequence: {} lastOffset: {} offsetDelta: {} timestamp: {}",
                            decrement_sequence(e.last_sequence, e.offset_delta),
                            e.last_sequence,
                            e.last_offset,
                            e.offset_delta,
                            e.timestamp
                        ));
                    } else if self.cfg.version.scala_text() {
                        l.push(' ');
                    }
                    self.line(&l);
                }
            }
            Err(message) => {
                self.damaged = true;
                self.err_line(&message)?;
            }
        }
        Ok(Ok(()))
    }
}

/// `ProducerStateManager.readSnapshot`: Kafka's checks, in its order and
/// words, over the library's parse. The error is the
/// `CorruptSnapshotException` text.
fn read_snapshot(data: &[u8]) -> Result<Vec<ProducerEntry>, String> {
    let invalid = |m: String| format!("Snapshot failed schema validation: {m}");
    let snap = snapshot::parse(data);
    let header = snap.header;
    let Some(version) = header.version else {
        return Err(invalid(format!("Error reading field 'version': only {} byte(s) available", data.len())));
    };
    if version != VERSION {
        return Err(invalid(format!("Snapshot contained an unknown file version {version}")));
    }
    let (Some(count), Some(stored), Some(computed)) = (header.count, header.crc, snap.computed_crc) else {
        return Err(invalid(format!("Error reading snapshot header: {} bytes available, {HEADER} needed", data.len())));
    };
    if count < 0 {
        return Err(invalid(format!("Error reading field 'producer_entries': array size {count} is negative")));
    }
    let available = data.len() - HEADER;
    if (count as usize).saturating_mul(ENTRY) > available {
        return Err(invalid(format!(
            "Error reading field 'producer_entries': {count} entries need {} bytes, only {available} available",
            count as u64 * ENTRY as u64
        )));
    }
    if stored != computed {
        return Err(format!(
            "Snapshot is corrupt (CRC is no longer valid). Stored crc: {stored}. Computed crc: {computed}"
        ));
    }
    Ok(snap.entries().collect())
}
