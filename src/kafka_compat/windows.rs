//! The `.log` dump on every core (`--jobs N`, kseg only): the mapped file's
//! entries are cut into windows, each window's batch and record lines are
//! written by one worker ([`super::log`]'s `batch`, unchanged), and the
//! windows are written in file order ([`crate::output::ordered`]), so the
//! text is the serial one byte for byte.
//!
//! The one thing a record line needs from before its window is the offset
//! of the record before it, for the `Non-consecutive offsets` report. A
//! worker first finds its window's first record offset `F` (decoding its
//! first batches a second time) and starts from `F - 1`, so the first record
//! adds no pair; the writer, knowing the last offset of the windows before,
//! adds that one pair as the serial walk would have, before the window's own.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};

use kseg::Decoder;
use kseg::files::mmap::Mapped;
use kseg::format::batch::BatchV2;
use kseg::format::compression;
use kseg::format::head::{EntryHead, V2_HEADER_LEN};
use kseg::format::walk::Walker;

use super::java::{Exception, JFile, KResult};
use super::log::{batch, end_of_batches};
use super::{Config, INT_MAX, KafkaDump, group};
use crate::output::ordered::{self, Event, Plan, WindowOut, Work};

/// Bytes of text a worker collects before handing them on: its buffer goes
/// to the writer as it is, and is no smaller than the writer's own buffer,
/// which then passes it on without copying it.
const CHUNK: usize = ordered::CHUNK;

/// What a window's worker reports.
struct Done {
    /// The offset of its first record, and of its last.
    first: Option<i64>,
    last: Option<i64>,
    /// `Non-consecutive offsets` pairs within the window.
    pairs: Option<BTreeMap<i64, i64>>,
    /// The exception that ends the run, after the text before it.
    exception: Option<Exception>,
    /// The bytes of the entries printed without an exception.
    valid: u64,
}

struct Lines<'a> {
    cfg: &'a Config,
}

/// The offset of the first record of `entries` that the record lines would
/// print, if no exception comes first.
fn first_record(window: &[u8], entries: &[(u64, usize)], decoder: &mut Decoder, scratch: &mut Vec<u8>) -> Option<i64> {
    let base = entries.first().map_or(0, |e| e.0);
    for &(position, len) in entries {
        let bytes = &window[(position - base) as usize..(position - base) as usize + len];
        let magic = EntryHead::any_magic(bytes).magic()?;
        let first = if magic >= 2 {
            if bytes.len() < V2_HEADER_LEN {
                return None;
            }
            let b = BatchV2::parse(bytes, position).ok()?;
            let mut it = b.records(scratch, compression::DEFAULT_MAX_DECOMPRESSED).ok()?;
            it.next().map(|r| r.map(|r| r.offset))
        } else {
            let mut d = decoder.decode(bytes, position).ok()?;
            d.records().next().map(|r| r.map(|r| r.offset))
        };
        match first {
            Some(Ok(offset)) => return Some(offset),
            // An exception comes first.
            Some(Err(_)) => return None,
            None => {}
        }
    }
    None
}

/// A worker's buffers and decoder, kept from one window to the next.
struct Scratch {
    buf: Vec<u8>,
    scratch: Vec<u8>,
    decoder: Decoder,
    out: WindowOut<Done>,
}

impl Work for Lines<'_> {
    type State = ();
    type Done = Done;
    type Scratch = Scratch;

    fn scratch(&self, out: &WindowOut<Done>) -> Scratch {
        let buf = Vec::new();
        Scratch { buf, scratch: Vec::new(), decoder: Decoder::default(), out: out.clone() }
    }

    fn work(&self, sc: &mut Scratch, window: &[u8], entries: &[(u64, usize)], _: (), _: &WindowOut<Done>) -> Done {
        let Scratch { buf, scratch, decoder, out } = sc;
        let first = if self.cfg.deep { first_record(window, entries, decoder, scratch) } else { None };
        let mut last_offset = first.map_or(-1, |f| f.wrapping_sub(1));
        let mut done = Done { first, last: None, pairs: None, exception: None, valid: 0 };
        buf.clear();
        let base = entries.first().map_or(0, |e| e.0);
        for &(position, len) in entries {
            let bytes = &window[(position - base) as usize..(position - base) as usize + len];
            // The entries are contiguous from the file's start: the valid
            // bytes before one are its position.
            let r =
                batch(self.cfg, buf, decoder, scratch, bytes, position, position, &mut last_offset, &mut done.pairs);
            if let Err(e) = r {
                done.exception = Some(e);
                break;
            }
            done.valid += len as u64;
            if buf.len() >= CHUNK && out.hand_over(buf).is_err() {
                return done;
            }
        }
        if first.is_some() {
            done.last = Some(last_offset);
        }
        if !buf.is_empty() {
            let _ = out.hand_over(buf);
        }
        done
    }

    fn end_state(&self, _: &Done) {}
}

impl<W: Write> KafkaDump<W> {
    /// [`KafkaDump::dump_log`] of a regular file on `self.cfg.jobs` threads,
    /// from its `Log starting offset` line on.
    pub(super) fn dump_log_windows(&mut self, file: &JFile, f: File, len: u64) -> io::Result<KResult<()>> {
        let map = match Mapped::from_file(f) {
            Ok(m) => m,
            Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
        };
        let mut walker = Walker::new(map.as_ref()).limit_bytes(self.cfg.max_bytes as u64).max_entry(usize::MAX);
        let abs = file.absolute();
        let scala = self.cfg.version.scala_text();
        // The lines so far go first.
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        let mut valid: u64 = 0;
        let mut last_offset: i64 = -1;
        let mut pairs: Option<BTreeMap<i64, i64>> = None;
        let mut result: KResult<()> = Ok(());
        let work = Lines { cfg: &self.cfg };
        let out = &mut self.out;
        let shown = &file.shown;
        ordered::in_order(
            Plan::new(self.cfg.jobs),
            &map,
            &mut walker,
            &work,
            (),
            |_, _| (),
            |event| {
                match event {
                    Event::Begin(_) => {}
                    Event::Out(bytes) => out.write_all(bytes)?,
                    Event::Err(line) => {
                        out.flush()?;
                        eprintln!("{line}");
                    }
                    Event::Done(done) => {
                        if let Some(first) = done.first {
                            // The pair the window's first record makes with the
                            // record before it, as the serial walk adds it.
                            let first_in_scala = scala && last_offset == -1;
                            if first != last_offset.wrapping_add(1) && !first_in_scala {
                                pairs.get_or_insert_with(BTreeMap::new).insert(last_offset, first);
                            }
                        }
                        if let Some(p) = done.pairs {
                            pairs.get_or_insert_with(BTreeMap::new).extend(p);
                        }
                        if let Some(last) = done.last {
                            last_offset = last;
                        }
                        valid += done.valid;
                        if let Some(e) = done.exception {
                            result = Err(e);
                            return Ok(false);
                        }
                    }
                    Event::Step(step) => {
                        result = end_of_batches(step, shown);
                        return Ok(false);
                    }
                }
                Ok(true)
            },
        )?;
        if let Some(p) = pairs.filter(|p| !p.is_empty()) {
            group(&mut self.non_consecutive, &abs).extend(p);
        }
        // As the serial walk: a file that shrank under the walk is said on
        // stderr, and what it zeroed is not reported as damage.
        if let Some(change) = map.change(&file.path) {
            eprintln!("kseg: warning: {}: {change}", file.shown);
            if change.spoils_reading() {
                return Ok(Ok(()));
            }
        }
        if let Err(e) = result {
            return Ok(Err(e));
        }
        let end = len.min(self.cfg.max_bytes as u64);
        let trailing = end - valid;
        if trailing > 0 && self.cfg.max_bytes == INT_MAX {
            self.damaged = true;
            self.line(&format!("Found {trailing} invalid bytes at the end of {}", file.name()));
        }
        Ok(Ok(()))
    }
}
