//! Files read without a memory map, into one reused buffer: forward with
//! plain `read` calls in large chunks ([`FileSource`], the [`Source`] a
//! [`Walker`] uses when a file is not mapped), or at positions with `pread`
//! and a little read-ahead ([`PreadSource`], for lookups that jump through a
//! file reading a few bytes at each stop).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::files::change::{Change, Opened};
use crate::format::walk::{HEADER_UP_TO_MAGIC, Source, Walker};

/// Bytes read ahead per call.
const CHUNK: usize = 1 << 20;

/// A read-only file read forward in large chunks.
pub struct FileSource {
    file: File,
    opened: Opened,
    len: u64,
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    buf_pos: u64,
    /// Where the file's own cursor stands.
    cursor: u64,
    chunk: usize,
    /// Bytes read from the file so far.
    read_total: u64,
}

impl FileSource {
    /// Open `path` for reading only: kseg never writes to a user's data.
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::from_file(File::open(path)?)
    }

    /// Read a file already opened (and checked) by the caller, from its
    /// start; its length is taken now.
    pub fn from_file(mut file: File) -> io::Result<Self> {
        let opened = Opened::of(&file)?;
        let cursor = file.stream_position()?;
        Ok(FileSource {
            file,
            len: opened.len,
            opened,
            buf: Vec::new(),
            buf_pos: 0,
            cursor,
            chunk: CHUNK,
            read_total: 0,
        })
    }

    /// How the file (opened from `path`) changed since it was opened, if it did.
    pub fn change(&self, path: &Path) -> Option<Change> {
        self.opened.change(&self.file, path, false)
    }

    pub fn bytes_read(&self) -> u64 {
        self.read_total
    }

    /// Read ahead at most `chunk` bytes at a time (lookups read little).
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(HEADER_UP_TO_MAGIC as usize);
        self
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        let in_buf = pos >= self.buf_pos && pos + n as u64 <= self.buf_pos + self.buf.len() as u64;
        if !in_buf {
            if self.cursor != pos {
                self.file.seek(SeekFrom::Start(pos))?;
                self.cursor = pos;
            }
            let want = (n.max(self.chunk) as u64).min(self.len.saturating_sub(pos));
            self.buf.clear();
            // Keep the buffer from growing past what one read needs.
            if self.buf.capacity() > (want as usize).max(self.chunk) * 2 {
                self.buf.shrink_to((want as usize).max(self.chunk));
            }
            (&mut self.file).take(want).read_to_end(&mut self.buf)?;
            self.cursor += self.buf.len() as u64;
            self.read_total += self.buf.len() as u64;
            self.buf_pos = pos;
            if self.buf.len() < n {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being read"));
            }
        }
        let start = (pos - self.buf_pos) as usize;
        Ok(&self.buf[start..start + n])
    }
}

/// A read-only file read with `pread` at the positions asked for, each miss
/// reading at least `ahead` bytes: lookups that read a few header bytes
/// every few KiB (DumpLogSegments' index checks) read little more than
/// those, where [`FileSource`]'s forward chunks would read the whole file,
/// and entries that sit close together still share one read.
#[cfg(unix)]
pub struct PreadSource {
    file: File,
    opened: Opened,
    len: u64,
    buf: Vec<u8>,
    /// Bytes of `buf` read from the file, from `buf_pos`.
    filled: usize,
    buf_pos: u64,
    ahead: usize,
}

#[cfg(unix)]
impl PreadSource {
    /// Read a file already opened (and checked) by the caller; its length is
    /// taken now.
    pub fn from_file(file: File, ahead: usize) -> io::Result<Self> {
        let opened = Opened::of(&file)?;
        Ok(PreadSource { file, len: opened.len, opened, buf: Vec::new(), filled: 0, buf_pos: 0, ahead })
    }

    /// How the file (opened from `path`) changed since it was opened, if it did.
    pub fn change(&self, path: &Path) -> Option<Change> {
        self.opened.change(&self.file, path, false)
    }
}

#[cfg(unix)]
impl Source for PreadSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        use std::os::unix::fs::FileExt;
        let end = pos.checked_add(n as u64).ok_or(io::ErrorKind::UnexpectedEof)?;
        let in_buf = pos >= self.buf_pos && end <= self.buf_pos + self.filled as u64;
        if !in_buf {
            let want = (n.max(self.ahead) as u64).min(self.len.saturating_sub(pos)) as usize;
            if want < n {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the file"));
            }
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            self.filled = 0;
            self.file.read_exact_at(&mut self.buf[..want], pos)?;
            (self.buf_pos, self.filled) = (pos, want);
        }
        let start = (pos - self.buf_pos) as usize;
        Ok(&self.buf[start..start + n])
    }
}

/// A stream read forward as it comes: standard input, a pipe, a process
/// substitution, a FIFO. It holds only the bytes from the last position
/// read onwards (an entry and a read-ahead chunk), and learns its length
/// when it ends, so a walk over it needs memory for one entry, whatever
/// the stream's size.
pub struct StreamSource {
    input: Box<dyn Read + Send>,
    /// `buf[..valid]` are stream bytes from `buf_pos`; the rest is room to
    /// read into, kept between reads.
    buf: Vec<u8>,
    valid: usize,
    buf_pos: u64,
    ended: bool,
}

impl StreamSource {
    pub fn new(input: Box<dyn Read + Send>) -> Self {
        StreamSource { input, buf: Vec::new(), valid: 0, buf_pos: 0, ended: false }
    }

    /// Drop the bytes before `pos`: a walk never reads behind where it is.
    fn forget_before(&mut self, pos: u64) {
        let drop = (pos.saturating_sub(self.buf_pos) as usize).min(self.valid);
        if drop > 0 {
            self.buf.copy_within(drop..self.valid, 0);
            self.valid -= drop;
            self.buf_pos += drop as u64;
        }
        // After an entry larger than the chunk, give the room back.
        if self.buf.len() > CHUNK * 4 && self.valid < CHUNK {
            self.buf.truncate(CHUNK * 2);
            self.buf.shrink_to_fit();
        }
    }

    /// Read until `upto` bytes of the stream have been seen, or it ends.
    fn fill(&mut self, upto: u64) -> io::Result<()> {
        if self.ended || self.len() >= upto {
            return Ok(());
        }
        let missing = usize::try_from(upto - self.len()).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let need = self.valid + missing;
        if self.buf.len() < need {
            self.buf.resize(need.max(self.valid + CHUNK), 0);
        }
        while self.valid < need {
            match self.input.read(&mut self.buf[self.valid..]) {
                Ok(0) => {
                    self.ended = true;
                    break;
                }
                Ok(n) => self.valid += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Source for StreamSource {
    fn len(&self) -> u64 {
        self.buf_pos + self.valid as u64
    }

    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        if pos < self.buf_pos {
            return Err(io::Error::other("a stream cannot be read backwards"));
        }
        self.forget_before(pos);
        let end = pos.checked_add(n as u64).ok_or(io::ErrorKind::UnexpectedEof)?;
        self.fill(end)?;
        let start = (pos - self.buf_pos) as usize;
        self.buf[..self.valid].get(start..start + n).ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    fn reach(&mut self, upto: u64) -> io::Result<u64> {
        self.fill(upto)?;
        Ok(self.len())
    }

    fn finish(&mut self) -> io::Result<u64> {
        self.forget_before(self.len());
        while !self.ended {
            let room = if self.buf.is_empty() { &mut [0u8; 4096][..] } else { &mut self.buf[..] };
            match self.input.read(room) {
                Ok(0) => self.ended = true,
                Ok(n) => self.buf_pos += n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.len())
    }
}

impl Walker<FileSource> {
    /// A walk over the file at `path`, read with plain reads.
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Walker::new(FileSource::open(path)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_chunks_and_counts_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..100u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut src = FileSource::open(&path).unwrap().with_chunk(32);
        assert_eq!(src.len(), 100);
        assert_eq!(src.read(90, 10).unwrap(), &data[90..]);
        assert_eq!(src.read(10, 40).unwrap(), &data[10..50]);
        assert_eq!(src.bytes_read(), 10 + 40);
    }

    /// A reader that hands out a few bytes per call, as a pipe does.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(1 + self.1 % 5000).min(self.0.len() - self.1);
            out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn a_stream_walks_like_the_same_bytes_in_memory() {
        // Entries, then a torn tail; and the same with a zero tail.
        let mut data = Vec::new();
        for i in 0..300i64 {
            data.extend_from_slice(&i.to_be_bytes());
            data.extend_from_slice(&(14 + i as i32 % 40).to_be_bytes());
            data.extend(std::iter::repeat_n(0xabu8, 14 + i as usize % 40));
        }
        for tail in [vec![9u8; 30], vec![0u8; 3 << 20]] {
            let mut bytes = data.clone();
            bytes.extend(&tail);
            let walk = |w: &mut dyn FnMut() -> Option<String>| std::iter::from_fn(w).collect::<Vec<_>>();
            let mut mem = Walker::new(&bytes[..]);
            let expected = walk(&mut || mem.next_step().unwrap().map(|s| format!("{s:?}")));
            let mut stream = Walker::new(StreamSource::new(Box::new(Trickle(bytes.clone(), 0))));
            let got = walk(&mut || stream.next_step().unwrap().map(|s| format!("{s:?}")));
            assert_eq!(got, expected);
            assert_eq!(stream.end(), bytes.len() as u64);
            assert!(stream.source().buf.len() <= 5 * CHUNK, "memory stays bounded");
        }
    }

    #[test]
    fn pread_reads_ahead_and_jumps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..100u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut src = PreadSource::from_file(File::open(&path).unwrap(), 16).unwrap();
        assert_eq!(src.len(), 100);
        assert_eq!(src.read(80, 4).unwrap(), &data[80..84]);
        // Within the read-ahead, then back, then longer than it, then to the end.
        assert_eq!(src.read(90, 6).unwrap(), &data[90..96]);
        assert_eq!(src.read(3, 2).unwrap(), &data[3..5]);
        assert_eq!(src.read(10, 50).unwrap(), &data[10..60]);
        assert_eq!(src.read(95, 5).unwrap(), &data[95..]);
        assert_eq!(src.read(100, 0).unwrap(), &[] as &[u8]);
        assert_eq!(src.read(98, 3).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(src.read(u64::MAX, 2).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
