//! The batch and record tables, written row by row straight into a line
//! buffer: column widths are fixed when a file's table starts (from the
//! terminal width and the file's base offset and size), so they never jump
//! between rows, nothing is held back to measure, and a row costs about
//! what a JSON line does. The value column takes the width the others
//! leave; cells that do not fit are cut by the rule of `cell.rs`.

use std::fmt::Write as _;

use kseg::BatchInfo;
use kseg::format::record::Record;
use kseg::topics::TopicRecord;

use super::Encoding;
use super::cell::{self, NULL_MARK};

pub const DIM: &str = "\x1b[2m";
pub const BOLD: &str = "\x1b[1m";
pub const RED: &str = "\x1b[1;31m";
pub const CYAN: &str = "\x1b[36m";
pub const RESET: &str = "\x1b[0m";

/// Columns between cells.
const GAP: usize = 2;
const TS: usize = 24;

/// How tables look: the width to fit, whole values or not, colour.
#[derive(Clone, Copy, Debug)]
pub struct Look {
    pub width: usize,
    pub full: bool,
    pub color: bool,
}

impl Look {
    fn paint(&self, out: &mut String, code: &str, text: &str) {
        if self.color {
            out.push_str(code);
            out.push_str(text);
            out.push_str(RESET);
        } else {
            out.push_str(text);
        }
    }
}

fn spaces(out: &mut String, mut n: usize) {
    const BLANK: &str = "                                                                ";
    while n > 0 {
        let k = n.min(BLANK.len());
        out.push_str(&BLANK[..k]);
        n -= k;
    }
}

/// `v` as exactly `n` decimal digits (v < 10^n).
fn digits(v: i64) -> usize {
    itoa::Buffer::new().format(v).len()
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ` for a non-negative millisecond timestamp, the
/// number itself otherwise (Kafka's -1 for "none"). Civil date from days by
/// Howard Hinnant's algorithm: no allocation, no time-zone lookup.
pub fn push_time(out: &mut String, ms: i64) {
    if !(0..=253_402_300_799_999).contains(&ms) {
        out.push_str(itoa::Buffer::new().format(ms));
        return;
    }
    let (days, rem) = (ms / 86_400_000, ms % 86_400_000);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    // Filled in place and pushed once: `String::push` per digit was a tenth
    // of a table dump.
    let mut t = *b"0000-00-00T00:00:00.000Z";
    for (v, at, n) in [(y, 0, 4), (m, 5, 2), (d, 8, 2), (h, 11, 2), (mi, 14, 2), (s, 17, 2), (milli, 20, 3)] {
        let mut v = v;
        for k in (at..at + n).rev() {
            t[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    out.push_str(std::str::from_utf8(&t).unwrap_or_default());
}

/// The record table of one file.
pub struct RecordGrid {
    look: Look,
    offset: usize,
    key: usize,
    value: usize,
    /// 0: no headers column; headers go on a line of their own.
    headers: usize,
    started: bool,
    /// The headers cell, built before it is fitted.
    scratch: String,
}

impl RecordGrid {
    /// Widths for a file whose offsets start at `base` and that holds
    /// `size` bytes: the offset column fits every offset a file of that
    /// size is likely to hold, and grows (once per extra digit) if one is
    /// wider still.
    /// `decoded`: the records are an internal topic's, whose decoded keys
    /// (`OFFSET_COMMIT {group: …, topic: …, partition: …}`) say as much as
    /// the values, so the key column gets twice the room.
    pub fn new(look: Look, base: i64, size: u64, decoded: bool) -> RecordGrid {
        let offset = digits(base.max(0).saturating_add(i64::try_from(size / 8).unwrap_or(i64::MAX))).max(6);
        let avail = look.width.saturating_sub(offset + TS + 3 * GAP);
        let key = if decoded { (avail * 2 / 5).clamp(6, 64) } else { (avail / 4).clamp(6, 32) };
        let mut rest = avail.saturating_sub(key + GAP);
        let headers = if rest >= 90 { (rest / 3).clamp(12, 48) } else { 0 };
        if headers > 0 {
            rest -= headers + GAP;
        }
        RecordGrid { look, offset, key, value: rest.max(8), headers, started: false, scratch: String::new() }
    }

    fn cut(&self, w: usize) -> Option<usize> {
        (!self.look.full).then_some(w)
    }

    /// Whether the titles are out, and the width the offset column grew to.
    pub fn state(&self) -> (bool, usize) {
        (self.started, self.offset)
    }

    /// Go on from a [`RecordGrid::state`] (another writer's, on the same file).
    pub fn resume(&mut self, (started, offset): (bool, usize)) {
        (self.started, self.offset) = (started, offset);
    }

    /// The column titles and their rule, before the first row.
    fn start(&mut self, out: &mut String) {
        self.started = true;
        let mut titles = String::new();
        spaces(&mut titles, self.offset - "offset".len());
        titles.push_str("offset");
        for (t, w) in [("timestamp", TS), ("key", self.key)] {
            spaces(&mut titles, GAP);
            titles.push_str(t);
            spaces(&mut titles, w - t.len());
        }
        spaces(&mut titles, GAP);
        titles.push_str("value");
        if self.headers > 0 {
            spaces(&mut titles, self.value - "value".len() + GAP);
            titles.push_str("headers");
        }
        self.look.paint(out, BOLD, titles.trim_end());
        out.push('\n');
        let mut rule = String::new();
        let mut widths = vec![self.offset, TS, self.key, self.value];
        if self.headers > 0 {
            widths.push(self.headers);
        }
        for (i, w) in widths.iter().enumerate() {
            if i > 0 {
                spaces(&mut rule, GAP);
            }
            for _ in 0..*w {
                rule.push('─');
            }
        }
        self.look.paint(out, DIM, &rule);
        out.push('\n');
    }

    /// A batch boundary: one line with the batch's header fields.
    pub fn batch(&mut self, out: &mut String, b: &BatchInfo) {
        if !self.started {
            self.start(out);
        }
        let mut text = String::from("── batch ");
        text.push_str(&batch_summary(b));
        let mut line = String::new();
        cell::show_str(&mut line, &text, self.cut(self.look.width));
        self.look.paint(out, if b.crc_valid { CYAN } else { RED }, &line);
        out.push('\n');
    }

    /// Appends one record row (and its headers line when there is no
    /// headers column).
    pub fn record(
        &mut self,
        out: &mut String,
        r: &Record<'_>,
        decoded: Option<&TopicRecord>,
        enc: (Encoding, Encoding),
    ) {
        if !self.started {
            self.start(out);
        }
        let (key_enc, value_enc) = enc;
        let n = digits(r.offset);
        if n > self.offset {
            self.offset = n;
        }
        spaces(out, self.offset - n);
        out.push_str(itoa::Buffer::new().format(r.offset));
        spaces(out, GAP);
        let at = out.len();
        push_time(out, r.timestamp);
        spaces(out, TS.saturating_sub(out.len() - at));
        spaces(out, GAP);
        // Key and value: decoded texts, a control record's marker, or bytes.
        let texts = match (&r.control, decoded) {
            (Some(c), _) => Some((None, serde_json::to_string(c).unwrap_or_default())),
            (None, Some(d)) => {
                let (k, v) = d.texts();
                Some(((!k.is_empty()).then_some(k), v))
            }
            (None, None) => None,
        };
        let key_w = match texts.as_ref().and_then(|t| t.0.as_deref()) {
            Some(k) => cell::show_str(out, k, self.cut(self.key)),
            None => self.bytes(out, r.key, key_enc, self.key),
        };
        let last = self.headers == 0;
        spaces(out, GAP + self.key.saturating_sub(key_w));
        let value_w = match &texts {
            Some((_, v)) => cell::show_str(out, v, self.cut(self.value)),
            None => self.bytes(out, r.value, value_enc, self.value),
        };
        if !r.headers.is_empty() {
            if last {
                // No headers column: the headers on a line of their own,
                // under the key.
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push('\n');
                spaces(out, self.offset + GAP + TS + GAP);
                self.look.paint(out, DIM, "↳ ");
                self.headers_cell(out, r, value_enc, self.look.width.saturating_sub(self.offset + TS + 2 * GAP + 2));
            } else {
                spaces(out, GAP + self.value.saturating_sub(value_w));
                self.headers_cell(out, r, value_enc, self.headers);
            }
        }
        while out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    }

    /// Bytes by the one rule, the null mark dimmed; returns the width.
    fn bytes(&self, out: &mut String, b: Option<&[u8]>, enc: Encoding, w: usize) -> usize {
        if b.is_none() {
            self.look.paint(out, DIM, NULL_MARK);
            return 1;
        }
        cell::show_into(out, b, enc, self.cut(w), None).width
    }

    /// `name=value, …` within `w` columns: each value by the rule, the
    /// whole cut with `…` when it does not fit.
    fn headers_cell(&mut self, out: &mut String, r: &Record<'_>, enc: Encoding, w: usize) {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        for (i, (k, v)) in r.headers.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            cell::show_into(&mut text, Some(k), Encoding::Utf8, None, None);
            text.push('=');
            cell::show_into(&mut text, v, enc, Some(48), None);
        }
        // The pieces are already escaped: cut by width only.
        let limit = if self.look.full { usize::MAX } else { w };
        if cell::width(&text) <= limit {
            out.push_str(&text);
        } else {
            let mut used = 0;
            for c in text.chars() {
                let cw = cell::width(c.encode_utf8(&mut [0u8; 4]));
                if used + cw + 1 > limit {
                    break;
                }
                out.push(c);
                used += cw;
            }
            out.push('…');
        }
        self.scratch = text;
    }
}

/// The fields of a batch header in one line (the boundary row of the
/// record table).
pub fn batch_summary(b: &BatchInfo) -> String {
    let mut s = format!("at {}: offsets {}", b.position, offsets(b));
    let _ = write!(
        s,
        ", {}, v{} {}, crc {}, {} max ",
        b.count.map_or("? records".into(), |c| super::count(c, "record")),
        b.magic,
        codec(b),
        crc(b),
        b.timestamp_type.name()
    );
    push_time(&mut s, b.max_timestamp);
    if b.producer_id >= 0 {
        let _ = write!(s, ", producer {}", producer(b));
    }
    let f = flags(b);
    if !f.is_empty() {
        let _ = write!(s, " [{f}]");
    }
    let _ = write!(s, ", {}", super::count(b.size, "byte"));
    s
}

fn offsets(b: &BatchInfo) -> String {
    if b.base_offset == b.last_offset {
        b.base_offset.to_string()
    } else {
        format!("{}..{}", b.base_offset, b.last_offset)
    }
}

fn codec(b: &BatchInfo) -> &'static str {
    b.compression.map_or("invalid", |c| c.name())
}

fn crc(b: &BatchInfo) -> String {
    format!("{:08x} {}", b.crc, if b.crc_valid { "ok" } else { "BAD" })
}

fn producer(b: &BatchInfo) -> String {
    if b.producer_id < 0 { "-".into() } else { format!("{}/{}/{}", b.producer_id, b.producer_epoch, b.base_sequence) }
}

fn flags(b: &BatchInfo) -> String {
    let mut f = Vec::new();
    if b.is_transactional {
        f.push("txn");
    }
    if b.is_control {
        f.push("control");
    }
    if b.delete_horizon.is_some() {
        f.push("delete-horizon");
    }
    f.join(",")
}

/// The batch table of one file: the columns that matter first, as many as
/// fit the width (with `--full`, all of them).
pub struct BatchGrid {
    look: Look,
    cols: Vec<(&'static str, usize, bool)>,
    started: bool,
}

impl BatchGrid {
    pub fn new(look: Look, base: i64, size: u64) -> BatchGrid {
        let o = digits(base.max(0).saturating_add(i64::try_from(size / 8).unwrap_or(i64::MAX)));
        let all = [
            ("offsets", (2 * o + 2).max(7), true),
            ("records", 7, true),
            ("position", digits(i64::try_from(size).unwrap_or(i64::MAX)).max(8), true),
            ("size", 8, true),
            ("codec", 6, false),
            ("crc", 11, false),
            ("max timestamp", TS, false),
            ("producer id/epoch/seq", 21, false),
            ("flags", 11, false),
            ("magic", 5, false),
            ("timestamp type", 15, false),
        ];
        let mut cols = Vec::new();
        let mut used = 0;
        for c in all {
            let need = if cols.is_empty() { c.1 } else { c.1 + GAP };
            if !look.full && !cols.is_empty() && used + need > look.width {
                break;
            }
            used += need;
            cols.push(c);
        }
        BatchGrid { look, cols, started: false }
    }

    /// Whether the titles are out.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Go on from another writer's [`BatchGrid::started`] on the same file.
    pub fn resume(&mut self, started: bool) {
        self.started = started;
    }

    fn start(&mut self, out: &mut String) {
        self.started = true;
        let mut titles = String::new();
        let mut rule = String::new();
        for (i, &(t, w, right)) in self.cols.iter().enumerate() {
            if i > 0 {
                spaces(&mut titles, GAP);
                spaces(&mut rule, GAP);
            }
            let pad = w.saturating_sub(t.len());
            if right {
                spaces(&mut titles, pad);
                titles.push_str(t);
            } else {
                titles.push_str(t);
                spaces(&mut titles, pad);
            }
            for _ in 0..w.max(t.len()) {
                rule.push('─');
            }
        }
        self.look.paint(out, BOLD, titles.trim_end());
        out.push('\n');
        self.look.paint(out, DIM, &rule);
        out.push('\n');
    }

    pub fn batch(&mut self, out: &mut String, b: &BatchInfo) {
        if !self.started {
            self.start(out);
        }
        for (i, &(t, w, right)) in self.cols.iter().enumerate() {
            if i > 0 {
                spaces(out, GAP);
            }
            let text = match t {
                "offsets" => offsets(b),
                "records" => b.count.map_or("?".into(), |c| c.to_string()),
                "position" => b.position.to_string(),
                "size" => b.size.to_string(),
                "codec" => codec(b).to_string(),
                "crc" => crc(b),
                "max timestamp" => {
                    let mut s = String::new();
                    push_time(&mut s, b.max_timestamp);
                    s
                }
                "producer id/epoch/seq" => producer(b),
                "flags" => flags(b),
                "magic" => format!("v{}", b.magic),
                _ => b.timestamp_type.name().to_string(),
            };
            let mut cellv = String::new();
            let width = cell::show_str(&mut cellv, &text, (!self.look.full).then_some(w.max(t.len())));
            let pad = w.max(t.len()).saturating_sub(width);
            if right {
                spaces(out, pad);
            }
            if t == "crc" && !b.crc_valid {
                self.look.paint(out, RED, &cellv);
            } else {
                out.push_str(&cellv);
            }
            if !right {
                spaces(out, pad);
            }
        }
        while out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_match_jiff() {
        for ms in [
            0,
            1,
            999,
            86_399_999,
            951_782_400_000,
            1_700_000_000_000,
            1_709_164_800_123,
            4_102_444_800_000,
            253_402_000_000_000,
        ] {
            let mut s = String::new();
            push_time(&mut s, ms);
            assert_eq!(Some(s), super::super::rfc3339(ms), "{ms}");
        }
        let mut s = String::new();
        push_time(&mut s, -1);
        assert_eq!(s, "-1");
    }
}
