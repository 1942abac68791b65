//! The one trait every writer of `output` writes to, in a file of its own
//! so that the fuzz targets that compile `ordered.rs` by path compile it too.

use std::io::{self, Write};

/// Where a writer's bytes go: any writer, or a window's output on another
/// thread (`ordered.rs`), which takes a whole buffer as it is instead of a
/// copy of it.
pub trait Out: Write {
    /// Write all of `buf` and leave it empty (perhaps another allocation).
    fn write_vec(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.write_all(buf)?;
        buf.clear();
        Ok(())
    }
    /// Bytes worth collecting before one [`Out::write_vec`].
    fn batch_bytes(&self) -> usize {
        1 << 20
    }
}

impl Out for Box<dyn Write + '_> {}
