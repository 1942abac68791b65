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
fn as_text(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    let printable = s.chars().all(|c| !c.is_control() || escape_of(c).is_some());
    printable.then_some(s)
}

/// Appends `s` to `out` escaped, at most `budget` columns; returns the
/// columns used and whether all of `s` fit.
fn push_text(out: &mut String, s: &str, budget: usize) -> (usize, bool) {
    let mut used = 0;
    for c in s.chars() {
        if let Some(e) = escape_of(c) {
            if used + e.len() > budget {
                return (used, false);
            }
            out.push_str(e);
            used += e.len();
        } else if is_bidi(c) || c.is_control() {
            let e = format!("\\u{{{:x}}}", c as u32);
            if used + e.len() > budget {
                return (used, false);
            }
            out.push_str(&e);
            used += e.len();
        } else {
            let w = c.width().unwrap_or(0);
            if used + w > budget {
                return (used, false);
            }
            out.push(c);
            used += w;
        }
    }
    (used, true)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, bytes: &[u8], prefix: bool, budget: usize) -> (usize, bool) {
    let p = if prefix { 2 } else { 0 };
    if budget < p {
        return (0, bytes.is_empty() && !prefix);
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

/// Shows `bytes` in `enc` by the rule above, in at most `max` columns
/// (`None`: whole). `size` is the whole size when `bytes` is already only
/// a prefix of the value (a preview), so that the cut says so.
pub fn show(bytes: Option<&[u8]>, enc: Encoding, max: Option<usize>, size: Option<usize>) -> Shown {
    let Some(bytes) = bytes else {
        return Shown { text: NULL_MARK.into(), width: 1, null: true };
    };
    let whole = size.unwrap_or(bytes.len());
    let mut out = String::new();
    let attempt = |out: &mut String, budget: usize| -> (usize, bool) {
        match enc {
            Encoding::None => (0, true),
            Encoding::Hex => push_hex(out, bytes, false, budget),
            Encoding::Base64 => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                push_text(out, &b64, budget)
            }
            Encoding::Utf8 | Encoding::Json => match as_text(bytes) {
                Some(s) => push_text(out, s, budget),
                None => push_hex(out, bytes, true, budget),
            },
        }
    };
    let (width, fit) = attempt(&mut out, max.unwrap_or(usize::MAX));
    if fit && whole == bytes.len() {
        return Shown { text: out, width, null: false };
    }
    // Cut: redo within the room the suffix leaves.
    let suffix = format!("… ({})", super::count(whole as u64, "byte"));
    let room = max.unwrap_or(usize::MAX).saturating_sub(suffix.chars().count());
    out.clear();
    let (width, _) = attempt(&mut out, room);
    if max.is_some_and(|m| m < suffix.chars().count() + 1) {
        // No room for the size: the ellipsis alone says it is cut.
        out.clear();
        let m = max.unwrap_or(1);
        let (width, _) = attempt(&mut out, m.saturating_sub(1));
        out.push('…');
        return Shown { text: out, width: width + 1, null: false };
    }
    out.push_str(&suffix);
    Shown { width: width + suffix.chars().count(), text: out, null: false }
}

/// Text that is already text (decoded records, checkpoint lines): escaped
/// by the same rule and cut to `max` columns.
pub fn show_str(s: &str, max: Option<usize>) -> Shown {
    show(Some(s.as_bytes()), Encoding::Utf8, max, None).text_if_text(s, max)
}

impl Shown {
    /// Decoded text may hold characters the byte rule would show as hex
    /// (a NUL inside a JSON string): text stays text, with every control
    /// escaped.
    fn text_if_text(self, s: &str, max: Option<usize>) -> Shown {
        if as_text(s.as_bytes()).is_some() {
            return self;
        }
        let mut out = String::new();
        let (width, fit) = push_text(&mut out, s, max.unwrap_or(usize::MAX));
        if fit {
            return Shown { text: out, width, null: false };
        }
        out.clear();
        let (width, _) = push_text(&mut out, s, max.unwrap_or(1).saturating_sub(1));
        out.push('…');
        Shown { text: out, width: width + 1, null: false }
    }
}

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(show_str("a\u{0}b", None).text, "a\\u{0}b");
        assert_eq!(show_str("plain", Some(3)).text, "pl…");
    }
}
