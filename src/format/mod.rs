//! The bytes of Kafka's files as typed views, and nothing else: the bounds-checked
//! reader, errors with byte positions, CRCs and codecs, the entry walk with Kafka's
//! stop rules, v2 batches and records, legacy messages, control records, and the
//! small files beside a segment (`.index`, `.timeindex`, `.txnindex`, producer
//! snapshots, text checkpoints).
//!
//! May use: nothing else in kseg. Knows no paths beyond a file's name, no
//! directories, and no output.

pub mod batch;
pub mod bytes;
pub mod checkpoint;
pub mod compression;
pub mod control;
pub mod crc;
pub mod entry;
pub mod error;
pub mod head;
pub mod index;
pub mod issue;
pub mod legacy;
pub mod problem;
pub mod record;
pub mod snapshot;
pub mod txnindex;
pub mod walk;
