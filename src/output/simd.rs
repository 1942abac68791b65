//! The few places the command line needs `unsafe`, each behind a safe function:
//! SSE2 scanners for the text writers (JSON escaping, Java's UTF-8 check) and
//! [`Fixed`], the spare-capacity writer of kafka-dump-log's hot line prefix.
//! Every other module of the binary denies `unsafe_code`.
#![allow(unsafe_code)]

/// Writes a short, bounded run of text (at most [`Fixed::CAP`] bytes) into
/// the output buffer's spare capacity without a capacity check per piece:
/// the hot prefix of every record line.
pub struct Fixed<'b> {
    buf: &'b mut Vec<u8>,
    base: usize,
    at: usize,
}

impl<'b> Fixed<'b> {
    pub const CAP: usize = 160;

    /// The caller has reserved at least `CAP` bytes (a shortfall panics in
    /// `put`, it never writes out of bounds).
    #[inline(always)]
    pub fn new(buf: &'b mut Vec<u8>) -> Self {
        let base = buf.len();
        Fixed { buf, base, at: 0 }
    }

    /// A literal: its length is a constant, so the copy is a few moves.
    /// The slice of the spare capacity is bounds-checked: a shortfall
    /// panics, it never writes out of bounds.
    #[inline(always)]
    pub fn lit<const N: usize>(&mut self, s: &[u8; N]) {
        let dst = &mut self.buf.spare_capacity_mut()[self.at..self.at + N];
        dst.write_copy_of_slice(s);
        self.at += N;
    }

    /// A decimal integer (itoa's formatting).
    #[inline(always)]
    pub fn num(&mut self, v: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v).as_bytes();
        let dst = &mut self.buf.spare_capacity_mut()[self.at..self.at + s.len()];
        dst.write_copy_of_slice(s);
        self.at += s.len();
    }

    #[inline(always)]
    pub fn done(self) {
        // SAFETY: every byte in [base, base + at) was initialised by `put`.
        unsafe { self.buf.set_len(self.base + self.at) };
    }
}

/// No byte has its high bit set. The check runs over bytes just copied
/// (in cache); 64 bytes per step, OR-ed without branches.
#[inline]
pub fn is_ascii(b: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline; the function only
        // reads `b` through bounds-checked chunks.
        unsafe { is_ascii_sse2(b) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        b.is_ascii()
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn is_ascii_sse2(b: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let mut chunks = b.chunks_exact(64);
    let mut acc = _mm_setzero_si128();
    for c in &mut chunks {
        // SAFETY: each load reads 16 bytes inside the 64-byte chunk.
        let (a, b2, c2, d) = unsafe {
            (
                _mm_loadu_si128(c.as_ptr().cast()),
                _mm_loadu_si128(c.as_ptr().add(16).cast()),
                _mm_loadu_si128(c.as_ptr().add(32).cast()),
                _mm_loadu_si128(c.as_ptr().add(48).cast()),
            )
        };
        acc = _mm_or_si128(acc, _mm_or_si128(_mm_or_si128(a, b2), _mm_or_si128(c2, d)));
    }
    _mm_movemask_epi8(acc) == 0 && chunks.remainder().is_ascii()
}

/// `b` as text if every byte is printable ASCII (0x20..=0x7e): the common
/// case of a table cell, which then needs no UTF-8 decoding and no control
/// check. `None` says nothing more: the caller looks closer.
pub fn printable_ascii(b: &[u8]) -> Option<&str> {
    #[cfg(target_arch = "x86_64")]
    let printable = {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { printable_sse2(b) }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let printable = b.iter().all(|&c| (0x20..0x7f).contains(&c));
    if !printable {
        return None;
    }
    // SAFETY: ASCII bytes are valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn printable_sse2(b: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let mut chunks = b.chunks_exact(16);
    let mut bad = _mm_setzero_si128();
    for c in &mut chunks {
        // SAFETY: the load reads the 16 bytes of the chunk.
        let x = unsafe { _mm_loadu_si128(c.as_ptr().cast()) };
        // Signed: bytes >= 0x80 are negative, so below 0x20 too.
        let low = _mm_cmpgt_epi8(_mm_set1_epi8(0x20), x);
        let del = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f));
        bad = _mm_or_si128(bad, _mm_or_si128(low, del));
    }
    _mm_movemask_epi8(bad) == 0 && chunks.remainder().iter().all(|&c| (0x20..0x7f).contains(&c))
}

/// The index of the first byte of `s` that ends a run of JSON string
/// content: `"`, `\` or a control (< 0x20); `s.len()` if there is none.
/// The validator of `--value-encoding json` skips string contents with it.
pub fn string_stop(s: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: the CPU has AVX2 (checked at run time, once).
            return unsafe { string_stop_avx2(s) };
        }
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { string_stop_sse2(s) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        string_stop_scalar(s, 0)
    }
}

/// From `i` on, a byte at a time: the tails shorter than a vector.
fn string_stop_scalar(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && !matches!(s[i], b'"' | b'\\' | 0..0x20) {
        i += 1;
    }
    i
}

/// The same with a chosen vector width, as [`escape_json_width`].
#[cfg(test)]
pub fn string_stop_width(s: &[u8], width: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if width == 32 && has_avx2() {
            // SAFETY: the CPU has AVX2.
            return unsafe { string_stop_avx2(s) };
        }
        if width >= 16 {
            // SAFETY: SSE2 is part of the x86-64 baseline.
            return unsafe { string_stop_sse2(s) };
        }
    }
    let _ = width;
    string_stop_scalar(s, 0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn string_stop_sse2(s: &[u8]) -> usize {
    use std::arch::x86_64::*;
    let mut i = 0;
    while i + 16 <= s.len() {
        // SAFETY: bytes i..i + 16 are inside `s`.
        let x = unsafe { _mm_loadu_si128(s.as_ptr().add(i).cast()) };
        let control = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        let m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(control, quote), backslash)) as u32;
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    string_stop_scalar(s, i)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn string_stop_avx2(s: &[u8]) -> usize {
    use std::arch::x86_64::*;
    let mut i = 0;
    while i + 32 <= s.len() {
        // SAFETY: bytes i..i + 32 are inside `s`.
        let x = unsafe { _mm256_loadu_si256(s.as_ptr().add(i).cast()) };
        let control = _mm256_cmpeq_epi8(_mm256_max_epu8(x, _mm256_set1_epi8(0x1f)), _mm256_set1_epi8(0x1f));
        let quote = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'"' as i8));
        let backslash = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'\\' as i8));
        let m = _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(control, quote), backslash)) as u32;
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 32;
    }
    string_stop_scalar(s, i)
}

/// Escape class of each byte in a JSON string: 0 = as is, `u` = \u00XX,
/// anything else = a backslash and that letter.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// The JSON escape of each byte, its length in the last of the eight bytes
/// (0 for a byte that goes out as is): `\"`, `\\`, `\n`-style short forms,
/// `\u00XX` for the other controls. Eight bytes so that one unconditional
/// copy writes any of them.
static ESCAPE_SEQ: [[u8; 8]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let e = ESCAPE[b];
        if e == b'u' {
            t[b] = [b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 15], 0, 6];
        } else if e != 0 {
            t[b] = [b'\\', e, 0, 0, 0, 0, 0, 2];
        }
        b += 1;
    }
    t
};

/// Append `s` to `out` escaped for the inside of a JSON string (no quotes).
/// With `stop_at_non_ascii`, stop before the first byte >= 0x80 and return
/// its index (the caller validates UTF-8 from there); otherwise, or when
/// there is none, return `s.len()`.
///
/// Each step loads a vector (16 bytes with SSE2, 32 with AVX2 when the CPU
/// has it, chosen once), stores it whole into `out`'s spare capacity and
/// advances the length to the first byte needing escape: a run between two
/// quotes costs no call and no per-byte push.
pub fn escape_json(out: &mut Vec<u8>, s: &[u8], stop_at_non_ascii: bool) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: the CPU has AVX2 (checked at run time, once).
            return unsafe { escape_avx2(out, s, stop_at_non_ascii) };
        }
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { escape_sse2(out, s, stop_at_non_ascii) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        escape_scalar(out, s, stop_at_non_ascii)
    }
}

/// The same with a chosen vector width (16 or 32; 32 falls back to 16 when
/// the CPU lacks AVX2, anything else is the scalar loop): lets the tests
/// cover every path on one machine.
#[cfg(test)]
pub fn escape_json_width(out: &mut Vec<u8>, s: &[u8], stop_at_non_ascii: bool, width: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if width == 32 && has_avx2() {
            // SAFETY: the CPU has AVX2.
            return unsafe { escape_avx2(out, s, stop_at_non_ascii) };
        }
        if width >= 16 {
            // SAFETY: SSE2 is part of the x86-64 baseline.
            return unsafe { escape_sse2(out, s, stop_at_non_ascii) };
        }
    }
    let _ = width;
    escape_scalar(out, s, stop_at_non_ascii)
}

/// One byte at a time: the fallback off x86-64 and the tests' baseline.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn escape_scalar(out: &mut Vec<u8>, s: &[u8], stop_at_non_ascii: bool) -> usize {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if stop_at_non_ascii && b >= 0x80 {
            out.extend_from_slice(&s[start..i]);
            return i;
        }
        let seq = &ESCAPE_SEQ[b as usize];
        if seq[7] != 0 {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice(&seq[..seq[7] as usize]);
            start = i + 1;
        }
    }
    out.extend_from_slice(&s[start..]);
    s.len()
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0 = not yet asked, 1 = no, 2 = yes.
    static AVX2: AtomicU8 = AtomicU8::new(0);
    match AVX2.load(Ordering::Relaxed) {
        0 => {
            // The AVX2 path also uses POPCNT (every AVX2 CPU has it).
            let yes = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt");
            AVX2.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        v => v == 2,
    }
}

/// Input bytes escaped per reservation: the output room for them (six
/// bytes each at worst) is reserved once, so the inner loop keeps the write
/// position in a register and checks no capacity.
#[cfg(target_arch = "x86_64")]
const CHUNK: usize = 4096;

/// For each 8-bit mask of `"` and `\` among 8 bytes, the `pshufb` control
/// that expands them: a source index (0..8) per output byte, index 8 (a
/// backslash) before each masked byte. The bytes after the 8 + popcount
/// that count are don't-cares (a backslash).
#[cfg(target_arch = "x86_64")]
static EXPAND: [[u8; 16]; 256] = {
    let mut t = [[8u8; 16]; 256];
    let mut m = 0;
    while m < 256 {
        let mut o = 0;
        let mut j = 0;
        while j < 8 {
            if m >> j & 1 == 1 {
                t[m][o] = 8;
                o += 1;
            }
            t[m][o] = j as u8;
            o += 1;
            j += 1;
        }
        m += 1;
    }
    t
};

/// The escaping loop for one vector width. `$load` reads a vector from a
/// pointer, `$store` writes one, `$mask(v, stop)` gives two bitmasks of the
/// vector: its `"` and `\` bytes, and its other bytes that end the fast path
/// (controls, and non-ASCII bytes when `stop`). `$expand(src, dst, qb)` writes the W bytes at `src`
/// with a backslash before each byte whose bit is set in `qb` (at most 2W
/// bytes, and at most W + 8 past them as scratch).
///
/// A vector whose only escapes are `"` and `\` (JSON payloads: a quote
/// every dozen bytes) is expanded whole, with no branch per quote, and the
/// loop advances by the vector: the next load does not wait for this one's
/// mask. Any other escape is written from `ESCAPE_SEQ` and the loop goes on
/// from the byte after it.
#[cfg(target_arch = "x86_64")]
macro_rules! escape_loop {
    ($out:ident, $s:ident, $stop:ident, $w:expr, $load:expr, $store:expr, $mask:expr, $expand:expr) => {{
        const W: usize = $w;
        // The last, short piece is copied here, padded with spaces (which
        // need no escape).
        let mut pad: [u8; W];
        let mut i = 0;
        while i < $s.len() {
            let end = $s.len().min(i + CHUNK);
            // A step consumes c >= 1 bytes and keeps at most 6c (an escape
            // after k clean bytes keeps k + 6 for k + 1; an expanded vector
            // keeps at most 2c), and the input consumed before `end` is
            // reached is below (end - i) + W; a step writes up to W + 8
            // bytes past what it keeps (the padded tail's expansion, W - n
            // pad bytes and 8 of scratch).
            $out.reserve(6 * (end - i + W) + W + 8);
            let base = $out.as_mut_ptr();
            let mut o = $out.len();
            let mut stopped = None;
            while i < end {
                let rest = $s.len() - i;
                let (src, n) = if rest >= W {
                    (&$s[i..i + W], W)
                } else {
                    pad = [b' '; W];
                    copy_short(&mut pad, &$s[i..]);
                    (&pad[..], rest)
                };
                // SAFETY: `src` holds W readable bytes; `o` stays within the
                // room reserved above (see the bound there), so the store of
                // W bytes at `o` is inside the allocation.
                let v = unsafe { $load(src.as_ptr()) };
                let (qb, other) = $mask(v, $stop);
                if other == 0 {
                    if qb == 0 {
                        // SAFETY: as for the load above.
                        unsafe { $store(base.add(o), v) };
                    } else {
                        // SAFETY: `src` holds W readable bytes; the
                        // expansion writes at most 2W + 8 bytes at `o`,
                        // inside the room reserved above.
                        unsafe { $expand(src.as_ptr(), base.add(o), qb) };
                    }
                    // The pad bytes are spaces: no bit of `qb` past `n`.
                    o += n + qb.count_ones() as usize;
                    i += n;
                    continue;
                }
                // SAFETY: as for the load above.
                unsafe { $store(base.add(o), v) };
                let k = (qb | other).trailing_zeros() as usize;
                o += k;
                i += k;
                let b = $s[i];
                if b >= 0x80 {
                    stopped = Some(i);
                    break;
                }
                let seq = &ESCAPE_SEQ[b as usize];
                // SAFETY: k < W, so the 8 bytes at `o` are inside the room
                // reserved above; the first seq[7] of them are the escape.
                unsafe { std::ptr::copy_nonoverlapping(seq.as_ptr(), base.add(o), 8) };
                o += seq[7] as usize;
                i += 1;
            }
            // SAFETY: every byte below `o` was written by a store above
            // (or was there before), and `o` is within the capacity.
            unsafe { $out.set_len(o) };
            if let Some(at) = stopped {
                return at;
            }
        }
        $s.len()
    }};
}

/// Copy `src` (shorter than 32 bytes and than `dst`) to the start of
/// `dst` in at most two fixed-size, overlapping moves: a short string's
/// tail costs no call to `memcpy`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn copy_short<const W: usize>(dst: &mut [u8; W], src: &[u8]) {
    let n = src.len();
    if n >= 16 {
        dst[..16].copy_from_slice(&src[..16]);
        dst[n - 16..n].copy_from_slice(&src[n - 16..]);
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..n].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..n].copy_from_slice(&src[n - 4..]);
    } else if n > 0 {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/// `$expand` without a byte shuffle (SSE2 has none): a byte at a time but
/// without branches, a backslash at `o` and the byte at `o + bit`.
///
/// # Safety
/// `src` holds `W` readable bytes and `dst` has room for `2W` writable ones.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn expand_scalar<const W: usize>(src: *const u8, dst: *mut u8, qb: u32) {
    let mut o = 0;
    for j in 0..W {
        let e = (qb >> j & 1) as usize;
        // SAFETY: j < W and o + e < 2W (the caller's bounds).
        unsafe {
            *dst.add(o) = b'\\';
            *dst.add(o + e) = *src.add(j);
        }
        o += 1 + e;
    }
}

/// `$expand` with `pshufb`, 8 input bytes per step: the 8 bytes beside 8
/// backslashes in one register, shuffled by the control for their mask
/// (`EXPAND`), stored as 16 bytes of which 8 + popcount count.
///
/// # Safety
/// The CPU has SSSE3 and POPCNT; `src` holds `W` readable bytes (W a
/// multiple of 8) and `dst` has room for `2W + 8` writable ones.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn expand_pshufb<const W: usize>(src: *const u8, dst: *mut u8, qb: u32) {
    use std::arch::x86_64::*;
    let mut o = 0;
    let mut j = 0;
    while j < W {
        let m = (qb >> j & 0xff) as usize;
        // SAFETY: bytes j..j + 8 of `src` are readable (j + 8 <= W); the
        // store of 16 bytes at `o` ends at most at 2j + 16 <= 2W + 8.
        unsafe {
            let x = _mm_unpacklo_epi64(_mm_loadl_epi64(src.add(j).cast()), _mm_set1_epi8(b'\\' as i8));
            let y = _mm_shuffle_epi8(x, _mm_loadu_si128(EXPAND[m].as_ptr().cast()));
            _mm_storeu_si128(dst.add(o).cast(), y);
        }
        o += 8 + m.count_ones() as usize;
        j += 8;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn escape_sse2(out: &mut Vec<u8>, s: &[u8], stop: bool) -> usize {
    use std::arch::x86_64::*;
    escape_loop!(
        out,
        s,
        stop,
        16,
        |p: *const u8| _mm_loadu_si128(p.cast()),
        |p: *mut u8, v| _mm_storeu_si128(p.cast(), v),
        |x: __m128i, stop: bool| {
            let control = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
            let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
            // The high bits of `x` count only when stopping at them.
            let high = _mm_and_si128(x, _mm_set1_epi8(if stop { i8::MIN } else { 0 }));
            let qb = _mm_movemask_epi8(_mm_or_si128(quote, backslash)) as u32;
            (qb, _mm_movemask_epi8(_mm_or_si128(control, high)) as u32)
        },
        expand_scalar::<16>
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn escape_avx2(out: &mut Vec<u8>, s: &[u8], stop: bool) -> usize {
    use std::arch::x86_64::*;
    escape_loop!(
        out,
        s,
        stop,
        32,
        |p: *const u8| _mm256_loadu_si256(p.cast()),
        |p: *mut u8, v| _mm256_storeu_si256(p.cast(), v),
        |x: __m256i, stop: bool| {
            let control = _mm256_cmpeq_epi8(_mm256_max_epu8(x, _mm256_set1_epi8(0x1f)), _mm256_set1_epi8(0x1f));
            let quote = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'"' as i8));
            let backslash = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'\\' as i8));
            // The high bits of `x` count only when stopping at them.
            let high = _mm256_and_si256(x, _mm256_set1_epi8(if stop { i8::MIN } else { 0 }));
            let qb = _mm256_movemask_epi8(_mm256_or_si256(quote, backslash)) as u32;
            (qb, _mm256_movemask_epi8(_mm256_or_si256(control, high)) as u32)
        },
        expand_pshufb::<32>
    )
}

#[cfg(test)]
mod tests {
    use super::escape_json_width;
    use proptest::prelude::*;

    /// The plain escaper the vector one must match: a char at a time over
    /// the lossy decoding, written from the JSON grammar (RFC 8259 §7),
    /// with serde_json's choices (short forms where JSON has them,
    /// lowercase hex, nothing else escaped).
    fn reference(bytes: &[u8]) -> Vec<u8> {
        let mut out = String::from("\"");
        for c in String::from_utf8_lossy(bytes).chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out.into_bytes()
    }

    /// `json::escape_utf8` and its lossy fallback (`write_bytes`), at one
    /// vector width.
    fn escaped(bytes: &[u8], width: usize) -> Vec<u8> {
        let mut out = b"prefix".to_vec();
        out.push(b'"');
        let at = escape_json_width(&mut out, bytes, true, width);
        if at < bytes.len() {
            if std::str::from_utf8(&bytes[at..]).is_ok() {
                escape_json_width(&mut out, &bytes[at..], false, width);
            } else {
                out.truncate(6);
                out.push(b'"');
                escape_json_width(&mut out, String::from_utf8_lossy(bytes).as_bytes(), false, width);
            }
        }
        out.push(b'"');
        assert_eq!(&out[..6], b"prefix");
        out.split_off(6)
    }

    fn check(bytes: &[u8]) {
        let want = reference(bytes);
        for width in [0, 16, 32] {
            assert_eq!(escaped(bytes, width), want, "width {width}, input {bytes:?}");
        }
        // The dispatched path the writers use.
        let mut out = Vec::new();
        crate::output::json::write_bytes(&mut out, Some(bytes), crate::output::Encoding::Utf8);
        assert_eq!(out, want, "input {bytes:?}");
    }

    #[test]
    fn every_byte_value_at_every_position_across_vector_boundaries() {
        for len in [1usize, 15, 16, 17, 31, 32, 33, 47, 64, 65, 70] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    check(&s);
                }
            }
        }
    }

    #[test]
    fn escapes_side_by_side_at_every_position() {
        for len in 0..80usize {
            for at in 0..len {
                let mut s = vec![b'x'; len];
                for (k, e) in [b'"', b'\\', b'\n', 0x01, b'"'].iter().enumerate() {
                    if at + k < len {
                        s[at + k] = *e;
                    }
                }
                check(&s);
                let all: Vec<u8> = (0..len).map(|i| if i >= at { b'"' } else { b'z' }).collect();
                check(&all);
            }
        }
    }

    #[test]
    fn invalid_utf8_at_every_position() {
        let bad: [&[u8]; 7] =
            [b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80"];
        for len in [1usize, 16, 33, 70] {
            for at in 0..len {
                for seq in bad {
                    let mut s = vec![b'q'; len];
                    s[len / 3] = b'"';
                    s.splice(at..at, seq.iter().copied());
                    check(&s);
                    // After a valid non-ASCII character, so validation
                    // starts earlier than the bad bytes.
                    let mut t = "é".as_bytes().to_vec();
                    t.extend_from_slice(&s);
                    check(&t);
                }
            }
        }
    }

    /// Bytes weighted toward the ones that matter: escapes, controls,
    /// UTF-8 lead and continuation bytes.
    fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            6 => b'a'..=b'z',
            2 => Just(b'"'),
            1 => Just(b'\\'),
            1 => 0u8..0x20,
            1 => 0x80u8..=0xff,
            1 => any::<u8>(),
        ];
        proptest::collection::vec(byte, 0..300)
    }

    #[test]
    fn printable_ascii_is_exactly_0x20_to_0x7e() {
        for len in [1usize, 15, 16, 17, 33, 64, 70] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'~'; len];
                    s[at] = b;
                    let want = s.iter().all(|&c| (0x20..0x7f).contains(&c));
                    assert_eq!(super::printable_ascii(&s).is_some(), want, "{s:?}");
                }
            }
        }
        assert_eq!(super::printable_ascii(b""), Some(""));
        assert_eq!(super::printable_ascii(b" ok~"), Some(" ok~"));
    }

    #[test]
    fn string_stop_finds_the_first_quote_backslash_or_control_at_every_position() {
        for len in 0..80usize {
            for at in 0..=len {
                for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    // Bytes that are not stops on either side: high bytes,
                    // DEL, space.
                    let mut s: Vec<u8> = (0..len).map(|i| [b'a', 0x80, 0xff, 0x7f, b' '][i % 5]).collect();
                    if at < len {
                        s[at] = stop;
                    }
                    for width in [0, 16, 32] {
                        assert_eq!(super::string_stop_width(&s, width), at, "width {width} {s:?}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn random_bytes_match_the_reference(bytes in interesting_bytes()) {
            check(&bytes);
        }

        #[test]
        fn random_strings_match_and_parse_back(s in any::<String>(), pad in 0usize..40) {
            let s = format!("{}{s}", "\"".repeat(pad));
            check(s.as_bytes());
            for width in [0, 16, 32] {
                let out = escaped(s.as_bytes(), width);
                let back: String = serde_json::from_slice(&out).unwrap();
                prop_assert_eq!(&back, &s);
                prop_assert_eq!(&out, &serde_json::to_vec(&s).unwrap());
            }
        }
    }
}
