//! What kseg computes over files: find (the broker's lookup path), verify
//! (integrity checks), stats (a mergeable summary with sketches) and producers
//! (sequences, transactions and their cross-checks), and which batches a
//! read_committed consumer skips (aborted).
//!
//! May use: [`crate::format`], [`crate::topics`], [`crate::files`].

pub mod aborted;
pub mod find;
pub mod groups;
pub mod overview;
pub mod partition_files;
pub mod producers;
pub mod rebuild;
pub mod sketch;
pub mod stats;
pub mod verify;
pub mod window;
