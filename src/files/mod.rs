//! Files on disk: the kinds of file a Kafka log directory holds, partition and
//! log directories, which segment is active, the sources a file is read
//! through (buffered reads, streams, read-only memory maps under the fault
//! guard, sliding windows), and whether a file changed while it was read.
//!
//! May use: [`crate::format`].

pub mod change;
pub mod input;
pub mod log;
pub mod logdir;
pub mod mmap;
pub mod partition;
pub mod read;
