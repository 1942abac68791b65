//! kseg: read Apache Kafka's on-disk log segments.
//!
//! The library knows the bytes and nothing of the terminal. It is built in
//! layers, each of which may use only the layers listed before it:
//!
//! - [`format`]: bytes to typed views. A [`format::walk::Walker`] yields raw
//!   entries with Kafka's stop rules, an [`format::entry::Decoder`] turns each
//!   into a [`format::entry::BatchInfo`] and an iterator of
//!   [`format::record::Record`]s that borrow from the file buffer, and every
//!   failure is a value that names its byte position.
//! - [`topics`]: the records of Kafka's internal topics (`__consumer_offsets`,
//!   `__transaction_state`, `__cluster_metadata`, …) decoded by their schemas.
//! - [`files`]: file kinds, partition and log directories, and the sources
//!   files are read through.
//! - [`analysis`]: find, verify, stats and producers, built on the above.
//!
//! The command line (`main.rs`, `cli/`, `output/`, `kafka_compat/`) sits on
//! top, in the binary, behind the default `cli` feature. `docs/architecture.md`
//! says where new code goes.
#![deny(unsafe_code)]

pub mod analysis;
pub mod files;
pub mod format;
pub mod topics;

pub use format::entry::{Batch, BatchInfo, DecodedBatch, Decoder};
pub use format::error::{DecodeError, ErrorKind};
