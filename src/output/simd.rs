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

/// Bit i set when byte i of the 16 needs escaping; bit 16+i when byte i is
/// not ASCII.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn scan16(a: u64, b: u64) -> (u32, u32) {
    // SAFETY: SSE2 is part of the x86-64 baseline, so every CPU this binary
    // runs on has it; the function reads no memory through pointers.
    unsafe { scan16_sse2(a, b) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn scan16_sse2(a: u64, b: u64) -> (u32, u32) {
    use std::arch::x86_64::*;
    let x = _mm_set_epi64x(b as i64, a as i64);
    let control = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
    let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
    let esc = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(control, quote), backslash)) as u32;
    (esc, _mm_movemask_epi8(x) as u32)
}

#[cfg(not(target_arch = "x86_64"))]
pub fn scan16(a: u64, b: u64) -> (u32, u32) {
    let bytes = [a.to_le_bytes(), b.to_le_bytes()].concat();
    let mut esc = 0u32;
    let mut high = 0u32;
    for (k, &c) in bytes.iter().enumerate() {
        esc |= u32::from(super::json::ESCAPE[c as usize] != 0) << k;
        high |= u32::from(c >= 0x80) << k;
    }
    (esc, high)
}
