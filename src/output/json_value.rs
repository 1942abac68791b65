//! `--value-encoding json`: a key, value or header value that is one JSON
//! document goes into the output as JSON, without the whitespace between its
//! tokens (a value's own line breaks must not break a JSON Lines line).
//!
//! The check is a validator of the grammar serde_json accepts when it skips
//! a value (`IgnoredAny`: RFC 8259, any nesting depth, `\u` escapes not
//! paired up), plus valid UTF-8, which serde_json does not check inside
//! skipped strings. It works as simdjson's first stage does: vector
//! compares classify 64 bytes at a time (`simd::json_blocks`), the escaped
//! bytes and the insides of strings follow from those bitmasks by carries
//! and a prefix XOR, so string contents (most of a document's bytes) are
//! never looked at one by one; then a state machine walks only the tokens
//! (operators, string starts, the starts of numbers and literals). A
//! document with no whitespace between its tokens (what producers write) is
//! copied whole: no escaping, no byte-at-a-time copy. The one-pass scalar
//! validator this replaced is the tests' second reference.

use super::simd::{JsonBlock, is_ascii, json_blocks, string_stop};

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

/// The one-pass scalar validator the block validator replaced: the same
/// verdict, a byte (or a vector of string contents) at a time. Kept as the
/// tests' reference.
#[cfg(test)]
fn validate_scalar(d: &[u8]) -> Option<Spaces> {
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

/// What the next token may be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// A value: at the start, after `:`, after `,` in an array.
    Value,
    /// A value or `]`: after `[`.
    ValueOrClose,
    /// A key: after `,` in an object.
    Key,
    /// A key or `}`: after `{`.
    KeyOrClose,
    /// The `:` after a key.
    Colon,
    /// `,` or a closer after a value; nothing more at depth 0.
    After,
}

/// The walk's state, carried from one 64-byte block to the next.
struct Walk<'d> {
    d: &'d [u8],
    expect: Expect,
    stack: Stack,
    /// The first byte of the block is escaped (an odd run of backslashes
    /// ended the previous block).
    escaped_carry: u64,
    /// All ones when the previous block ended inside a string.
    in_string: u64,
    /// 1 when the previous block ended inside a number or literal.
    scalar_carry: u64,
    spaces: bool,
}

/// `Some` (saying whether whitespace was met outside strings) if `d` is one
/// JSON value with only whitespace around it, `None` otherwise. Follows
/// serde_json's `ignore_value`: the same errors make a document invalid.
fn validate(d: &[u8]) -> Option<Spaces> {
    let mut w = Walk::new(d);
    let ok = json_blocks(d, |at, b| w.block(at, b));
    w.finish(ok)
}

/// `validate` with a chosen vector width (`simd::json_blocks_width`).
#[cfg(test)]
fn validate_width(d: &[u8], width: usize) -> Option<Spaces> {
    let mut w = Walk::new(d);
    let ok = super::simd::json_blocks_width(d, width, |at, b| w.block(at, b));
    w.finish(ok)
}

/// Each byte `b` for which `x` has an odd number of set bits at or below
/// `b`: inside a string, given its quotes (a portable prefix XOR).
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

impl<'d> Walk<'d> {
    fn new(d: &'d [u8]) -> Self {
        Walk {
            d,
            expect: Expect::Value,
            stack: Stack { depth: 0, low: 0, deep: Vec::new() },
            escaped_carry: 0,
            in_string: 0,
            scalar_carry: 0,
            spaces: false,
        }
    }

    /// The verdict once every block was seen (`ok`) or one was invalid.
    fn finish(self, ok: bool) -> Option<Spaces> {
        (ok && self.in_string == 0 && self.expect == Expect::After && self.stack.depth == 0)
            .then_some(if self.spaces { Spaces::Some } else { Spaces::None })
    }

    /// The bytes escaped by a backslash: the byte after each odd-length
    /// run of backslashes (simdjson's `find_escaped_branchless`: runs that
    /// start on an odd bit are told apart from those on an even bit by an
    /// addition whose carry ends each run).
    fn escaped(&mut self, backslash: u64) -> u64 {
        const EVEN: u64 = 0x5555_5555_5555_5555;
        let backslash = backslash & !self.escaped_carry;
        let follows = backslash << 1 | self.escaped_carry;
        let odd_starts = backslash & !EVEN & !follows;
        let (even_starts, carry) = odd_starts.overflowing_add(backslash);
        self.escaped_carry = u64::from(carry);
        (EVEN ^ (even_starts << 1)) & follows
    }

    /// One 64-byte block at `at`: false as soon as the document is invalid.
    #[inline(always)]
    fn block(&mut self, at: usize, b: JsonBlock) -> bool {
        let escaped = self.escaped(b.backslash);
        let quote = b.quote & !escaped;
        // The opening quote and the contents, not the closing quote.
        let inside = prefix_xor(quote) ^ self.in_string;
        self.in_string = ((inside as i64) >> 63) as u64;
        if b.control & inside != 0 {
            return false;
        }
        // Escapes inside strings: rare, checked one by one. A backslash
        // outside a string starts or is part of a scalar token and fails
        // there.
        let mut escapes = b.backslash & !escaped & inside;
        while escapes != 0 {
            if !escape(self.d, at + escapes.trailing_zeros() as usize) {
                return false;
            }
            escapes &= escapes - 1;
        }
        if b.space & !inside != 0 {
            self.spaces = true;
        }
        let scalar = b.valid & !(b.space | b.op | b.quote | inside);
        let scalar_starts = scalar & !(scalar << 1 | self.scalar_carry);
        self.scalar_carry = scalar >> 63;
        self.tokens(at, (b.op & !inside) | (quote & inside) | scalar_starts)
    }

    /// The tokens of one block: the state machine in a local, a table
    /// lookup per token; only brackets and scalars leave the fast path.
    #[inline(always)]
    fn tokens(&mut self, at: usize, mut tokens: u64) -> bool {
        let mut state = self.expect as u8;
        while tokens != 0 {
            let i = at + tokens.trailing_zeros() as usize;
            tokens &= tokens - 1;
            let c = self.d[i];
            let e = NEXT[state as usize][CLASS[c as usize] as usize];
            if e <= ERROR {
                state = e;
                continue;
            }
            state = match e {
                COMMA => match self.stack.top() {
                    Some(true) => Expect::Key as u8,
                    Some(false) => Expect::Value as u8,
                    None => ERROR,
                },
                OPEN_OBJECT => {
                    self.stack.push(true);
                    Expect::KeyOrClose as u8
                }
                OPEN_ARRAY => {
                    self.stack.push(false);
                    Expect::ValueOrClose as u8
                }
                CLOSE_EMPTY => {
                    self.stack.pop();
                    Expect::After as u8
                }
                CLOSE_ARRAY | CLOSE_OBJECT if self.stack.top() == Some(e == CLOSE_OBJECT) => {
                    self.stack.pop();
                    Expect::After as u8
                }
                SCALAR if scalar(self.d, i) => Expect::After as u8,
                _ => ERROR,
            };
        }
        if state == ERROR {
            return false;
        }
        self.expect = EXPECTS[state as usize];
        true
    }
}

const EXPECTS: [Expect; 6] =
    [Expect::Value, Expect::ValueOrClose, Expect::Key, Expect::KeyOrClose, Expect::Colon, Expect::After];
/// The state a document never leaves once it is invalid.
const ERROR: u8 = 6;
// Actions of the slow path, above the states.
const COMMA: u8 = 7;
const OPEN_OBJECT: u8 = 8;
const OPEN_ARRAY: u8 = 9;
/// `]` right after `[`, `}` right after `{`.
const CLOSE_EMPTY: u8 = 10;
const CLOSE_ARRAY: u8 = 11;
const CLOSE_OBJECT: u8 = 12;
const SCALAR: u8 = 13;

/// A token's first byte by what it may be: 0 a number or literal (or
/// nothing valid), then `"` `{` `[` `]` `}` `:` `,`.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'"' as usize] = 1;
    t[b'{' as usize] = 2;
    t[b'[' as usize] = 3;
    t[b']' as usize] = 4;
    t[b'}' as usize] = 5;
    t[b':' as usize] = 6;
    t[b',' as usize] = 7;
    t
};

/// The next state (or slow-path action) by state and token class.
static NEXT: [[u8; 8]; 7] = {
    const V: u8 = Expect::Value as u8;
    const K: u8 = Expect::Key as u8;
    const KC: u8 = Expect::KeyOrClose as u8;
    const VC: u8 = Expect::ValueOrClose as u8;
    const C: u8 = Expect::Colon as u8;
    const A: u8 = Expect::After as u8;
    const E: u8 = ERROR;
    let _ = (K, KC, VC);
    let mut t = [[E; 8]; 7];
    //            scalar  "  {            [           ]            }             :  ,
    t[V as usize] = [SCALAR, A, OPEN_OBJECT, OPEN_ARRAY, E, E, E, E];
    t[VC as usize] = [SCALAR, A, OPEN_OBJECT, OPEN_ARRAY, CLOSE_EMPTY, E, E, E];
    t[K as usize] = [E, C, E, E, E, E, E, E];
    t[KC as usize] = [E, C, E, E, E, CLOSE_EMPTY, E, E];
    t[C as usize] = [E, E, E, E, E, E, V, E];
    t[A as usize] = [E, E, E, E, CLOSE_ARRAY, CLOSE_OBJECT, E, COMMA];
    t
};

/// Whether the number or literal at `i` is valid and is the whole run of
/// bytes that are neither whitespace, operators nor quotes (what the block
/// masks took for one token).
fn scalar(d: &[u8], i: usize) -> bool {
    let end = match d[i] {
        b'n' => literal(d, i, b"null"),
        b't' => literal(d, i, b"true"),
        b'f' => literal(d, i, b"false"),
        b'-' | b'0'..=b'9' => number(d, i),
        _ => None,
    };
    end.is_some_and(|e| {
        d.get(e).is_none_or(|&b| is_space(b) || matches!(b, b'{' | b'}' | b'[' | b']' | b':' | b',' | b'"'))
    })
}

/// Whether the backslash at `i`, inside a string, starts a valid escape.
fn escape(d: &[u8], i: usize) -> bool {
    match d.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => true,
        Some(b'u') => d.get(i + 2..i + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
        _ => false,
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
    use super::{validate_scalar, validate_width, write};
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
        // Every vector width of the block validator gives the scalar
        // validator's verdict, whitespace flag included, on any bytes.
        let scalar = validate_scalar(doc);
        for width in [0, 16, 32] {
            assert_eq!(validate_width(doc, width), scalar, "width {width}: {:?}", String::from_utf8_lossy(doc));
        }
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

        /// The same documents shifted across the 64-byte blocks.
        #[test]
        fn random_documents_at_every_block_offset(doc in documents(), pad in 0usize..64) {
            let mut shifted = vec![b' '; pad];
            shifted.extend_from_slice(&doc);
            check(&shifted);
        }

        /// Runs of backslashes and quotes (escaped or not), bad escapes,
        /// controls and operators inside a string, at every offset in a
        /// block, so that runs cross block boundaries.
        #[test]
        fn escapes_across_block_boundaries(
            pad in 0usize..70,
            parts in proptest::collection::vec(prop_oneof![
                Just("\\"), Just("\\\\"), Just("\""), Just("\\\""), Just("a"), Just("\\u12aF"),
                Just("\\u12"), Just("\\x"), Just(" "), Just("\u{1}"), Just(","), Just("]"), Just("{"), Just("\u{e9}"),
            ], 0..60),
            wrap in 0..4u8,
        ) {
            let inner: String = parts.concat();
            let doc = match wrap {
                0 => format!("\"{inner}\""),
                1 => format!("[\"{inner}\", 1]"),
                2 => format!("{{\"k\":\"{inner}\",\"{inner}\":-1.5e3}}"),
                _ => inner,
            };
            check(format!("{}{doc}", " ".repeat(pad)).as_bytes());
        }

        #[test]
        fn random_bytes_match_serde_json(doc in proptest::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), Just(b'['), Just(b']'), Just(b'{'), Just(b'}'), Just(b':'),
                Just(b','), Just(b' '), Just(b'1'), Just(b'u'), any::<u8>()], 0..40)) {
            check(&doc);
        }
    }
}
