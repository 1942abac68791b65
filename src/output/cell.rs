//! The one rule for showing keys, values and header values in a terminal,
//! used by every table and by `find-offset`:
//!
//! - text when the bytes are valid UTF-8 and hold no control character but
//!   tab, newline, carriage return, escape and backspace; those, and the
//!   bidirectional controls that reorder a line (U+202A–U+202E,
//!   U+2066–U+2069, U+200E/F, U+061C), are always shown escaped (`\n`,
//!   `\e`, `\u{202e}`), so a value can never move the cursor, recolour the
//!   terminal or flip the line it is on;
//! - `0x` and lower-case hex otherwise (binary, invalid UTF-8, NUL);
//! - null as [`NULL_MARK`], which no byte string shows as (the empty string
//!   shows as nothing);
//! - a cell wider than its column is cut and ends with `…` and the whole
//!   size, so a cut is never mistaken for the value.

use base64::Engine;
use unicode_width::UnicodeWidthChar;

use super::Encoding;

/// What a null key or value shows as (dimmed when colour is on).
pub const NULL_MARK: &str = "∅";

/// A cell's text and its width in terminal columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    pub width: usize,
    /// The bytes were null: the text is [`NULL_MARK`].
    pub null: bool,
}

/// Whether `c` must be shown escaped: a terminal control or a character
/// that reorders the line.
fn escape_of(c: char) -> Option<&'static str> {
    Some(match c {
        '\n' => "\\n",
        '\t' => "\\t",
        '\r' => "\\r",
        '\u{1b}' => "\\e",
        '\u{8}' => "\\b",
        _ => return None,
    })
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// Valid UTF-8 with no control characters but the five shown escaped.
/// One pass over the bytes: C0 controls and DEL are single bytes, C1
/// controls (U+0080–U+009F) are `C2 80`–`C2 9F`.
fn as_text(bytes: &[u8]) -> Option<&str> {
    if let Some(s) = super::simd::printable_ascii(bytes) {
        return Some(s);
    }
    let s = std::str::from_utf8(bytes).ok()?;
    // Eight bytes at a time: a word with no byte below 0x20, no DEL and no
    // 0xC2 (the lead byte of U+0080–U+00BF) needs no closer look.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // Bytes below 0x20 (exact for ASCII bytes; a high byte only ever
        // adds a false alarm), DEL and 0xC2.
        let low = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if low | zero_byte(x ^ (ONES * 0x7f)) | zero_byte(x ^ (ONES * 0xc2)) != 0 && !clean(bytes, at, at + 8) {
            return None;
        }
        at += 8;
    }
    clean(bytes, at, bytes.len()).then_some(s)
}

/// No control character but the five shown escaped starts in
/// `bytes[from..to]` (a C1 control is `C2 80`–`C2 9F`; its second byte may
/// lie past `to`).
fn clean(bytes: &[u8], from: usize, to: usize) -> bool {
    for i in from..to {
        let b = bytes[i];
        let control = (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x1b | 0x08))
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)));
        if control {
            return false;
        }
    }
    true
}

/// Appends `s` to `out` escaped, at most `budget` columns; returns the
/// columns used and whether all of `s` fit.
fn push_text(out: &mut String, s: &str, budget: usize) -> (usize, bool) {
    let mut used = 0;
    // Printable ASCII runs are copied whole: one column per byte.
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Look no further than the room left: a long value is cut anyway.
        let room = (budget - used).saturating_add(1).min(bytes.len() - i);
        let run = bytes[i..i + room].iter().take_while(|&&b| (0x20..0x7f).contains(&b)).count();
        if run > 0 {
            let n = run.min(budget - used);
            out.push_str(&s[i..i + n]);
            used += n;
            if n < run {
                return (used, false);
            }
            i += run;
            continue;
        }
        let c = s[i..].chars().next().unwrap_or('\u{fffd}');
        i += c.len_utf8();
        let (text, w): (std::borrow::Cow<'_, str>, usize) = if let Some(e) = escape_of(c) {
            (e.into(), e.len())
        } else if is_bidi(c) || c.is_control() {
            let e = format!("\\u{{{:x}}}", c as u32);
            let n = e.len();
            (e.into(), n)
        } else {
            let mut buf = [0u8; 4];
            let w = c.width().unwrap_or(0);
            (c.encode_utf8(&mut buf).to_string().into(), w)
        };
        if used + w > budget {
            return (used, false);
        }
        out.push_str(&text);
        used += w;
    }
    (used, true)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, bytes: &[u8], prefix: bool, budget: usize) -> (usize, bool) {
    let p = if prefix { 2 } else { 0 };
    if budget < p {
        return (0, false);
    }
    if prefix {
        out.push_str("0x");
    }
    let n = bytes.len().min((budget - p) / 2);
    out.reserve(n * 2);
    for &b in &bytes[..n] {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    (p + n * 2, n == bytes.len())
}

/// Width and nullness of a cell written by [`show_into`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub width: usize,
    pub null: bool,
}

/// Shows `bytes` in `enc` by the rule above, in at most `max` columns
/// (`None`: whole). `size` is the whole size when `bytes` is already only
/// a prefix of the value (a preview), so that the cut says so.
pub fn show(bytes: Option<&[u8]>, enc: Encoding, max: Option<usize>, size: Option<usize>) -> Shown {
    let mut text = String::new();
    let w = show_into(&mut text, bytes, enc, max, size);
    Shown { text, width: w.width, null: w.null }
}

/// [`show`], appended to `out` (no allocation when `out` has room).
pub fn show_into(
    out: &mut String,
    bytes: Option<&[u8]>,
    enc: Encoding,
    max: Option<usize>,
    size: Option<usize>,
) -> Written {
    let Some(bytes) = bytes else {
        out.push_str(NULL_MARK);
        return Written { width: 1, null: true };
    };
    let mark = out.len();
    let whole = size.unwrap_or(bytes.len());
    let text = match enc {
        Encoding::Utf8 | Encoding::Json => as_text(bytes),
        _ => None,
    };
    let attempt = |out: &mut String, budget: usize| -> (usize, bool) {
        match (enc, text) {
            (Encoding::None, _) => (0, true),
            (Encoding::Hex, _) => push_hex(out, bytes, false, budget),
            (Encoding::Base64, _) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                push_text(out, &b64, budget)
            }
            (_, Some(s)) => push_text(out, s, budget),
            (_, None) => push_hex(out, bytes, true, budget),
        }
    };
    let limit = max.unwrap_or(usize::MAX);
    let (width, fit) = attempt(out, limit);
    if fit && whole == bytes.len() {
        return Written { width, null: false };
    }
    // Cut: redo within the room the suffix leaves.
    out.truncate(mark);
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(whole);
    let unit = if whole == 1 { " byte)" } else { " bytes)" };
    let suffix_w = 3 + digits.len() + unit.len();
    if limit < suffix_w + 1 {
        // No room for the size: the ellipsis alone says it is cut.
        let (width, _) = attempt(out, limit.saturating_sub(1));
        out.push('…');
        return Written { width: width + 1, null: false };
    }
    let (width, _) = attempt(out, limit - suffix_w);
    out.push_str("… (");
    out.push_str(digits);
    out.push_str(unit);
    Written { width: width + suffix_w, null: false }
}

/// Text that is already text (decoded records, checkpoint lines): every
/// control escaped by the same rule (never hex: a NUL inside a decoded
/// string stays text), cut to `max` columns with `…`.
pub fn show_str(out: &mut String, s: &str, max: Option<usize>) -> usize {
    let mark = out.len();
    let (width, fit) = push_text(out, s, max.unwrap_or(usize::MAX));
    if fit {
        return width;
    }
    out.truncate(mark);
    let (width, _) = push_text(out, s, max.unwrap_or(1).saturating_sub(1));
    out.push('…');
    width + 1
}

/// A line of kseg's own text for a terminal (a message naming a file, a
/// heading), with the same controls escaped as in cells but newlines and
/// tabs kept: file and directory names come from the disk, and a name
/// holding an escape sequence must not recolour the terminal or flip the
/// line. Borrowed when nothing needs escaping (nearly always).
pub fn terminal_line(s: &str) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| c != '\n' && c != '\t' && (c.is_control() || is_bidi(c));
    if !s.chars().any(needs) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs(c) {
            out.push(c);
        } else if let Some(e) = escape_of(c) {
            out.push_str(e);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out.into()
}

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_lines_keep_newlines_and_escape_every_other_control() {
        assert!(matches!(terminal_line("a/b\tc\n"), std::borrow::Cow::Borrowed("a/b\tc\n")));
        assert_eq!(terminal_line("t\u{1b}[31mred\u{202e}-0\r\u{9b}\u{7f}"), "t\\e[31mred\\u{202e}-0\\r\\u{9b}\\u{7f}");
    }

    fn utf8(b: &[u8], max: Option<usize>) -> String {
        show(Some(b), Encoding::Utf8, max, None).text
    }

    #[test]
    fn text_hex_and_null_by_one_rule() {
        assert_eq!(utf8(b"hello", None), "hello");
        assert_eq!(utf8(b"", None), "");
        assert_eq!(utf8(b"\x00\x07ab", None), "0x00076162");
        assert_eq!(utf8(b"\xff\xfe", None), "0xfffe");
        assert_eq!(utf8("鍵 🔑".as_bytes(), None), "鍵 🔑");
        let null = show(None, Encoding::Utf8, None, None);
        assert!(null.null);
        assert_eq!(null.text, NULL_MARK);
        // The string "null" is text, not the null mark.
        assert_eq!(utf8(b"null", None), "null");
    }

    #[test]
    fn terminal_controls_are_always_escaped() {
        assert_eq!(utf8(b"a\x1b[31mred\x1b[0m", None), "a\\e[31mred\\e[0m");
        assert_eq!(utf8(b"line\r\nnext\tx\x08", None), "line\\r\\nnext\\tx\\b");
        assert_eq!(utf8("abc\u{202e}def".as_bytes(), None), "abc\\u{202e}def");
        assert_eq!(utf8("x\u{2066}y".as_bytes(), None), "x\\u{2066}y");
        for s in [utf8(b"\x1b]0;title\x07", None), utf8("\u{202e}".as_bytes(), Some(3))] {
            assert!(!s.chars().any(|c| c.is_control() || is_bidi(c)), "{s:?}");
        }
    }

    #[test]
    fn cut_cells_end_with_an_ellipsis_and_the_size() {
        let long = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let s = show(Some(long), Encoding::Utf8, Some(20), None);
        assert_eq!(s.text, "abcdefgh… (36 bytes)");
        assert!(s.width <= 20);
        let s = show(Some(&[0u8; 100]), Encoding::Utf8, Some(24), None);
        assert_eq!(s.text, "0x00000000… (100 bytes)");
        // A preview says the size of the whole value.
        assert_eq!(show(Some(b"abc"), Encoding::Utf8, None, Some(900)).text, "abc… (900 bytes)");
        // Wide characters count twice.
        let s = show(Some("鍵鍵鍵鍵鍵鍵鍵鍵鍵鍵".as_bytes()), Encoding::Utf8, Some(16), None);
        assert!(s.width <= 16 && s.text.ends_with("bytes)"), "{s:?}");
        // Tiny columns keep the ellipsis.
        assert_eq!(show(Some(long), Encoding::Utf8, Some(4), None).text, "abc…");
        assert_eq!(width("鍵a"), 3);
    }

    #[test]
    fn decoded_text_stays_text() {
        let s = |t: &str, max| {
            let mut out = String::new();
            let w = show_str(&mut out, t, max);
            assert_eq!(w, width(&out), "{out}");
            out
        };
        assert_eq!(s("a\u{0}b", None), "a\\u{0}b");
        assert_eq!(s("plain", Some(3)), "pl…");
        assert_eq!(s("\u{85}x", None), "\\u{85}x");
    }

    #[test]
    fn the_word_scan_agrees_with_a_plain_one() {
        let plain = |b: &[u8]| match std::str::from_utf8(b) {
            Ok(s) => s.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{1b}' | '\u{8}')),
            Err(_) => false,
        };
        let mut cases: Vec<Vec<u8>> =
            vec![b"".to_vec(), b"0123456789abcdef".to_vec(), "ünïcödé £ ¢ 鍵".as_bytes().to_vec()];
        for pos in 0..20 {
            for bad in [
                &b"\x00"[..],
                b"\x1f",
                b"\x7f",
                "\u{85}".as_bytes(),
                "\u{9f}".as_bytes(),
                b"\t",
                b"\x1b",
                "£".as_bytes(),
                "\u{a0}".as_bytes(),
            ] {
                let mut v = b"abcdefghijklmnopqrstuvwx".to_vec();
                v.splice(pos..pos, bad.iter().copied());
                cases.push(v);
            }
        }
        for c in cases {
            assert_eq!(as_text(&c).is_some(), plain(&c), "{c:?}");
        }
    }

    #[test]
    fn c1_controls_and_del_make_hex() {
        assert_eq!(utf8("a\u{85}b".as_bytes(), None), "0x61c28562");
        assert_eq!(utf8(b"a\x7fb", None), "0x617f62");
        assert_eq!(utf8("é ü".as_bytes(), None), "é ü");
    }
}
