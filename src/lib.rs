//! kseg: read Apache Kafka's on-disk log segments.
//!
//! The library knows the bytes and nothing of the terminal: a [`segment::Walker`]
//! yields raw entries with Kafka's stop rules, an [`entry::Decoder`] turns each
//! into a [`entry::BatchInfo`] and an iterator of [`record::Record`]s that
//! borrow from the file buffer, and every failure is a value that names its
//! byte position.
#![deny(unsafe_code)]

pub mod batch;
pub mod bytes;
pub mod checkpoint;
pub mod compression;
pub mod control;
pub mod crc;
pub mod decode;
pub mod entry;
pub mod error;
pub mod find;
pub mod index;
pub mod issue;
pub mod legacy;
pub mod mmap;
pub mod partition;
pub mod producers;
pub mod record;
pub mod segment;
pub mod sketch;
pub mod snapshot;
pub mod stats;
pub mod txnindex;
pub mod verify;

pub use entry::{Batch, BatchInfo, Decoded, Decoder};
pub use error::{DecodeError, ErrorKind};
