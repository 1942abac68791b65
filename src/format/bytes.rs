//! A bounds-checked cursor over borrowed bytes. All parsing goes through it,
//! so no decoder can index out of range: every read either succeeds or returns
//! a [`DecodeError`] naming the byte position.

use crate::format::error::{DecodeError, ErrorKind, Result};

#[derive(Clone, Copy, Debug)]
enum Origin {
    /// `buf[0]` is at this byte position of the file.
    File(u64),
    /// `buf[0]` is at byte `at` of the decompressed records of the batch
    /// that starts at file position `batch`.
    Decompressed { batch: u64, at: u64 },
}

#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    origin: Origin,
}

impl<'a> Reader<'a> {
    /// A reader over bytes that sit at `base` in the file.
    pub fn new(buf: &'a [u8], base: u64) -> Self {
        Reader { buf, pos: 0, origin: Origin::File(base) }
    }

    /// A reader over decompressed bytes of the batch that starts at `batch_position`.
    pub fn decompressed(buf: &'a [u8], batch_position: u64) -> Self {
        Reader { buf, pos: 0, origin: Origin::Decompressed { batch: batch_position, at: 0 } }
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Offset of the cursor inside this reader's buffer.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The error for a problem at the current cursor.
    pub fn error(&self, kind: ErrorKind) -> DecodeError {
        self.error_at(self.pos, kind)
    }

    /// The error for a problem at `offset` inside this reader's buffer.
    pub fn error_at(&self, offset: usize, kind: ErrorKind) -> DecodeError {
        match self.origin {
            Origin::File(base) => DecodeError::new(base + offset as u64, kind),
            Origin::Decompressed { batch, at } => {
                DecodeError { position: batch, decompressed_at: Some(at + offset as u64), kind }
            }
        }
    }

    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(ErrorKind::Truncated { needed: n as u64, available: self.remaining() as u64 }));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The unread rest of the buffer, not consumed.
    pub fn rest_slice(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// The rest of the buffer, consumed.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// A sub-reader over the next `n` bytes, keeping absolute positions.
    #[inline]
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>> {
        let start = self.pos;
        let buf = self.take(n)?;
        let origin = match self.origin {
            Origin::File(base) => Origin::File(base + start as u64),
            Origin::Decompressed { batch, at } => Origin::Decompressed { batch, at: at + start as u64 },
        };
        Ok(Reader { buf, pos: 0, origin })
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    #[inline]
    pub fn i8(&mut self) -> Result<i8> {
        Ok(self.u8()? as i8)
    }
    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    pub fn uuid(&mut self) -> Result<[u8; 16]> {
        self.array()
    }

    /// Unsigned LEB128 of at most `max_bytes` bytes. Most record fields fit
    /// one byte, so that case is tried first.
    #[inline]
    fn leb128(&mut self, max_bytes: usize) -> Result<u64> {
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.leb128_slow(max_bytes)
    }

    fn leb128_slow(&mut self, max_bytes: usize) -> Result<u64> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..max_bytes {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.error(ErrorKind::Truncated { needed: 1, available: 0 }));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error_at(start, ErrorKind::VarintTooLong))
    }

    /// Zigzag varint (int32), as in v2 record fields.
    #[inline]
    pub fn varint(&mut self) -> Result<i32> {
        let raw = self.leb128(5)? as u32;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// Zigzag varlong (int64).
    #[inline]
    pub fn varlong(&mut self) -> Result<i64> {
        let raw = self.leb128(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// Unsigned varint (int32 range), as in flexible protocol messages.
    pub fn uvarint(&mut self) -> Result<u32> {
        Ok(self.leb128(5)? as u32)
    }

    /// A zigzag-varint length followed by that many bytes; -1 is null.
    #[inline]
    pub fn varint_bytes(&mut self) -> Result<Option<&'a [u8]>> {
        let start = self.pos;
        let len = self.varint()?;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(self.error_at(start, ErrorKind::BadLength(n.into()))),
            n => self.take(n as usize).map(Some),
        }
    }

    /// An int32 length followed by that many bytes; -1 is null (legacy messages).
    pub fn i32_bytes(&mut self) -> Result<Option<&'a [u8]>> {
        let start = self.pos;
        let len = self.i32()?;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(self.error_at(start, ErrorKind::BadLength(n.into()))),
            n => self.take(n as usize).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints_match_kafka() {
        // Values from Kafka's ByteUtilsTest: 0 -> 00, -1 -> 01, 1 -> 02, 63 -> 7e, -64 -> 7f, 64 -> 8001.
        for (bytes, v) in [
            (&[0x00][..], 0),
            (&[0x01], -1),
            (&[0x02], 1),
            (&[0x7e], 63),
            (&[0x7f], -64),
            (&[0x80, 0x01], 64),
            (&[0xfe, 0xff, 0xff, 0xff, 0x0f], i32::MAX),
            (&[0xff, 0xff, 0xff, 0xff, 0x0f], i32::MIN),
        ] {
            assert_eq!(Reader::new(bytes, 0).varint().unwrap(), v, "{bytes:02x?}");
        }
        let max = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max, 0).varlong().unwrap(), i64::MAX);
    }

    #[test]
    fn overlong_varint_is_an_error_at_its_start() {
        let bytes = [0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        let mut r = Reader::new(&bytes, 100);
        r.u8().unwrap();
        let e = r.varint().unwrap_err();
        assert_eq!(e.position, 101);
        assert_eq!(e.kind, ErrorKind::VarintTooLong);
    }

    #[test]
    fn truncated_reads_name_the_position() {
        let mut r = Reader::new(&[1, 2, 3], 40);
        r.u8().unwrap();
        let e = r.i32().unwrap_err();
        assert_eq!(e.position, 41);
        assert!(matches!(e.kind, ErrorKind::Truncated { needed: 4, available: 2 }));
    }

    #[test]
    fn negative_lengths_other_than_minus_one_are_rejected() {
        let mut r = Reader::new(&[0x03], 0); // zigzag -2
        assert!(matches!(r.varint_bytes().unwrap_err().kind, ErrorKind::BadLength(-2)));
        assert_eq!(Reader::new(&[0x01], 0).varint_bytes().unwrap(), None);
    }
}
