//! Files on disk: the kinds of file a Kafka log directory holds, partition and
//! log directories, which segment is active, and the sources a file is read
//! through (buffered reads, read-only memory maps, sliding windows).
//!
//! May use: [`crate::format`].

pub mod change;
pub mod input;
pub mod log;
pub mod logdir;
pub mod mmap;
pub mod partition;
pub mod read;
