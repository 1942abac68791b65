//! Whether a file changed while kseg read it. On a live broker files change
//! under a reader all the time: the active segment's indexes shrink from
//! their preallocated size at every roll, followers truncate their log,
//! the cleaner renames a cleaned file over the old one, retention deletes
//! segments. A reader notes what a file was when it opened it
//! ([`Opened::of`]) and asks afterwards ([`Opened::change`]) whether it
//! shrank, lost mapped pages, or was replaced or removed at its path, so a
//! result read from a moving file is reported as that and not as damage.

use std::fmt;
use std::fs::File;
use std::path::Path;

/// What a file was when it was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    pub len: u64,
    id: FileId,
}

/// Which file a name stood for (device and inode): the cleaner's swap puts
/// another file under the same name, which only this tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The file at `path` now, if there is one.
    pub fn at(path: &Path) -> Option<FileId> {
        std::fs::metadata(path).ok().map(|m| identity(&m))
    }

    /// Whether `path` still names this file (not removed, not replaced).
    pub fn still_at(self, path: &Path) -> bool {
        FileId::at(path) == Some(self)
    }
}

/// How a file changed while it was being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// It is shorter now than when it was opened (truncated by the broker,
    /// or a preallocated index trimmed at a roll).
    Shrank { before: u64, after: u64 },
    /// Pages of a memory map of it disappeared while being read (the file
    /// was truncated under the map); kseg read zeros there instead of
    /// being stopped by the kernel.
    PagesLost { before: u64, after: u64 },
    /// Another file now has its name (the cleaner's swap, a rename); what
    /// was read is the file as it was when opened.
    Replaced { before: u64 },
    /// Its name is gone (retention, the cleaner's delete); what was read
    /// is the file as it was when opened.
    Removed { before: u64 },
    /// It was listed, but gone by the time it was opened.
    Vanished,
}

impl Change {
    /// Whether what was read may be partly missing or zero: the result for
    /// the file is not to be trusted (a replaced or removed file was read
    /// whole, as it was when opened).
    pub fn spoils_reading(self) -> bool {
        matches!(self, Change::Shrank { .. } | Change::PagesLost { .. })
    }

    /// Whether checks between this file and its segment's other files no
    /// longer hold: besides a spoiled read, a file replaced or removed at
    /// its name. The cleaner swaps a segment's `.log` and indexes in one
    /// after another, so a reader that opened the old `.index` and then the
    /// new `.log` compares two moments of the log.
    pub fn spoils_segment(self) -> bool {
        self.spoils_reading() || matches!(self, Change::Replaced { .. } | Change::Removed { .. })
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Change::Shrank { before, after } => {
                write!(f, "changed while being read: {before} bytes when opened, {after} bytes now")
            }
            Change::PagesLost { before, after } => write!(
                f,
                "changed while being read: {before} bytes when opened, {after} bytes now (pages of it vanished while mapped)"
            ),
            Change::Replaced { before } => {
                write!(f, "replaced while being read ({before} bytes read from the file as it was when opened)")
            }
            Change::Removed { before } => {
                write!(f, "removed while being read ({before} bytes read from the file as it was when opened)")
            }
            Change::Vanished => f.write_str("removed before it could be read (the broker's retention or cleaner)"),
        }
    }
}

impl Opened {
    /// Note what `file` is now.
    pub fn of(file: &File) -> std::io::Result<Opened> {
        let meta = file.metadata()?;
        Ok(Opened { len: meta.len(), id: identity(&meta) })
    }

    /// How the file opened as `file` from `path` changed since [`Opened::of`],
    /// if it did; `lost` says whether a map of it lost pages. A file that
    /// grew (a live segment being appended to) has not changed for a reader
    /// that reads only the length it saw when it opened it.
    pub fn change(&self, file: &File, path: &Path, lost: bool) -> Option<Change> {
        let after = file.metadata().map(|m| m.len()).unwrap_or(0);
        if lost {
            return Some(Change::PagesLost { before: self.len, after });
        }
        if after < self.len {
            return Some(Change::Shrank { before: self.len, after });
        }
        match std::fs::metadata(path) {
            Err(_) => Some(Change::Removed { before: self.len }),
            Ok(now) if identity(&now) != self.id => Some(Change::Replaced { before: self.len }),
            Ok(_) => None,
        }
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId { dev: meta.dev(), ino: meta.ino() }
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> FileId {
    FileId { dev: 0, ino: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_replacing_and_removing_are_told_apart_and_growth_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.log");
        std::fs::write(&path, [1u8; 100]).unwrap();
        let file = File::open(&path).unwrap();
        let opened = Opened::of(&file).unwrap();
        assert_eq!(opened.change(&file, &path, false), None);
        assert_eq!(opened.change(&file, &path, true), Some(Change::PagesLost { before: 100, after: 100 }));
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(150).unwrap();
        assert_eq!(opened.change(&file, &path, false), None, "a segment being appended to");
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(40).unwrap();
        assert_eq!(opened.change(&file, &path, false), Some(Change::Shrank { before: 100, after: 40 }));

        std::fs::write(&path, [1u8; 100]).unwrap();
        let file = File::open(&path).unwrap();
        let opened = Opened::of(&file).unwrap();
        let other = dir.path().join("copy");
        std::fs::write(&other, [2u8; 100]).unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(opened.change(&file, &path, false), Some(Change::Replaced { before: 100 }));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(opened.change(&file, &path, false), Some(Change::Removed { before: 100 }));
        assert!(!Change::Removed { before: 1 }.spoils_reading());
        assert!(Change::Removed { before: 1 }.spoils_segment());
        assert!(Change::Replaced { before: 1 }.spoils_segment());
        assert!(!Change::Vanished.spoils_segment());
        assert!(Change::Shrank { before: 2, after: 1 }.spoils_reading());
    }
}
