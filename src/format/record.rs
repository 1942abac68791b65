//! Magic v2 records: zigzag-varint framed, borrowed from the batch buffer.

use crate::format::bytes::Reader;
use crate::format::control::ControlRecord;
use crate::format::error::{DecodeError, ErrorKind, Result};

/// One record as a consumer sees it. Key, value and headers borrow from the
/// segment (uncompressed batches) or from the batch's decompression buffer.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    pub offset: i64,
    /// The timestamp a consumer reports: LogAppendTime batches report the
    /// batch's max timestamp; magic v0 messages have none (-1).
    pub timestamp: i64,
    pub attributes: i8,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Headers<'a>,
    /// Size of the record's bytes (v2: length varint included; legacy: the
    /// whole message with its log overhead).
    pub size: usize,
    /// For control batches: the decoded key and value.
    pub control: Option<ControlRecord>,
    /// For legacy (v0/v1) records: the whole message, log overhead included,
    /// so that a caller can show its own CRC (an inner message of a
    /// compressed wrapper has one). `None` for v2 records.
    pub message: Option<&'a [u8]>,
}

/// Record headers, checked when the record was read and iterated lazily.
#[derive(Clone, Copy, Debug, Default)]
pub struct Headers<'a> {
    count: u32,
    bytes: &'a [u8],
}

impl<'a> Headers<'a> {
    pub fn len(&self) -> usize {
        self.count as usize
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// (key, value) pairs in stored order; keys may repeat, values may be null.
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter { r: Cursor { buf: self.bytes, pos: 0 }, left: self.count }
    }
}

pub struct HeaderIter<'a> {
    r: Cursor<'a>,
    left: u32,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The bytes were validated when the record was read; a failure here cannot
        // happen, and ends the iteration rather than panicking.
        let key = self.r.bytes(false)??;
        let value = self.r.bytes(true)?;
        Some((key, value))
    }
}

#[inline]
fn read_headers<'a>(r: &mut Reader<'a>) -> Result<Headers<'a>> {
    let at = r.offset();
    let count = r.varint()?;
    if count < 0 || count as usize > r.remaining() {
        return Err(r.error_at(at, ErrorKind::Other(format!("invalid header count {count}"))));
    }
    if count == 0 {
        return Ok(Headers::default());
    }
    let start = r.offset();
    let mut probe = r.clone();
    for _ in 0..count {
        let key_at = probe.offset();
        match probe.varint_bytes()? {
            Some(_) => {}
            None => return Err(probe.error_at(key_at, ErrorKind::Other("null header key".into()))),
        }
        probe.varint_bytes()?;
    }
    let len = probe.offset() - start;
    let bytes = r.take(len)?;
    Ok(Headers { count: count as u32, bytes })
}

/// What [`scan`] learns from the records of a well-formed batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    pub count: u32,
    /// The largest `base_timestamp + timestamp_delta` (wrapping, as
    /// [`RecordIter`] computes a CreateTime timestamp).
    pub max_timestamp: i64,
    /// The first record whose offset is not above the previous one or lies
    /// outside `base_offset..=last_offset`.
    pub out_of_order: Option<i64>,
}

/// Walk the `declared` records of an uncompressed (or already decompressed)
/// records section, checking exactly what [`RecordIter`] checks: every
/// varint and length inside its record, the fields filling the record's
/// length, no null header key, nothing after the last record. `None` when
/// anything is wrong; the iterator then says what and where.
///
/// This is verify's hot path: one pass with no `Record` built and no error
/// value on the way, several times cheaper per record than the iterator's
/// error-reporting path. `tests/properties.rs` holds it to the same verdict
/// as [`RecordIter::reference`] on generated and mutated batches. Control
/// records are not decoded here: use the iterator for them.
pub fn scan(bytes: &[u8], declared: u32, base_offset: i64, last_offset: i64, base_timestamp: i64) -> Option<Scan> {
    let mut max_timestamp = i64::MIN;
    let mut order = OffsetOrder::new(base_offset, last_offset);
    let complete = visit(bytes, declared, |f| {
        max_timestamp = max_timestamp.max(base_timestamp.wrapping_add(f.timestamp_delta));
        order.see(base_offset.wrapping_add(i64::from(f.offset_delta)));
    });
    complete.then_some(Scan { count: declared, max_timestamp, out_of_order: order.first_bad })
}

/// Follows the record offsets of a batch, in stored order, and keeps the
/// first one that is not above the previous one or lies outside
/// `base_offset..=last_offset`.
#[derive(Clone, Copy, Debug)]
pub struct OffsetOrder {
    base_offset: i64,
    last_offset: i64,
    prev: Option<i64>,
    pub first_bad: Option<i64>,
}

impl OffsetOrder {
    pub fn new(base_offset: i64, last_offset: i64) -> Self {
        OffsetOrder { base_offset, last_offset, prev: None, first_bad: None }
    }

    #[inline]
    pub fn see(&mut self, offset: i64) {
        if self.first_bad.is_none()
            && (offset < self.base_offset || offset > self.last_offset || self.prev.is_some_and(|p| offset <= p))
        {
            self.first_bad = Some(offset);
        }
        self.prev = Some(offset);
    }
}

/// Call `f` with each of the `declared` records of a records section, in
/// order, up to the first one [`RecordIter`] would reject. `true` when all
/// of them were well formed and nothing follows the last: the records `f`
/// saw are then exactly the iterator's, without a [`Record`] or an error
/// value built for each. For per-record tallies (stats, verify).
#[inline]
pub fn visit<'a>(bytes: &'a [u8], declared: u32, mut f: impl FnMut(&Fields<'a>)) -> bool {
    let mut pos = 0;
    for _ in 0..declared {
        let Some(fields) = fields(bytes, pos) else { return false };
        pos = fields.end;
        f(&fields);
    }
    pos == bytes.len()
}

/// One well-formed record's fields as stored, borrowed from the records
/// section: what [`visit`] hands out without building a [`Record`].
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    pub attributes: i8,
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Headers<'a>,
    /// Where the record ends in the section.
    end: usize,
    /// The record's bytes, length varint included.
    pub size: usize,
}

/// Read the record at `pos` of a records section with the iterator's rules
/// and no error values: `None` for anything the iterator would reject.
#[inline(always)]
fn fields(bytes: &[u8], pos: usize) -> Option<Fields<'_>> {
    let mut c = Cursor { buf: bytes, pos };
    let length = c.varint()?;
    if length < 0 {
        return None;
    }
    let end = c.pos.checked_add(length as usize).filter(|&e| e <= bytes.len())?;
    // The record's fields are read against its own end, as the reference
    // path's sub-reader does.
    let mut r = Cursor { buf: &bytes[..end], pos: c.pos };
    let attributes = *r.buf.get(r.pos)? as i8;
    r.pos += 1;
    let timestamp_delta = r.varlong()?;
    let offset_delta = r.varint()?;
    let key = r.bytes(true)?;
    let value = r.bytes(true)?;
    let count = r.varint()?;
    if count < 0 || count as usize > end - r.pos {
        return None;
    }
    let headers_at = r.pos;
    for _ in 0..count {
        r.bytes(false)?;
        r.bytes(true)?;
    }
    if r.pos != end {
        return None;
    }
    let headers = Headers { count: count as u32, bytes: if count == 0 { &[] } else { &bytes[headers_at..end] } };
    Some(Fields { attributes, timestamp_delta, offset_delta, key, value, headers, end, size: end - pos })
}

/// The scanner's cursor: [`Reader`]'s rules, with `None` for every error.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn leb128(&mut self, max_bytes: usize) -> Option<u64> {
        let b = *self.buf.get(self.pos)?;
        if b < 0x80 {
            self.pos += 1;
            return Some(u64::from(b));
        }
        // Two bytes: lengths of up to 8 KiB, the usual value size.
        if let Some(&b2) = self.buf.get(self.pos + 1)
            && b2 < 0x80
        {
            self.pos += 2;
            return Some(u64::from(b & 0x7f) | u64::from(b2) << 7);
        }
        let mut value: u64 = 0;
        for i in 0..max_bytes {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    #[inline(always)]
    fn varint(&mut self) -> Option<i32> {
        let raw = self.leb128(5)? as u32;
        Some(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    #[inline(always)]
    fn varlong(&mut self) -> Option<i64> {
        let raw = self.leb128(10)?;
        Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// A varint length and that many bytes; -1 (null) only when `nullable`.
    #[inline(always)]
    fn bytes(&mut self, nullable: bool) -> Option<Option<&'a [u8]>> {
        match self.varint()? {
            -1 if nullable => Some(None),
            n if n < 0 => None,
            n => {
                let end = self.pos.checked_add(n as usize).filter(|&e| e <= self.buf.len())?;
                let out = &self.buf[self.pos..end];
                self.pos = end;
                Some(Some(out))
            }
        }
    }
}

/// Iterator over the records of one v2 batch.
pub struct RecordIter<'a> {
    r: Reader<'a>,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    declared: u32,
    read: u32,
    control: bool,
    done: bool,
    /// Read with [`fields`] first; the bounds-checked [`Reader`] path runs
    /// only to say what is wrong with a record that fails it.
    fast: bool,
}

impl<'a> RecordIter<'a> {
    pub(crate) fn new(
        r: Reader<'a>,
        base_offset: i64,
        base_timestamp: i64,
        log_append_time: Option<i64>,
        declared: u32,
        control: bool,
    ) -> Self {
        RecordIter {
            r,
            base_offset,
            base_timestamp,
            log_append_time,
            declared,
            read: 0,
            control,
            done: false,
            fast: true,
        }
    }

    /// The same records read only through the bounds-checked [`Reader`]
    /// path, field by field with an error value at each step: the reference
    /// that the fast path and [`scan`] are tested against.
    pub fn reference(mut self) -> Self {
        self.fast = false;
        self
    }

    fn timestamp(&self, delta: i64) -> i64 {
        match self.log_append_time {
            Some(t) => t,
            None => self.base_timestamp.wrapping_add(delta),
        }
    }

    fn read_one(&mut self) -> Result<Record<'a>> {
        let at = self.r.offset();
        if self.fast
            && let Some(f) = fields(self.r.rest_slice(), 0)
        {
            self.r.take(f.end)?;
            let control = if self.control {
                Some(ControlRecord::parse(f.key, f.value).map_err(|kind| self.r.error_at(at, kind))?)
            } else {
                None
            };
            return Ok(Record {
                offset: self.base_offset.wrapping_add(i64::from(f.offset_delta)),
                timestamp: self.timestamp(f.timestamp_delta),
                attributes: f.attributes,
                key: f.key,
                value: f.value,
                headers: f.headers,
                size: f.size,
                control,
                message: None,
            });
        }
        let length = self.r.varint()?;
        let header_len = self.r.offset() - at;
        if length < 0 {
            return Err(self.r.error_at(at, ErrorKind::BadLength(length.into())));
        }
        if length as usize > self.r.remaining() {
            return Err(self
                .r
                .error_at(at, ErrorKind::PrematureEnd { read: self.read.into(), declared: self.declared.into() }));
        }
        let mut body = self.r.sub(length as usize)?;
        let attributes = body.i8()?;
        let timestamp_delta = body.varlong()?;
        let offset_delta = body.varint()?;
        let key = body.varint_bytes()?;
        let value = body.varint_bytes()?;
        let headers = read_headers(&mut body)?;
        if !body.is_empty() {
            return Err(self.r.error_at(
                at,
                ErrorKind::RecordSizeMismatch {
                    expected: length as u64,
                    actual: (length as usize - body.remaining()) as u64,
                },
            ));
        }
        let timestamp = self.timestamp(timestamp_delta);
        let control = if self.control {
            Some(ControlRecord::parse(key, value).map_err(|kind| self.r.error_at(at, kind))?)
        } else {
            None
        };
        Ok(Record {
            offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp,
            attributes,
            key,
            value,
            headers,
            size: header_len + length as usize,
            control,
            message: None,
        })
    }

    /// Where the reader stands, for error positions after the last record.
    fn error_here(&self, kind: ErrorKind) -> DecodeError {
        self.r.error(kind)
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.read == self.declared {
            self.done = true;
            if !self.r.is_empty() {
                return Some(Err(self.error_here(ErrorKind::RecordsRemaining(self.r.remaining() as u64))));
            }
            return None;
        }
        if self.r.is_empty() {
            self.done = true;
            return Some(Err(
                self.error_here(ErrorKind::PrematureEnd { read: self.read.into(), declared: self.declared.into() })
            ));
        }
        match self.read_one() {
            Ok(rec) => {
                self.read += 1;
                Some(Ok(rec))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
