//! The files of a partition directory and of a log directory besides the
//! segments, checked as the broker reads them at start-up (Kafka's
//! `LogLoader`, `LeaderEpochFileCache`, `LogManager`): the leader-epoch
//! checkpoint, `partition.metadata`, producer snapshots against the log end,
//! index files without their segment, files left by an interrupted delete,
//! clean or swap, and the log directory's `meta.properties` and offset
//! checkpoints.
//!
//! Where Kafka accepts a value outside the log and corrects it at load, no
//! finding is made: a recovery point past the log end (Kafka takes the
//! smaller), a high watermark (`replication-offset-checkpoint`) outside the
//! log (clamped to it), a cleaner offset outside the log (reset to the log
//! start), a log start offset below the first segment (Kafka takes the
//! larger).

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::analysis::verify::{FileReport, Finding, LeftOut, Severity, Status};
use crate::files::logdir::Partition;
use crate::files::partition::{self, FileKind};
use crate::format::checkpoint::{self, Entry, Item, Parsed, TextFormat};
use crate::format::problem::KEPT_PER_KIND;
use crate::format::problem::ProblemKind;

/// Findings of one kind about the lines of one file: the first
/// [`KEPT_PER_KIND`] (offset and message), then only counted.
#[derive(Default)]
struct Capped {
    kept: Vec<(i64, String)>,
    more: u64,
}

impl Capped {
    fn push(&mut self, offset: i64, message: impl FnOnce() -> String) {
        if self.kept.len() < KEPT_PER_KIND {
            self.kept.push((offset, message()));
        } else {
            self.more += 1;
        }
    }

    /// Into `out`: the kept findings of `kind` about `file`, and the count
    /// of the rest (in the summary's counts and the table's "… and N more").
    fn finish(self, out: &mut Checked, file: &Path, kind: ProblemKind, severity: Severity) {
        for (offset, msg) in self.kept {
            out.add_at(file, kind, severity, offset, msg);
        }
        if self.more > 0 {
            out.left_out.push(LeftOut { file: file.to_path_buf(), kind, severity, count: self.more });
        }
    }
}

/// What checking the small files found.
#[derive(Debug, Default)]
pub struct Checked {
    pub files: Vec<FileReport>,
    pub findings: Vec<Finding>,
    /// Findings past [`KEPT_PER_KIND`] of one kind in one file, counted.
    pub left_out: Vec<LeftOut>,
}

impl Checked {
    fn add(&mut self, file: &Path, kind: ProblemKind, severity: Severity, position: Option<u64>, message: String) {
        self.findings.push(Finding { file: file.to_path_buf(), kind, severity, position, offset: None, message });
    }

    /// A file or directory that could not be read: gone (`NotFound`: listed,
    /// then removed or renamed by a live broker, as a deleted topic's
    /// partition is) is a change seen while reading, a warning; anything
    /// else is an error.
    fn unreadable(&mut self, path: &Path, e: &std::io::Error) {
        if e.kind() == std::io::ErrorKind::NotFound {
            let msg = "removed while being read (a live broker deleted or renamed it)".to_string();
            self.add(path, ProblemKind::ChangedDuringRead, Severity::Warning, None, msg);
        } else {
            self.add(path, ProblemKind::Unreadable, Severity::Error, None, e.to_string());
        }
    }

    /// A finding about one line of a text file: its offset, the line number in the message.
    fn add_at(&mut self, file: &Path, kind: ProblemKind, severity: Severity, offset: i64, msg: String) {
        self.findings.push(Finding {
            file: file.to_path_buf(),
            kind,
            severity,
            position: None,
            offset: Some(offset),
            message: msg,
        });
    }

    /// Read and parse a text file, report its parse issues (each an error:
    /// Kafka refuses the file) and list it.
    fn text(&mut self, path: &Path, kind: FileKind) -> Option<Parsed> {
        let mut entries = Vec::new();
        let mut parsed = self.read_text(path, kind, &mut |item| {
            if let Item::Entry(e) = item {
                entries.push(e);
            }
        })?;
        parsed.entries = entries;
        Some(parsed)
    }

    /// The same, handing each entry to `on_item` as it is read.
    fn read_text(&mut self, path: &Path, kind: FileKind, on_item: &mut dyn FnMut(Item)) -> Option<Parsed> {
        let format = kind.text_format()?;
        let mut data = Vec::new();
        let max = format.max_bytes();
        let read = std::fs::File::open(path).and_then(|f| f.take(max + 1).read_to_end(&mut data));
        if let Err(e) = read {
            self.unreadable(path, &e);
            self.list(path, kind, 0);
            return None;
        }
        if data.len() as u64 > max {
            let msg = format!("larger than the {max} bytes kseg reads of a {}", kind.name());
            self.add(path, ProblemKind::EntryTooLarge, Severity::Error, None, msg);
            let size = std::fs::metadata(path).map_or(data.len() as u64, |m| m.len());
            self.list(path, kind, size);
            return None;
        }
        let parsed = checkpoint::visit(format, &data, on_item);
        for i in &parsed.issues {
            let msg = match i.line {
                Some(l) => format!("line {l}: {}", i.message),
                None => i.message.clone(),
            };
            self.add(path, i.kind, Severity::Error, Some(i.position), msg);
        }
        for n in &parsed.not_kept {
            self.left_out.push(LeftOut {
                file: path.to_path_buf(),
                kind: n.kind,
                severity: Severity::Error,
                count: n.count,
            });
        }
        self.list(path, kind, data.len() as u64);
        Some(parsed)
    }

    fn list(&mut self, path: &Path, kind: FileKind, bytes: u64) {
        self.files.push(FileReport {
            file: path.to_path_buf(),
            kind,
            status: Status::Ok,
            batches: 0,
            records: 0,
            bytes,
        });
    }
}

/// The log end offset of a partition as the broker computes it at load: one
/// past the last offset in its segments, and at least the active segment's
/// base offset. `None` when it has no segment.
pub fn log_end_offset(part: &Partition, last_offset: Option<i64>) -> Option<i64> {
    let base = part.segments.last()?.base_offset;
    Some(last_offset.map_or(base, |l| l.saturating_add(1)).max(base))
}

/// `<topic>-<n>` from a partition directory's name.
pub fn topic_partition(dir: &Path) -> Option<(String, i32)> {
    let (topic, n) = dir.file_name()?.to_str()?.rsplit_once('-')?;
    Some((topic.to_string(), n.parse().ok()?))
}

/// Check the files of one partition directory besides its segments and
/// live snapshots (those are checked by [`crate::analysis::verify`]).
/// `last_offset` is the last offset in its segments.
pub fn check_partition(part: &Partition, last_offset: Option<i64>) -> Checked {
    let mut out = Checked::default();
    let Some(dir) = &part.dir else { return out };
    let leo = log_end_offset(part, last_offset);
    let files = match partition::files(dir) {
        Ok(f) => f,
        Err(e) => {
            out.unreadable(dir, &e);
            return out;
        }
    };
    let logs: HashSet<i64> = part.segments.iter().map(|s| s.base_offset).collect();
    for f in &files {
        if let Some(state) = f.state {
            let what = match state {
                "deleted" => "deleted by the broker's next start",
                "cleaned" => "left by an interrupted clean; deleted by the broker's next start",
                _ => "left by an interrupted clean or split; renamed into place by the broker's next start",
            };
            let msg = format!("a .{state} file, {what}");
            out.add(&f.path, ProblemKind::LeftoverFile, Severity::Note, None, msg);
            continue;
        }
        match f.kind {
            FileKind::Index | FileKind::TimeIndex | FileKind::TxnIndex => {
                if let Some(o) = f.offset
                    && !logs.contains(&o)
                {
                    let msg = format!(
                        "no {:020}.log beside it: the broker deletes an orphaned index at start-up; the segment's data is gone",
                        o
                    );
                    out.add(&f.path, ProblemKind::IndexWithoutSegment, Severity::Warning, None, msg);
                    let bytes = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
                    out.list(&f.path, f.kind, bytes);
                }
            }
            FileKind::Snapshot => {
                if let (Some(o), Some(leo)) = (f.offset, leo)
                    && o > leo
                {
                    let msg = format!(
                        "producer snapshot at offset {o} is past the log end offset {leo}: the broker deletes it at start-up"
                    );
                    out.add(&f.path, ProblemKind::SnapshotPastEnd, Severity::Warning, None, msg);
                }
            }
            FileKind::LeaderEpochCheckpoint => {
                leader_epochs(&mut out, &f.path, leo);
            }
            FileKind::PartitionMetadata => {
                out.text(&f.path, f.kind);
            }
            _ => {}
        }
    }
    out
}

/// Epochs strictly increasing, start offsets strictly increasing (Kafka's
/// cache drops an entry whose epoch or start offset is not above the one
/// before), none starting past the log end (Kafka truncates those at load).
fn leader_epochs(out: &mut Checked, path: &Path, leo: Option<i64>) {
    let mut prev: Option<(i32, i64)> = None;
    let (mut not_increasing, mut past_end) = (Capped::default(), Capped::default());
    out.read_text(path, FileKind::LeaderEpochCheckpoint, &mut |item| {
        let Item::Entry(Entry::Epoch { line, epoch, start_offset }) = item else { return };
        if let Some((pe, po)) = prev
            && (epoch <= pe || start_offset <= po)
        {
            not_increasing.push(start_offset, || {
                format!("line {line}: epoch {epoch} from offset {start_offset} does not follow epoch {pe} from offset {po}")
            });
        }
        if let Some(leo) = leo
            && start_offset > leo
        {
            past_end.push(start_offset, || {
                format!(
                    "line {line}: epoch {epoch} starts at offset {start_offset}, past the log end offset {leo}; the broker truncates it at load"
                )
            });
        }
        prev = Some((epoch, start_offset));
    });
    not_increasing.finish(out, path, ProblemKind::LeaderEpochNotIncreasing, Severity::Error);
    past_end.finish(out, path, ProblemKind::LeaderEpochPastEnd, Severity::Warning);
}

/// Check what spans partitions: the same topic id in every partition of a
/// topic, and each log directory (the parent of a partition directory, at
/// or below a PATH argument, or a PATH argument holding a log directory's
/// files): `meta.properties` and the offset checkpoints, whose entries must
/// name partitions that exist (a note when not: a copy of part of a log
/// directory has them) and whose log start offsets must not be past the log
/// end (Kafka deletes every segment of such a partition at load).
///
/// `leos` is each partition's log end offset ([`log_end_offset`]).
pub fn check_log_dirs(paths: &[PathBuf], partitions: &[Partition], leos: &[Option<i64>]) -> Checked {
    let mut out = Checked::default();
    topic_ids(&mut out, partitions);
    let mut dirs: Vec<PathBuf> = Vec::new();
    let under_args = |d: &Path| paths.iter().any(|p| d.starts_with(p));
    for part in partitions {
        if let Some(parent) = part.dir.as_deref().and_then(Path::parent)
            && under_args(parent)
            && !dirs.iter().any(|d| d == parent)
        {
            dirs.push(parent.to_path_buf());
        }
    }
    for p in paths {
        if p.join("meta.properties").is_file() && !dirs.iter().any(|d| d == p) {
            dirs.push(p.clone());
        }
    }
    for dir in dirs {
        // Partitions of this log directory and their log end offsets.
        let mut here: BTreeMap<(String, i32), Option<i64>> = BTreeMap::new();
        for (part, leo) in partitions.iter().zip(leos) {
            if let Some(pd) = &part.dir
                && pd.parent() == Some(dir.as_path())
                && let Some(tp) = topic_partition(pd)
            {
                here.insert(tp, *leo);
            }
        }
        for kind in [
            FileKind::MetaProperties,
            FileKind::RecoveryPointCheckpoint,
            FileKind::LogStartOffsetCheckpoint,
            FileKind::ReplicationOffsetCheckpoint,
            FileKind::CleanerOffsetCheckpoint,
        ] {
            let path = dir.join(kind.name());
            if !path.is_file() {
                continue;
            }
            if kind == FileKind::MetaProperties {
                out.text(&path, kind);
                continue;
            }
            // Entries are checked as they are read, and only so many of each
            // kind of finding kept (then counted): a checkpoint of a million
            // partitions costs no more memory than its bytes.
            let mut unknown = Capped::default();
            let mut past_end = Capped::default();
            out.read_text(&path, kind, &mut |item| {
                let Item::Entry(Entry::Offset { line, topic, partition, offset }) = item else { return };
                let key = (topic, partition);
                let (topic, partition) = (&key.0, key.1);
                match here.get(&key) {
                    None => unknown.push(offset, || format!(
                        "line {line}: {topic}-{partition} has no directory here (the broker ignores the entry; a partial copy of a log directory has such entries)"
                    )),
                    Some(Some(leo)) if kind == FileKind::LogStartOffsetCheckpoint && offset > *leo => {
                        past_end.push(offset, || format!(
                            "line {line}: log start offset {offset} of {topic}-{partition} is past its log end offset {leo}: the broker deletes all its segments at load"
                        ))
                    }
                    Some(_) => {}
                }
            });
            unknown.finish(&mut out, &path, ProblemKind::CheckpointUnknownPartition, Severity::Note);
            past_end.finish(&mut out, &path, ProblemKind::LogStartPastEnd, Severity::Error);
        }
    }
    out
}

/// Every partition of a topic must carry the same topic id.
fn topic_ids(out: &mut Checked, partitions: &[Partition]) {
    // topic → (first partition.metadata, its id)
    let mut first: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    for part in partitions {
        let Some(dir) = &part.dir else { continue };
        let Some((topic, _)) = topic_partition(dir) else { continue };
        let path = dir.join("partition.metadata");
        let Ok(data) = std::fs::File::open(&path).and_then(|f| {
            let mut d = Vec::new();
            f.take(TextFormat::PartitionMetadata.max_bytes()).read_to_end(&mut d).map(|_| d)
        }) else {
            continue;
        };
        let parsed = checkpoint::parse(TextFormat::PartitionMetadata, &data);
        if !parsed.issues.is_empty() {
            // Reported as the file's own finding; a bad id is no evidence.
            continue;
        }
        let Some(id) = parsed.entries.iter().find_map(|e| match e {
            Entry::Property { key, value, .. } if key == "topic_id" => Some(value.clone()),
            _ => None,
        }) else {
            continue;
        };
        match first.get(&topic) {
            None => {
                first.insert(topic, (path, id));
            }
            Some((other, other_id)) if *other_id != id => {
                let msg = format!(
                    "topic id {id} differs from {other_id} in {}: partitions of one topic from two different topics of that name",
                    other.display()
                );
                out.add(&path, ProblemKind::TopicIdMismatch, Severity::Error, Some(0), msg);
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partition directory listed, then renamed away by a live broker (a
    /// deleted topic) before its files are checked: a warning that it
    /// changed while being read, not an unreadable-file error (exit 2).
    #[test]
    fn a_partition_directory_gone_before_its_check_is_a_change_not_an_error() {
        let root = tempfile::tempdir().unwrap();
        let part = Partition {
            dir: Some(root.path().join("orders-0")),
            segments: Vec::new(),
            active: None,
            snapshots: Vec::new(),
        };
        let checked = check_partition(&part, None);
        let kinds: Vec<_> = checked.findings.iter().map(|f| (f.kind, f.severity)).collect();
        assert_eq!(kinds, [(ProblemKind::ChangedDuringRead, Severity::Warning)]);
    }
}
