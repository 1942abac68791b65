//! Bounded-memory summaries that merge: a log-scale histogram for size
//! distributions and a HyperLogLog for distinct-key estimates. Both take the
//! same memory whatever they are fed, and merging two gives what feeding
//! both inputs into one would have given.

use serde::Serialize;

/// Sub-buckets per power of two: values are kept to 1/32 (about 3 %)
/// relative precision; values below 64 exactly.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A histogram of non-negative integers in log-scale buckets (HDR style).
/// Min and max are exact; quantiles are within one bucket (±1.6 %).
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: Vec::new(), count: 0, sum: 0, min: u64::MAX, max: 0 }
    }
}

/// What a histogram says: exact count/min/max/mean, approximate quantiles.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Distribution {
    pub count: u64,
    pub min: u64,
    pub median: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

fn bucket_of(v: u64) -> usize {
    if v < (SUB as u64) * 2 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS + 1
    let shift = exp - SUB_BITS;
    let mantissa = (v >> shift) as usize - SUB; // 0..SUB
    (shift as usize + 1) * SUB + mantissa
}

/// The smallest and largest value in bucket `b`.
fn bucket_range(b: usize) -> (u64, u64) {
    if b < SUB * 2 {
        return (b as u64, b as u64);
    }
    let shift = (b / SUB - 1) as u32;
    let mantissa = (b % SUB + SUB) as u64;
    let lo = mantissa << shift;
    (lo, lo + ((1u64 << shift) - 1))
}

impl Histogram {
    pub fn add(&mut self, v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket_of(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1): the middle of the bucket that
    /// holds the rank, kept within the exact min and max.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bucket_range(b);
                return Some((lo + (hi - lo) / 2).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    pub fn distribution(&self) -> Option<Distribution> {
        Some(Distribution {
            count: self.count,
            min: self.min,
            median: self.quantile(0.5)?,
            p99: self.quantile(0.99)?,
            max: self.max,
            mean: self.sum as f64 / self.count as f64,
        })
    }
}

/// Registers: 2^14, a standard error of 1.04 / 128 ≈ 0.8 %.
const HLL_P: u32 = 14;
const HLL_M: usize = 1 << HLL_P;

/// A HyperLogLog distinct-count sketch over 64-bit hashes (16 KiB once
/// anything is added).
#[derive(Clone, Debug, Default)]
pub struct HyperLogLog {
    registers: Vec<u8>,
}

impl HyperLogLog {
    /// Add an item by its bytes (hashed with XXH3-64).
    pub fn add(&mut self, item: &[u8]) {
        self.add_hash(xxhash_rust::xxh3::xxh3_64(item));
    }

    pub fn add_hash(&mut self, h: u64) {
        if self.registers.is_empty() {
            self.registers = vec![0; HLL_M];
        }
        let idx = (h >> (64 - HLL_P)) as usize;
        // Rank of the first 1 bit in the remaining 50 bits (1-based), capped.
        let rest = (h << HLL_P) | (1 << (HLL_P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[idx] {
            self.registers[idx] = rank;
        }
    }

    pub fn merge(&mut self, other: &HyperLogLog) {
        if other.registers.is_empty() {
            return;
        }
        if self.registers.is_empty() {
            self.registers = other.registers.clone();
            return;
        }
        for (a, &b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(b);
        }
    }

    /// The estimated number of distinct items: raw HyperLogLog with linear
    /// counting for small cardinalities.
    pub fn estimate(&self) -> u64 {
        if self.registers.is_empty() {
            return 0;
        }
        let m = HLL_M as f64;
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for &r in &self.registers {
            sum += 1.0 / (1u64 << r) as f64;
            zeros += usize::from(r == 0);
        }
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let est = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
        est.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut prev_hi = None;
        for b in 0..BUCKETS {
            let (lo, hi) = bucket_range(b);
            assert!(lo <= hi);
            if let Some(p) = prev_hi {
                assert_eq!(lo, p + 1, "bucket {b}");
            }
            assert_eq!(bucket_of(lo), b);
            assert_eq!(bucket_of(hi), b);
            prev_hi = Some(hi);
            if hi == u64::MAX {
                break;
            }
        }
        assert_eq!(prev_hi, Some(u64::MAX));
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.add(v);
        }
        let d = h.distribution().unwrap();
        assert_eq!((d.count, d.min, d.max), (10_000, 1, 10_000));
        assert!((d.median as f64 - 5000.0).abs() / 5000.0 < 0.02, "{d:?}");
        assert!((d.p99 as f64 - 9900.0).abs() / 9900.0 < 0.02, "{d:?}");
        assert!((d.mean - 5000.5).abs() < 1e-9);
        // Small values are exact.
        let mut s = Histogram::default();
        for v in [3, 3, 7, 50] {
            s.add(v);
        }
        assert_eq!(s.quantile(0.5), Some(3));
        assert_eq!(s.quantile(1.0), Some(50));
        assert!(Histogram::default().distribution().is_none());
    }

    #[test]
    fn merged_histograms_equal_one_fed_both() {
        let (mut a, mut b, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
        for v in 0..5000u64 {
            let x = v * v % 7919;
            if v % 3 == 0 {
                a.add(x)
            } else {
                b.add(x)
            }
            all.add(x);
        }
        a.merge(&b);
        assert_eq!(a.distribution(), all.distribution());
    }

    #[test]
    fn hll_estimates_within_a_few_percent_and_merges() {
        let mut a = HyperLogLog::default();
        let mut b = HyperLogLog::default();
        for i in 0..200_000u32 {
            let key = format!("key-{}", i % 50_000);
            if i % 2 == 0 { a.add(key.as_bytes()) } else { b.add(key.as_bytes()) }
        }
        a.merge(&b);
        let e = a.estimate() as f64;
        assert!((e - 50_000.0).abs() / 50_000.0 < 0.03, "{e}");
        let mut small = HyperLogLog::default();
        for k in ["a", "b", "c", "a"] {
            small.add(k.as_bytes());
        }
        assert_eq!(small.estimate(), 3);
        assert_eq!(HyperLogLog::default().estimate(), 0);
    }
}
