//! Files of a partition directory, by kind, and its segments in base-offset order.

use std::io;
use std::path::{Path, PathBuf};

use crate::segment::base_offset_from_name;

/// What a file in a log directory is, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Log,
    Index,
    TimeIndex,
    TxnIndex,
    Snapshot,
    /// A KRaft snapshot (`<offset>-<epoch>.checkpoint`) or `bootstrap.checkpoint`.
    KraftCheckpoint,
    /// Anything else: read as log-framed data when named explicitly.
    Other,
}

impl FileKind {
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Log => "log",
            FileKind::Index => "index",
            FileKind::TimeIndex => "timeindex",
            FileKind::TxnIndex => "txnindex",
            FileKind::Snapshot => "snapshot",
            FileKind::KraftCheckpoint => "kraft-checkpoint",
            FileKind::Other => "other",
        }
    }
}

/// The kind of a file, and the transient state its name carries
/// (`deleted`, `cleaned` or `swap`), if any.
pub fn classify(path: &Path) -> (FileKind, Option<&'static str>) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (name, state) = [("deleted", ".deleted"), ("cleaned", ".cleaned"), ("swap", ".swap")]
        .iter()
        .find_map(|(state, suffix)| name.strip_suffix(suffix).map(|n| (n, Some(*state))))
        .unwrap_or((name, None));
    let kind = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("log") => FileKind::Log,
        Some("index") => FileKind::Index,
        Some("timeindex") => FileKind::TimeIndex,
        Some("txnindex") => FileKind::TxnIndex,
        Some("snapshot") => FileKind::Snapshot,
        Some("checkpoint") => FileKind::KraftCheckpoint,
        _ => FileKind::Other,
    };
    (kind, state)
}

/// One segment: its `.log` and the sibling files that exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub base_offset: i64,
    pub log: PathBuf,
    pub index: Option<PathBuf>,
    pub timeindex: Option<PathBuf>,
    pub txnindex: Option<PathBuf>,
}

impl Segment {
    /// The segment a `.log` path belongs to, with whichever siblings exist.
    pub fn for_log(log: &Path) -> Option<Segment> {
        let base_offset = base_offset_from_name(log)?;
        let sibling = |ext: &str| {
            let p = log.with_extension(ext);
            p.is_file().then_some(p)
        };
        Some(Segment {
            base_offset,
            log: log.to_path_buf(),
            index: sibling("index"),
            timeindex: sibling("timeindex"),
            txnindex: sibling("txnindex"),
        })
    }
}

/// The live segments of a partition directory (`.log` files whose names
/// carry a base offset, not being deleted, cleaned or swapped), sorted by
/// base offset.
pub fn segments(dir: &Path) -> io::Result<Vec<Segment>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if classify(&path) != (FileKind::Log, None) {
            continue;
        }
        if let Some(seg) = Segment::for_log(&path) {
            out.push(seg);
        }
    }
    out.sort_by_key(|s| s.base_offset);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names() {
        assert_eq!(classify(Path::new("00000000000000000000.log")), (FileKind::Log, None));
        assert_eq!(classify(Path::new("00000000000000000000.index.deleted")), (FileKind::Index, Some("deleted")));
        assert_eq!(classify(Path::new("00000000000000000000.log.swap")), (FileKind::Log, Some("swap")));
        assert_eq!(
            classify(Path::new("00000000000000000123-0000000001.checkpoint")),
            (FileKind::KraftCheckpoint, None)
        );
        assert_eq!(classify(Path::new("leader-epoch-checkpoint")), (FileKind::Other, None));
    }
}
