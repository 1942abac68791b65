//! What `kseg dump` shows of a partition: the offset range from
//! `--from-offset`/`--to-offset` and `--from-time`/`--to-time` (found the
//! way `find-time` finds a time, through the same library call), where a
//! segment's walk starts (segment floor and offset index, as a broker
//! seeks), and the record filters `--key`, `--header` and `--producer-id`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use kseg::analysis::find::{self, TimeTarget};
use kseg::files::mmap::Mapped;
use kseg::files::partition::{self, Segment};
use kseg::format::index::{OffsetIndex, Probes};
use kseg::format::record::Record;
use kseg::format::walk::{Source, Walker, last_offset_at};

/// A `--header` filter: a header with this name, and this value if given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderFilter {
    pub name: String,
    pub value: Option<String>,
}

/// `NAME` or `NAME=VALUE` (the first `=` splits).
pub fn header_filter(s: &str) -> Result<HeaderFilter, String> {
    let (name, value) = match s.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (s, None),
    };
    if name.is_empty() {
        return Err("a header filter needs a name: NAME or NAME=VALUE".into());
    }
    Ok(HeaderFilter { name: name.to_string(), value })
}

/// A `--from-time`/`--to-time` value: the forms `find-time` takes.
pub fn time_arg(s: &str) -> Result<TimeTarget, String> {
    super::find::parse_time(s).map_err(|e| format!("{e:#}"))
}

/// The record filters that look at plain records.
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    pub key: Option<String>,
    pub headers: Vec<HeaderFilter>,
}

impl RecordFilter {
    /// The key equals `--key` byte for byte, and every `--header` is there.
    pub fn passes(&self, r: &Record<'_>) -> bool {
        if let Some(k) = &self.key
            && r.key != Some(k.as_bytes())
        {
            return false;
        }
        self.headers.iter().all(|h| {
            r.headers.iter().any(|(name, value)| {
                name == h.name.as_bytes() && h.value.as_ref().is_none_or(|v| value == Some(v.as_bytes()))
            })
        })
    }
}

/// Offsets to show in one partition: `from..=to`, or nothing at all when
/// `--from-time` is past every record.
pub type Range = Option<(i64, i64)>;

/// The time bounds, turned into offsets once per partition.
pub struct Times {
    pub from: Option<TimeTarget>,
    pub to: Option<TimeTarget>,
    cache: HashMap<PathBuf, Range>,
}

impl Times {
    pub fn new(from: Option<TimeTarget>, to: Option<TimeTarget>) -> Times {
        Times { from, to, cache: HashMap::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// The offset range the times give for the partition of `file`: the
    /// directory's segments when the file was found in a directory, the one
    /// segment when it was named (as `find-time` reads what it is given).
    /// `from` is the offset `find-time FROM` answers; `to` is the offset
    /// before the one `find-time TO+1ms` answers (every record up to TO).
    pub fn range(&mut self, file: &Path, listed: bool) -> anyhow::Result<Range> {
        if self.is_empty() {
            return Ok(Some((i64::MIN, i64::MAX)));
        }
        let key = if listed { file.parent().unwrap_or(Path::new(".")).to_path_buf() } else { file.to_path_buf() };
        if let Some(r) = self.cache.get(&key) {
            return Ok(*r);
        }
        let segments: Vec<Segment> = if listed {
            partition::segments(&key).with_context(|| key.display().to_string())?
        } else {
            super::find::segments_for(file, None)?
        };
        let mut range = Some((i64::MIN, i64::MAX));
        if let Some(t) = self.from {
            let a = find::find_time(&segments, t)?;
            range = a.offset.map(|o| (o, i64::MAX));
        }
        if let (Some(t), Some((from, _))) = (self.to, range) {
            let past = match t {
                TimeTarget::At(ms) => TimeTarget::At(ms.saturating_add(1)),
                special => special,
            };
            let a = find::find_time(&segments, past)?;
            range = match a.offset {
                Some(o) if o <= from => None,
                Some(o) => Some((from, o - 1)),
                None => Some((from, i64::MAX)),
            };
        }
        self.cache.insert(key, range);
        Ok(range)
    }
}

/// Where a walk over `log` (base offset `base`) starts to show offsets
/// from `from`: the position of the offset index's entry at or below
/// `from`, as a broker seeks, once that position is checked to hold the
/// batch the entry names. 0 when there is no usable index.
pub fn seek_position<S: Source>(walker: &mut Walker<S>, log: &Path, base: i64, from: i64) -> u64 {
    if from <= base {
        return 0;
    }
    let Ok(map) = Mapped::open(&log.with_extension("index")) else { return 0 };
    let idx = OffsetIndex::new(map, base);
    if idx.trailing_bytes() != 0 {
        return 0;
    }
    let Some(entry) = idx.lookup(from, &mut Probes::default()) else { return 0 };
    let position = u64::from(entry.position);
    // A stale or damaged index must not start the walk inside a batch.
    match last_offset_at(walker.source_mut(), position) {
        Ok(Some(last)) if last == entry.offset => position,
        _ => 0,
    }
}
