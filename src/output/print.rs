//! `kseg dump --print FORMAT`: one line per record in kcat's `-f` format
//! tokens, raw bytes and all, for pipelines. Nothing else is printed on
//! stdout (problems still go to stderr).

use std::io::{self, Write};

use kseg::BatchInfo;
use kseg::format::checkpoint::{Entry as CheckpointEntry, Header as CheckpointHeader};
use kseg::format::index::{OffsetEntry, TimeEntry};
use kseg::format::record::Record;
use kseg::format::snapshot::{ProducerEntry, SnapshotHeader};
use kseg::format::txnindex::AbortedTxn;

use super::{FileStart, Problem, Sink, Summary};

/// Bytes collected before one write to the output.
const FLUSH_AT: usize = 1 << 20;

/// One piece of a format: literal bytes or a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Lit(Vec<u8>),
    /// `%t`
    Topic,
    /// `%p`
    Partition,
    /// `%o`
    Offset,
    /// `%k`
    Key,
    /// `%s`
    Value,
    /// `%K`
    KeySize,
    /// `%S`
    ValueSize,
    /// `%T`
    Timestamp,
    /// `%h`
    Headers,
}

/// The tokens, for the help and the error message.
pub const TOKENS: &str = "%t topic, %p partition, %o offset, %k key, %s value, %K key size, %S value size \
(-1 when null), %T timestamp (ms), %h headers (name=value,…), %% a percent sign, \\n newline, \\t tab, \
\\r carriage return, \\\\ a backslash";

/// A parsed `--print` format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pieces(pub Vec<Piece>);

/// A `--print` argument.
pub fn parse_arg(format: &str) -> Result<Pieces, String> {
    parse(format).map(Pieces)
}

/// Parses a kcat `-f` format string.
pub fn parse(format: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut lit = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        let token = match c {
            '%' => match chars.next() {
                Some('t') => Piece::Topic,
                Some('p') => Piece::Partition,
                Some('o') => Piece::Offset,
                Some('k') => Piece::Key,
                Some('s') => Piece::Value,
                Some('K') => Piece::KeySize,
                Some('S') => Piece::ValueSize,
                Some('T') => Piece::Timestamp,
                Some('h') => Piece::Headers,
                Some('%') => {
                    lit.push(b'%');
                    continue;
                }
                other => {
                    let t = other.map_or("%".to_string(), |c| format!("%{c}"));
                    return Err(format!("unknown token {t:?} in {format:?}; the tokens are: {TOKENS}"));
                }
            },
            '\\' => {
                let b = match chars.next() {
                    Some('n') => b'\n',
                    Some('t') => b'\t',
                    Some('r') => b'\r',
                    Some('\\') => b'\\',
                    other => {
                        let t = other.map_or("\\".to_string(), |c| format!("\\{c}"));
                        return Err(format!("unknown escape {t:?} in {format:?}; the tokens are: {TOKENS}"));
                    }
                };
                lit.push(b);
                continue;
            }
            c => {
                let mut buf = [0u8; 4];
                lit.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
        };
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(token);
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

pub struct PrintSink<'w> {
    out: Box<dyn Write + 'w>,
    pieces: Vec<Piece>,
    buf: Vec<u8>,
    topic: String,
    partition: i64,
}

impl<'w> PrintSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, pieces: Vec<Piece>) -> Self {
        PrintSink { out, pieces, buf: Vec::new(), topic: String::new(), partition: -1 }
    }
}

fn int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn size(bytes: Option<&[u8]>) -> i64 {
    bytes.map_or(-1, |b| b.len() as i64)
}

impl Sink for PrintSink<'_> {
    fn begin_file(&mut self, f: &FileStart<'_>) -> io::Result<()> {
        // kcat's %t and %p; a file outside a TOPIC-N directory has neither.
        (self.topic, self.partition) = match super::topic_partition(std::path::Path::new(f.file)) {
            Some((t, p)) => (t, i64::from(p)),
            None => (String::new(), -1),
        };
        Ok(())
    }

    fn batch(&mut self, _file: &str, _batch: &BatchInfo) -> io::Result<()> {
        Ok(())
    }

    fn record(&mut self, _file: &str, _batch: &BatchInfo, r: &Record<'_>) -> io::Result<()> {
        let b = &mut self.buf;
        for p in &self.pieces {
            match p {
                Piece::Lit(l) => b.extend_from_slice(l),
                Piece::Topic => b.extend_from_slice(self.topic.as_bytes()),
                Piece::Partition => int(b, self.partition),
                Piece::Offset => int(b, r.offset),
                Piece::Key => b.extend_from_slice(r.key.unwrap_or_default()),
                Piece::Value => b.extend_from_slice(r.value.unwrap_or_default()),
                Piece::KeySize => int(b, size(r.key)),
                Piece::ValueSize => int(b, size(r.value)),
                Piece::Timestamp => int(b, r.timestamp),
                Piece::Headers => {
                    for (i, (k, v)) in r.headers.iter().enumerate() {
                        if i > 0 {
                            b.push(b',');
                        }
                        b.extend_from_slice(k);
                        if let Some(v) = v {
                            b.push(b'=');
                            b.extend_from_slice(v);
                        }
                    }
                }
            }
        }
        if b.len() >= FLUSH_AT {
            self.out.write_all(b)?;
            b.clear();
        }
        Ok(())
    }

    fn problem(&mut self, _p: &Problem) -> io::Result<()> {
        Ok(())
    }
    fn index_entry(&mut self, _file: &str, _e: &OffsetEntry) -> io::Result<()> {
        Ok(())
    }
    fn time_index_entry(&mut self, _file: &str, _e: &TimeEntry) -> io::Result<()> {
        Ok(())
    }
    fn txn_entry(&mut self, _file: &str, _e: &AbortedTxn) -> io::Result<()> {
        Ok(())
    }
    fn snapshot(&mut self, _file: &str, _h: &SnapshotHeader) -> io::Result<()> {
        Ok(())
    }
    fn producer_entry(&mut self, _file: &str, _e: &ProducerEntry) -> io::Result<()> {
        Ok(())
    }
    fn checkpoint(&mut self, _file: &str, _h: &CheckpointHeader) -> io::Result<()> {
        Ok(())
    }
    fn checkpoint_entry(&mut self, _file: &str, _e: &CheckpointEntry) -> io::Result<()> {
        Ok(())
    }
    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kcat_tokens_and_escapes() {
        let p = parse("%o\\t%k=%s 100%%\\n").unwrap();
        assert_eq!(
            p,
            [
                Piece::Offset,
                Piece::Lit(b"\t".to_vec()),
                Piece::Key,
                Piece::Lit(b"=".to_vec()),
                Piece::Value,
                Piece::Lit(b" 100%\n".to_vec()),
            ]
        );
        for bad in ["%x", "abc%", "\\q", "tail\\"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("%o offset"), "{bad}: {e}");
        }
    }
}
