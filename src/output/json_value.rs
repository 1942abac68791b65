//! `--value-encoding json`: a key, value or header value that is one JSON
//! document goes into the output as JSON, without the whitespace between its
//! tokens (a value's own line breaks must not break a JSON Lines line).
//!
//! The check is a one-pass validator of the grammar serde_json accepts when
//! it skips a value (`IgnoredAny`: RFC 8259, any nesting depth, `\u`
//! escapes not paired up), plus valid UTF-8, which serde_json does not check
//! inside skipped strings. String contents, most of a document's bytes, are
//! skipped a vector at a time (`simd::string_stop`), and a document with no
//! whitespace between its tokens (what producers write) is copied whole: no
//! escaping, no byte-at-a-time copy.

use super::simd::{is_ascii, string_stop};

/// Append `doc` minified and return true if it is one JSON value in valid
/// UTF-8; otherwise append nothing and return false.
pub fn write(out: &mut Vec<u8>, doc: &[u8]) -> bool {
    if !(is_ascii(doc) || std::str::from_utf8(doc).is_ok()) {
        return false;
    }
    match validate(doc) {
        None => false,
        Some(Spaces::None) => {
            out.extend_from_slice(doc);
            true
        }
        Some(Spaces::Some) => {
            minify(out, doc);
            true
        }
    }
}

/// Whether a valid document has whitespace outside its strings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Spaces {
    None,
    Some,
}

/// The open arrays and objects, innermost last: a bit per level (1 for an
/// object), 64 levels in a word before any allocation.
struct Stack {
    depth: usize,
    low: u64,
    deep: Vec<bool>,
}

impl Stack {
    fn push(&mut self, object: bool) {
        if self.depth < 64 {
            self.low = self.low & !(1 << self.depth) | (u64::from(object) << self.depth);
        } else {
            self.deep.push(object);
        }
        self.depth += 1;
    }

    /// The innermost open container: `Some(true)` for an object.
    fn top(&self) -> Option<bool> {
        match self.depth {
            0 => None,
            d if d <= 64 => Some(self.low >> (d - 1) & 1 == 1),
            _ => self.deep.last().copied(),
        }
    }

    fn pop(&mut self) {
        if self.depth > 64 {
            self.deep.pop();
        }
        self.depth -= 1;
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r')
}

/// `Some` (saying whether whitespace was met outside strings) if `d` is one
/// JSON value with only whitespace around it, `None` otherwise. Follows
/// serde_json's `ignore_value`: the same errors make a document invalid.
fn validate(d: &[u8]) -> Option<Spaces> {
    let mut i = 0;
    let mut spaces = false;
    let mut stack = Stack { depth: 0, low: 0, deep: Vec::new() };
    let skip = |i: &mut usize, spaces: &mut bool| {
        while *i < d.len() && is_space(d[*i]) {
            *i += 1;
            *spaces = true;
        }
    };
    // After `{` or `,` in an object: the member's key and its colon.
    let key = |i: &mut usize, spaces: &mut bool| -> Option<()> {
        skip(i, spaces);
        if d.get(*i) != Some(&b'"') {
            return None;
        }
        *i = string(d, *i + 1)?;
        skip(i, spaces);
        if d.get(*i) != Some(&b':') {
            return None;
        }
        *i += 1;
        Some(())
    };
    'value: loop {
        skip(&mut i, &mut spaces);
        match *d.get(i)? {
            b'n' => i = literal(d, i, b"null")?,
            b't' => i = literal(d, i, b"true")?,
            b'f' => i = literal(d, i, b"false")?,
            b'-' | b'0'..=b'9' => i = number(d, i)?,
            b'"' => i = string(d, i + 1)?,
            open @ (b'[' | b'{') => {
                i += 1;
                let object = open == b'{';
                skip(&mut i, &mut spaces);
                let close = if object { b'}' } else { b']' };
                if d.get(i) == Some(&close) {
                    i += 1;
                } else {
                    stack.push(object);
                    if object {
                        key(&mut i, &mut spaces)?;
                    }
                    continue 'value;
                }
            }
            _ => return None,
        }
        // After a value: a comma and the next one, or the ends of
        // containers, or the end of the document.
        loop {
            skip(&mut i, &mut spaces);
            let Some(object) = stack.top() else {
                return (i == d.len()).then_some(if spaces { Spaces::Some } else { Spaces::None });
            };
            match *d.get(i)? {
                b',' => {
                    i += 1;
                    if object {
                        key(&mut i, &mut spaces)?;
                    }
                    continue 'value;
                }
                b']' if !object => stack.pop(),
                b'}' if object => stack.pop(),
                _ => return None,
            }
            i += 1;
        }
    }
}

/// The index after `word` at `i`.
fn literal(d: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    d[i..].starts_with(word).then_some(i + word.len())
}

/// The index after the number at `i`: `-`? (`0` | [1-9][0-9]*) (`.`
/// [0-9]+)? ([eE] [+-]? [0-9]+)?, and no digit after a leading `0`.
fn number(d: &[u8], mut i: usize) -> Option<usize> {
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < d.len() && d[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if d[i] == b'-' {
        i += 1;
    }
    match d.get(i) {
        Some(b'0') => {
            i += 1;
            if d.get(i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return None,
    }
    if d.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    if matches!(d.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(d.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    Some(i)
}

/// The index after the closing quote of the string whose contents start at
/// `i`; `None` at a control byte, a bad escape or the end of `d`.
fn string(d: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += string_stop(&d[i..]);
        match *d.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match *d.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = d.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            },
            _ => return None,
        }
    }
}

/// Append valid JSON `doc` without the whitespace outside its strings:
/// the runs between whitespace are copied whole, strings skipped by the
/// vector scan.
fn minify(out: &mut Vec<u8>, doc: &[u8]) {
    out.reserve(doc.len());
    let (mut i, mut start) = (0, 0);
    while i < doc.len() {
        match doc[i] {
            b'"' => {
                // Valid, so the string ends before the document does.
                i = string(doc, i + 1).unwrap_or(doc.len());
            }
            b if is_space(b) => {
                out.extend_from_slice(&doc[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&doc[start..]);
}

#[cfg(test)]
mod tests {
    use super::write;
    use proptest::prelude::*;

    /// What the writer did before: serde_json's skip of a value as the
    /// check, a byte loop for the minifying; plus the UTF-8 check.
    fn reference(doc: &[u8]) -> Option<Vec<u8>> {
        serde_json::from_slice::<serde::de::IgnoredAny>(doc).ok()?;
        std::str::from_utf8(doc).ok()?;
        let mut out = Vec::new();
        let (mut in_string, mut escaped) = (false, false);
        for &b in doc {
            if in_string {
                out.push(b);
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                in_string = b == b'"';
                out.push(b);
            }
        }
        Some(out)
    }

    fn check(doc: &[u8]) {
        let mut out = b"x".to_vec();
        let ok = write(&mut out, doc);
        let want = reference(doc);
        assert_eq!(ok, want.is_some(), "{:?}", String::from_utf8_lossy(doc));
        assert_eq!(&out[1..], want.as_deref().unwrap_or_default(), "{:?}", String::from_utf8_lossy(doc));
    }

    #[test]
    fn valid_and_invalid_documents_as_serde_json_says() {
        let docs: &[&[u8]] = &[
            b"",
            b" ",
            b"null",
            b"nul",
            b"nulll",
            b"true",
            b"false",
            b"tru",
            b" 42 ",
            b"-0",
            b"-",
            b"01",
            b"1.",
            b"1.5",
            b"1e",
            b"1e+",
            b"1E-7",
            b"-1.5e10",
            b"0.0e0",
            b"+1",
            b".5",
            b"\"\"",
            b"\"a",
            b"\"\\u00e9\"",
            b"\"\\ud800\"",
            b"\"\\u12\"",
            b"\"\\u12g4\"",
            b"\"\\x\"",
            b"\"\\/\"",
            b"\"a\x01b\"",
            b"\"a\x7fb\"",
            b"[]",
            b"[ ]",
            b"[1,]",
            b"[,1]",
            b"[1 2]",
            b"[1,2]",
            b"{}",
            b"{ }",
            b"{,}",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":1 \"b\":2}",
            b"{\"a\" : [1, {\"b\": null}] ,\n \"c\":\"x y\\\" z\"}",
            b"{1:2}",
            b"[1]]",
            b"[[1]",
            b"{\"a\":1}}",
            b"1 2",
            b"\"\xff\"",
            b"\"\xc3\xa9\"",
            b"[\"\xed\xa0\x80\"]",
            b"\xef\xbb\xbf1",
            b"[1]\n",
            b"\t{}\r",
            b"[\"a\\\\\"]",
            b"[\"a\\\\\" , \"b\"]",
            b"nan",
            b"Infinity",
            b"{\"a\":tru}",
        ];
        for d in docs {
            check(d);
        }
    }

    #[test]
    fn deep_nesting_past_the_word_of_levels() {
        for depth in [63, 64, 65, 130, 1000] {
            let mut doc = "[{\"k\":".repeat(depth);
            doc.push('1');
            doc.push_str(&"}]".repeat(depth));
            check(doc.as_bytes());
            // One level left open, one closed too many, a wrong closer.
            check(&doc.as_bytes()[..doc.len() - 1]);
            check(format!("{doc}]").as_bytes());
            check(doc.replacen("}]", "]}", 1).as_bytes());
        }
    }

    /// JSON documents, compact or spread out, with long strings that cross
    /// vector boundaries, and mutations of them that are mostly invalid.
    fn documents() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
            "[a-z\"\\\\ ]{0,70}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\"]{0,40}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        });
        (value, any::<bool>(), proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3)).prop_map(
            |(v, pretty, edits)| {
                let mut doc = if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }.unwrap();
                for (at, b) in edits {
                    if !doc.is_empty() {
                        let at = at % doc.len();
                        doc[at] = b;
                    }
                }
                doc
            },
        )
    }

    proptest! {
        #[test]
        fn random_documents_match_serde_json(doc in documents()) {
            check(&doc);
        }

        #[test]
        fn random_bytes_match_serde_json(doc in proptest::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), Just(b'['), Just(b']'), Just(b'{'), Just(b'}'), Just(b':'),
                Just(b','), Just(b' '), Just(b'1'), Just(b'u'), any::<u8>()], 0..40)) {
            check(&doc);
        }
    }
}
