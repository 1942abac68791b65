//! Files of a partition directory, by kind, and its segments in base-offset order.

use std::io;
use std::path::{Path, PathBuf};

use crate::files::change::FileId;
use crate::format::checkpoint::TextFormat;

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
    /// Log-directory root: `meta.properties` (Java properties).
    MetaProperties,
    /// Log-directory root: `.kafka_cleanshutdown` (JSON, or empty).
    CleanShutdown,
    /// Log-directory root: `recovery-point-offset-checkpoint`.
    RecoveryPointCheckpoint,
    /// Log-directory root: `log-start-offset-checkpoint`.
    LogStartOffsetCheckpoint,
    /// Log-directory root: `replication-offset-checkpoint` (high watermarks).
    ReplicationOffsetCheckpoint,
    /// Log-directory root: `cleaner-offset-checkpoint`.
    CleanerOffsetCheckpoint,
    /// Partition directory: `partition.metadata` (version and topic id).
    PartitionMetadata,
    /// Partition directory: `leader-epoch-checkpoint`.
    LeaderEpochCheckpoint,
    /// KRaft metadata partition: `quorum-state` (JSON).
    QuorumState,
    /// Anything else: read as log-framed data when named explicitly.
    Other,
}

impl serde::Serialize for FileKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
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
            FileKind::MetaProperties => "meta.properties",
            FileKind::CleanShutdown => ".kafka_cleanshutdown",
            FileKind::RecoveryPointCheckpoint => "recovery-point-offset-checkpoint",
            FileKind::LogStartOffsetCheckpoint => "log-start-offset-checkpoint",
            FileKind::ReplicationOffsetCheckpoint => "replication-offset-checkpoint",
            FileKind::CleanerOffsetCheckpoint => "cleaner-offset-checkpoint",
            FileKind::PartitionMetadata => "partition.metadata",
            FileKind::LeaderEpochCheckpoint => "leader-epoch-checkpoint",
            FileKind::QuorumState => "quorum-state",
            FileKind::Other => "other",
        }
    }

    /// How a text file of this kind is read by [`crate::format::checkpoint`];
    /// `None` for binary kinds.
    pub fn text_format(self) -> Option<TextFormat> {
        Some(match self {
            FileKind::MetaProperties => TextFormat::MetaProperties,
            FileKind::CleanShutdown => TextFormat::CleanShutdown,
            FileKind::RecoveryPointCheckpoint
            | FileKind::LogStartOffsetCheckpoint
            | FileKind::ReplicationOffsetCheckpoint
            | FileKind::CleanerOffsetCheckpoint => TextFormat::OffsetCheckpoint,
            FileKind::PartitionMetadata => TextFormat::PartitionMetadata,
            FileKind::LeaderEpochCheckpoint => TextFormat::LeaderEpochs,
            FileKind::QuorumState => TextFormat::QuorumState,
            _ => return None,
        })
    }

    /// Text files, read by [`crate::format::checkpoint`].
    pub fn is_text(self) -> bool {
        self.text_format().is_some()
    }

    /// Files that hold log-framed record batches.
    pub fn is_log_framed(self) -> bool {
        matches!(self, FileKind::Log | FileKind::KraftCheckpoint)
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
    let kind = match name {
        "meta.properties" => FileKind::MetaProperties,
        ".kafka_cleanshutdown" => FileKind::CleanShutdown,
        "recovery-point-offset-checkpoint" => FileKind::RecoveryPointCheckpoint,
        "log-start-offset-checkpoint" => FileKind::LogStartOffsetCheckpoint,
        "replication-offset-checkpoint" => FileKind::ReplicationOffsetCheckpoint,
        "cleaner-offset-checkpoint" => FileKind::CleanerOffsetCheckpoint,
        "partition.metadata" => FileKind::PartitionMetadata,
        "leader-epoch-checkpoint" => FileKind::LeaderEpochCheckpoint,
        "quorum-state" => FileKind::QuorumState,
        _ => kind_from_extension(name),
    };
    (kind, state)
}

fn kind_from_extension(name: &str) -> FileKind {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("log") => FileKind::Log,
        Some("index") => FileKind::Index,
        Some("timeindex") => FileKind::TimeIndex,
        Some("txnindex") => FileKind::TxnIndex,
        Some("snapshot") => FileKind::Snapshot,
        Some("checkpoint") => FileKind::KraftCheckpoint,
        _ => FileKind::Other,
    }
}

/// One segment: its `.log` and the sibling files that exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub base_offset: i64,
    /// Where `base_offset` comes from.
    pub base_from: BaseOffsetFrom,
    pub log: PathBuf,
    pub index: Option<PathBuf>,
    pub timeindex: Option<PathBuf>,
    pub txnindex: Option<PathBuf>,
    /// The file `log` named when the segment was listed (`None` for a
    /// stream, or a file gone by then): on a live broker the cleaner swaps
    /// a cleaned file in under the same name and retention removes
    /// segments, so segments read one after another may come from
    /// different moments of the log; [`Segment::changed_since_listing`]
    /// tells.
    pub listed: Option<FileId>,
}

/// Where a segment's base offset comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseOffsetFrom {
    /// The 20 digits of its file name, as the broker names segments.
    Name,
    /// Its first batch: a segment saved under another name (`broken.log`).
    FirstBatch,
    /// The user (`--base-offset`).
    Given,
    /// Not known before reading: a stream, whose first batch is read only
    /// once; checks against the base offset are left out.
    Unknown,
}

impl Segment {
    /// The segment a `.log` path belongs to (its name carries the base
    /// offset), with whichever siblings exist.
    pub fn for_log(log: &Path) -> Option<Segment> {
        let base_offset = base_offset_from_name(log)?;
        Some(Self::with_base(log, base_offset, BaseOffsetFrom::Name))
    }

    /// The segment of a `.log` path with the base offset given, and the
    /// siblings of the same stem that exist (`broken.log`, `broken.index`).
    pub fn with_base(log: &Path, base_offset: i64, base_from: BaseOffsetFrom) -> Segment {
        let sibling = |ext: &str| {
            let p = log.with_extension(ext);
            (p != log && p.is_file()).then_some(p)
        };
        Segment {
            base_offset,
            base_from,
            log: log.to_path_buf(),
            index: sibling("index"),
            timeindex: sibling("timeindex"),
            txnindex: sibling("txnindex"),
            listed: FileId::at(log),
        }
    }

    /// Whether the segment's `.log` was removed or replaced since it was
    /// listed: then what was read of it and of its neighbours belongs to
    /// different moments of a live log, and checks across segments do not
    /// hold. A stream never changes in this sense.
    pub fn changed_since_listing(&self) -> bool {
        self.listed.is_some_and(|id| !id.still_at(&self.log))
    }

    /// A stream (standard input, a pipe): no siblings.
    pub fn stream(path: &Path, base_offset: Option<i64>) -> Segment {
        let (base_offset, base_from) = match base_offset {
            Some(b) => (b, BaseOffsetFrom::Given),
            None => (0, BaseOffsetFrom::Unknown),
        };
        Segment {
            base_offset,
            base_from,
            log: path.to_path_buf(),
            index: None,
            timeindex: None,
            txnindex: None,
            listed: None,
        }
    }
}

/// The base offset of the first entry of the file at `path` (its first
/// 8 bytes), for a segment whose name does not carry it; `None` when the
/// file is shorter.
pub fn first_base_offset(path: &Path) -> io::Result<Option<i64>> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let mut file = std::fs::File::open(path)?.take(8);
    let mut got = 0;
    while got < 8 {
        match file.read(&mut head[got..])? {
            0 => return Ok(None),
            n => got += n,
        }
    }
    Ok(Some(i64::from_be_bytes(head)))
}

/// The live segments of a partition directory (`.log` files whose names
/// carry a base offset, not being deleted, cleaned or swapped), sorted by
/// base offset.
pub fn segments(dir: &Path) -> io::Result<Vec<Segment>> {
    Ok(segments_and_strays(dir)?.0)
}

/// As [`segments`], and the `.log` names that are not regular files (a
/// FIFO or a device): never opened, as opening one could block.
pub fn segments_and_strays(dir: &Path) -> io::Result<(Vec<Segment>, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut strays = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if classify(&path) != (FileKind::Log, None) {
            continue;
        }
        match path.metadata() {
            Ok(m) if m.is_file() => {}
            // Listed, then deleted (a live broker's retention or cleaner).
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            _ => {
                strays.push(path);
                continue;
            }
        }
        if let Some(seg) = Segment::for_log(&path) {
            out.push(seg);
        }
    }
    out.sort_by_key(|s| s.base_offset);
    Ok((out, strays))
}

/// One file of a directory, classified from its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirFile {
    pub path: PathBuf,
    pub kind: FileKind,
    /// `deleted`, `cleaned` or `swap` when the name carries that suffix.
    pub state: Option<&'static str>,
    /// The offset at the start of the name: a segment's base offset, a
    /// producer snapshot's offset, a KRaft snapshot's end offset.
    pub offset: Option<i64>,
}

impl DirFile {
    pub fn new(path: PathBuf) -> Self {
        let (kind, state) = classify(&path);
        let offset = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split(['.', '-']).next())
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok());
        DirFile { path, kind, state, offset }
    }

    /// Where the file goes in a directory listing: segments by base offset
    /// (the `.log`, then `.index`, `.timeindex`, `.txnindex`; files being
    /// cleaned, swapped or deleted after the live ones of the same base),
    /// then producer snapshots, then KRaft snapshots, then the text files
    /// (log-directory files first), then anything else, by name.
    fn order(&self) -> (u8, i64, u8, u8, String) {
        let state = match self.state {
            None => 0,
            Some("cleaned") => 1,
            Some("swap") => 2,
            _ => 3,
        };
        let offset = self.offset.unwrap_or(-1);
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (group, rank) = match self.kind {
            FileKind::Log | FileKind::Index | FileKind::TimeIndex | FileKind::TxnIndex if self.offset.is_some() => {
                (0, self.kind as u8)
            }
            FileKind::Snapshot => (1, 0),
            FileKind::KraftCheckpoint => (2, 0),
            k if k.is_text() => (3, k as u8),
            _ => (4, 0),
        };
        (group, if group < 3 { offset } else { 0 }, state, rank, name)
    }
}

/// The files (not directories) of `dir`, in the order a listing shows them
/// (see [`DirFile`]).
pub fn files(dir: &Path) -> io::Result<Vec<DirFile>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_type = match entry.file_type() {
            Ok(t) => t,
            // Listed, then deleted: on file systems whose listing gives no
            // type, asking for it reads the file's metadata.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if file_type.is_dir() || entry.path().is_dir() {
            continue;
        }
        out.push(DirFile::new(entry.path()));
    }
    out.sort_by_cached_key(DirFile::order);
    Ok(out)
}

/// The subdirectories of `dir`: partition directories (`<topic>-<n>`) by
/// topic then partition number, anything else by name.
pub fn subdirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.path().is_dir() {
            out.push(entry.path());
        }
    }
    out.sort_by_cached_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match name.rsplit_once('-').map(|(t, n)| (t, n.parse::<u32>())) {
            Some((topic, Ok(n))) => (topic.to_string(), n, name),
            _ => (name.clone(), 0, name),
        }
    });
    Ok(out)
}

/// The live producer snapshots (`<offset>.snapshot`) of a partition
/// directory, by offset.
pub fn snapshots(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(files(dir)?
        .into_iter()
        .filter(|f| f.kind == FileKind::Snapshot && f.state.is_none() && f.offset.is_some())
        // Never a FIFO or device: opening one could block.
        .filter(|f| f.path.metadata().is_ok_and(|m| m.is_file()))
        .map(|f| f.path)
        .collect())
}

/// The newest live producer snapshot (`<offset>.snapshot`) of a partition
/// directory and its offset, if it has one.
pub fn newest_snapshot(dir: &Path) -> io::Result<Option<(PathBuf, i64)>> {
    let mut best: Option<(PathBuf, i64)> = None;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if classify(&path) != (FileKind::Snapshot, None) || !path.metadata().is_ok_and(|m| m.is_file()) {
            continue;
        }
        if let Some(o) = base_offset_from_name(&path)
            && best.as_ref().is_none_or(|(_, b)| o > *b)
        {
            best = Some((path, o));
        }
    }
    Ok(best)
}

/// The base offset in a segment file name: the digits before the first dot.
pub fn base_offset_from_name(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.split('.').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_offset_from_the_digits_before_the_first_dot() {
        assert_eq!(base_offset_from_name(Path::new("/x/00000000000000021236.log")), Some(21236));
        assert_eq!(base_offset_from_name(Path::new("00000000000000000000.log.deleted")), Some(0));
        assert_eq!(base_offset_from_name(Path::new("leader-epoch-checkpoint")), None);
    }

    #[test]
    fn kinds_from_names() {
        assert_eq!(classify(Path::new("00000000000000000000.log")), (FileKind::Log, None));
        assert_eq!(classify(Path::new("00000000000000000000.index.deleted")), (FileKind::Index, Some("deleted")));
        assert_eq!(classify(Path::new("00000000000000000000.log.swap")), (FileKind::Log, Some("swap")));
        assert_eq!(
            classify(Path::new("00000000000000000123-0000000001.checkpoint")),
            (FileKind::KraftCheckpoint, None)
        );
        assert_eq!(classify(Path::new("leader-epoch-checkpoint")), (FileKind::LeaderEpochCheckpoint, None));
        assert_eq!(classify(Path::new("leader-epoch-checkpoint.tmp")), (FileKind::Other, None));
        assert_eq!(classify(Path::new("/d/.kafka_cleanshutdown")), (FileKind::CleanShutdown, None));
        assert_eq!(classify(Path::new("bootstrap.checkpoint")), (FileKind::KraftCheckpoint, None));
        assert_eq!(classify(Path::new("00000000000000000013.snapshot.deleted")), (FileKind::Snapshot, Some("deleted")));
        assert_eq!(classify(Path::new("x.checkpoint.part")), (FileKind::Other, None));
        for kind in [FileKind::MetaProperties, FileKind::QuorumState, FileKind::PartitionMetadata] {
            assert_eq!(classify(Path::new(kind.name())).0, kind);
        }
    }

    #[test]
    fn listing_order() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "leader-epoch-checkpoint",
            "partition.metadata",
            "00000000000000000040.snapshot",
            "00000000000000000040.timeindex",
            "00000000000000000040.index",
            "00000000000000000040.log",
            "00000000000000000000.log.deleted",
            "00000000000000000000.index.deleted",
            "00000000000000000007.snapshot",
            "00000000000000000040.txnindex",
            "00000000000000000040.log.cleaned",
            "00000000000000000006-0000000001.checkpoint",
            "zz-notes.txt",
            "00000000000000000000.log",
            "meta.properties",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("t-10")).unwrap();
        std::fs::create_dir(dir.path().join("t-9")).unwrap();
        let got: Vec<String> = files(dir.path())
            .unwrap()
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            got,
            [
                "00000000000000000000.log",
                "00000000000000000000.log.deleted",
                "00000000000000000000.index.deleted",
                "00000000000000000040.log",
                "00000000000000000040.index",
                "00000000000000000040.timeindex",
                "00000000000000000040.txnindex",
                "00000000000000000040.log.cleaned",
                "00000000000000000007.snapshot",
                "00000000000000000040.snapshot",
                "00000000000000000006-0000000001.checkpoint",
                "meta.properties",
                "partition.metadata",
                "leader-epoch-checkpoint",
                "zz-notes.txt",
            ]
        );
        let dirs: Vec<String> = subdirs(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(dirs, ["t-9", "t-10"]);
        assert_eq!(snapshots(dir.path()).unwrap().len(), 2);
    }
}
