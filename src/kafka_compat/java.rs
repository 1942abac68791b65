//! What makes `kafka-dump-log` behave like the Java tool rather than like a
//! reader of the format: Java exceptions ([`Exception`], with the texts
//! Kafka's classes throw), `java.io.File` paths ([`JFile`]), Java number
//! parsing (`Long.parseLong`, `Integer.parseInt`), `DefaultRecordBatch`'s
//! int sequence arithmetic, and values printed as Java prints them
//! (numbers, booleans, `OptionalLong`, `new String(bytes, UTF_8)`).

use std::io;
use std::path::PathBuf;

use kseg::format::error::{DecodeError, ErrorKind};

use crate::output::simd::is_ascii;

/// A failure that aborts the run, as a Java exception would: the class is
/// printed on stderr (tests grep for it, e.g. `NoSuchFileException`).
#[derive(Debug, Clone)]
pub struct Exception {
    pub class: &'static str,
    /// `None` prints as Java's `null`.
    pub message: Option<String>,
}

impl Exception {
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        Exception { class, message: Some(message.into()) }
    }

    pub(super) fn bare(class: &'static str) -> Self {
        Exception { class, message: None }
    }

    /// What the tool prints for an exception that ends the run: it leaves
    /// `main` (in the Scala tool of 4.0–4.1 as in the Java tool of 4.3 on,
    /// whose `main` `kafka-dump-log.sh` runs), and the JVM prints `Exception
    /// in thread "main"` and the exception's `toString()`, `class: message`
    /// (the class alone when the message is null). The stack frames are left
    /// out: kseg has none to show.
    pub fn render(&self) -> String {
        match &self.message {
            Some(m) => format!("Exception in thread \"main\" {}: {m}\n", self.class),
            None => format!("Exception in thread \"main\" {}\n", self.class),
        }
    }

    pub(super) fn io(e: io::Error, path: &str) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => Exception::new("java.nio.file.NoSuchFileException", path),
            io::ErrorKind::PermissionDenied => Exception::new("java.nio.file.AccessDeniedException", path),
            _ if e.raw_os_error() == Some(21) => Exception::new("java.io.IOException", "Is a directory"),
            _ => Exception::new("java.io.IOException", e.to_string()),
        }
    }

    pub(super) fn illegal_argument(message: impl Into<String>) -> Self {
        Exception::new("java.lang.IllegalArgumentException", message)
    }

    fn number_format(input: &str) -> Self {
        Exception::new("java.lang.NumberFormatException", format!("For input string: \"{input}\""))
    }

    /// A record-level decode failure, with Kafka's wording where there is one.
    pub(super) fn decode(e: &DecodeError) -> Self {
        const INVALID: &str = "org.apache.kafka.common.InvalidRecordException";
        const KAFKA: &str = "org.apache.kafka.common.KafkaException";
        match &e.kind {
            ErrorKind::PrematureEnd { .. } => {
                Exception::new(INVALID, "Incorrect declared batch size, premature EOF reached")
            }
            ErrorKind::RecordsRemaining(_) => {
                Exception::new(INVALID, "Incorrect declared batch size, records still remaining in file")
            }
            ErrorKind::RecordSizeMismatch { expected, actual } => Exception::new(
                INVALID,
                format!(
                    "Invalid record size: expected to read {expected} bytes in record payload, but instead read {actual}"
                ),
            ),
            ErrorKind::BadRecordCount(n) => {
                Exception::new(INVALID, format!("Found invalid record count {n} in magic v2 batch"))
            }
            ErrorKind::BadCodec(id) => Exception::illegal_argument(format!("Unknown compression type id: {id}")),
            ErrorKind::ZstdInLegacy(m) => Exception::new(
                INVALID,
                format!("Invalid wrapper compressionType found in legacy deep record iterator {m}"),
            ),
            ErrorKind::NullWrapperValue => {
                Exception::new(INVALID, "Found invalid compressed record set with null value")
            }
            ErrorKind::EmptyWrapper => {
                Exception::new(INVALID, "Found invalid compressed record set with no inner records")
            }
            ErrorKind::NestedCompression => Exception::new(INVALID, "Inner messages must not be compressed"),
            ErrorKind::WrapperOffset { wrapper, last_inner } => Exception::new(
                INVALID,
                format!(
                    "Found invalid wrapper offset in compressed v1 message set, wrapper offset '{wrapper}' is less than the last inner message offset '{last_inner}' and it is not zero."
                ),
            ),
            ErrorKind::Control(m) => Exception::new(INVALID, m.clone()),
            ErrorKind::Decompress { .. } | ErrorKind::DecompressLimit(_) => {
                Exception::new(KAFKA, format!("Failed to decompress record stream: {e}"))
            }
            _ => Exception::new(INVALID, e.to_string()),
        }
    }
}

pub type KResult<T> = Result<T, Exception>;

/// A path as `java.io.File` shows it: repeated separators collapsed and a
/// trailing separator removed.
#[derive(Clone, Debug)]
pub struct JFile {
    /// `File.toString()`.
    pub shown: String,
    pub path: PathBuf,
}

impl JFile {
    pub fn new(arg: &str) -> Self {
        let mut shown = String::with_capacity(arg.len());
        for c in arg.chars() {
            if c == '/' && shown.ends_with('/') {
                continue;
            }
            shown.push(c);
        }
        if shown.len() > 1 && shown.ends_with('/') {
            shown.pop();
        }
        let path = PathBuf::from(&shown);
        JFile { shown, path }
    }

    /// `File.getName()`: the text after the last separator.
    pub fn name(&self) -> &str {
        self.shown.rsplit('/').next().unwrap_or("")
    }

    /// `File.getAbsolutePath()`: not canonicalised.
    pub fn absolute(&self) -> String {
        if self.shown.starts_with('/') {
            return self.shown.clone();
        }
        let cwd = std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        if self.shown.is_empty() { cwd } else { format!("{}/{}", cwd.trim_end_matches('/'), self.shown) }
    }

    /// `File.getParent()` of the absolute file, for sibling files.
    pub(super) fn sibling(&self, name: &str) -> JFile {
        let abs = self.absolute();
        let parent = match abs.rfind('/') {
            Some(0) => "/".to_string(),
            Some(i) => abs[..i].to_string(),
            None => String::new(),
        };
        if parent.ends_with('/') {
            JFile::new(&format!("{parent}{name}"))
        } else {
            JFile::new(&format!("{parent}/{name}"))
        }
    }
}

/// Kafka's `FileRecords.toString()`, which some exception messages include.
pub(super) fn file_records_string(size: u64, file: &str) -> String {
    format!("FileRecords(size={size}, file={file}, start=0, end=2147483647)")
}

/// `Long.parseLong(name.split("\\.")[0])`: a segment file's base offset.
pub(super) fn base_offset(name: &str) -> KResult<i64> {
    let digits = name.split('.').next().unwrap_or("");
    parse_long(digits)
}

/// `Long.parseLong`: an optional sign and decimal digits only.
pub(super) fn parse_long(s: &str) -> KResult<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Exception::number_format(s));
    }
    s.parse::<i64>().map_err(|_| Exception::number_format(s))
}

/// `Integer.parseInt`.
pub(super) fn parse_int(s: &str) -> KResult<i32> {
    let v = parse_long(s)?;
    i32::try_from(v).map_err(|_| Exception::number_format(s))
}

/// `DefaultRecordBatch.incrementSequence`, in Java int arithmetic.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX.wrapping_sub(increment) {
        increment.wrapping_sub(i32::MAX.wrapping_sub(sequence)).wrapping_sub(1)
    } else {
        sequence.wrapping_add(increment)
    }
}

/// `DefaultRecordBatch.decrementSequence`.
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        i32::MAX.wrapping_sub(decrement.wrapping_sub(sequence)).wrapping_add(1)
    } else {
        sequence.wrapping_sub(decrement)
    }
}

/// A number as Java's `toString` prints it.
#[inline]
pub(super) fn num(buf: &mut Vec<u8>, v: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
pub(super) fn boolean(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// `OptionalLong.toString()`.
pub(super) fn optional_long(buf: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            buf.extend_from_slice(b"OptionalLong[");
            num(buf, v);
            buf.push(b']');
        }
        None => buf.extend_from_slice(b"OptionalLong.empty"),
    }
}

/// UTF-8 with every maximal invalid subsequence replaced by U+FFFD, as
/// `new String(bytes, UTF_8)` does. Valid text is copied as is.
#[inline]
pub(super) fn utf8_lossy(buf: &mut Vec<u8>, bytes: &[u8]) {
    // Copy first, then check the copy while it is in cache: ASCII (the
    // common case) needs no UTF-8 validation.
    let start = buf.len();
    buf.extend_from_slice(bytes);
    if is_ascii(&buf[start..]) || std::str::from_utf8(bytes).is_ok() {
        return;
    }
    buf.truncate(start);
    java_lossy(buf, bytes);
}

/// Invalid UTF-8 replaced as Java's decoder (`new String(bytes, UTF_8)`)
/// does: like Rust's lossy decoding, one U+FFFD per maximal invalid
/// subsequence, except for a UTF-8-encoded surrogate (`ED` then `A0..BF`),
/// which Java takes as one malformed sequence of up to three bytes: the
/// third too when it is a continuation byte. Measured on Java 17:
/// `ED A0 80` → one U+FFFD; `ED A0 41` → U+FFFD `A`; `ED A0 C0` → two;
/// `ED 9F BF` → U+D7FF.
fn java_lossy(buf: &mut Vec<u8>, bytes: &[u8]) {
    const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => return buf.extend_from_slice(s.as_bytes()),
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                buf.extend_from_slice(valid);
                buf.extend_from_slice(REPLACEMENT);
                let len = match bad {
                    [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] => 3,
                    [0xED, 0xA0..=0xBF, ..] => 2,
                    _ => e.error_len().unwrap_or(bad.len()),
                };
                rest = &bad[len..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogates_are_replaced_as_java_replaces_them() {
        let java = |b: &[u8]| {
            let mut out = Vec::new();
            utf8_lossy(&mut out, b);
            String::from_utf8(out).unwrap()
        };
        // Java 17's `new String(bytes, UTF_8)`, as measured (the real-Kafka issue).
        assert_eq!(java(b"\xED\xA0\x80"), "\u{FFFD}");
        assert_eq!(java(b"\xED\xBF\xBF"), "\u{FFFD}");
        assert_eq!(java(b"\xED\xA0"), "\u{FFFD}");
        assert_eq!(java(b"\xED\xA0\x41"), "\u{FFFD}A");
        assert_eq!(java(b"\xED\xA0\xC0"), "\u{FFFD}\u{FFFD}");
        assert_eq!(java(b"\xED\xA0\x80\x80"), "\u{FFFD}\u{FFFD}");
        assert_eq!(java(b"\xED\xA0\x80\xED\xB0\x80"), "\u{FFFD}\u{FFFD}");
        assert_eq!(java(b"\xED\x9F\xBF"), "\u{D7FF}");
        // Everything else as Rust's lossy decoding.
        for b in [&b"a\xFF\xFEb"[..], b"\xE2\x82", b"\xF0\x9F\x98", b"\xC0\xAF", b"ok \xF4\x90\x80\x80"] {
            assert_eq!(java(b), String::from_utf8_lossy(b), "{b:?}");
        }
    }

    #[test]
    fn sequences_wrap_as_in_java() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(decrement_sequence(-1, 0), i32::MAX);
        assert_eq!(decrement_sequence(10, 3), 7);
        assert_eq!(decrement_sequence(1, 3), i32::MAX - 1);
    }

    #[test]
    fn java_file_paths() {
        assert_eq!(JFile::new("a//b///c/").shown, "a/b/c");
        assert_eq!(JFile::new("/").shown, "/");
        assert_eq!(JFile::new("/x/y/00000000000000000000.log").name(), "00000000000000000000.log");
        assert_eq!(JFile::new("/x/y/0.index").sibling("0.log").shown, "/x/y/0.log");
    }

    #[test]
    fn long_parsing_is_java_like() {
        assert_eq!(parse_long("00000000000000000042").unwrap(), 42);
        assert_eq!(parse_long("+7").unwrap(), 7);
        assert!(parse_long("").is_err());
        assert!(parse_long("foo").is_err());
        assert!(parse_long("99999999999999999999").is_err());
    }

    #[test]
    fn lossy_utf8_matches_java_replacement() {
        let mut b = Vec::new();
        utf8_lossy(&mut b, b"a\xffb\xe2\x82");
        assert_eq!(String::from_utf8(b).unwrap(), "a\u{FFFD}b\u{FFFD}");
    }
}
