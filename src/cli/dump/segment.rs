//! `dump` of a `.log` (or any log-framed file): every entry is shown by one
//! function ([`entry`]), in one of two walks. The serial walk reads one
//! batch after another with plain reads: streams (`-`, pipes), `-j 1`,
//! `--limit` (which reads little) and `--print`. The parallel walk maps the
//! file and has its windows formatted by every core, written in file order
//! ([`crate::output::ordered`]): the same bytes on stdout and stderr, the
//! same exit status.

use std::io;

use kseg::files::input::{self, Input};
use kseg::files::log::LogSource;
use kseg::files::mmap::Mapped;
use kseg::files::partition::{DirFile, FileKind, base_offset_from_name};
use kseg::format::head::EntryHead;
use kseg::format::problem::ProblemKind;
use kseg::format::walk::{Source, Step, Walker};
use kseg::topics::{self, TopicKind};
use kseg::{BatchInfo, DecodeError, Decoder};

use super::{DumpArgs, Dumper, Flow, SHORT_READ, problem_line};
use crate::cli::common::say;
use crate::cli::select::{self, RecordFilter};
use crate::output::ordered::{self, Event, Plan, WindowOut, Work};
use crate::output::{self, FileStart, FileState, Format, Problem, Sink, Summary};

/// What the entries of one file are shown with.
struct View<'a> {
    args: &'a DumpArgs,
    filter: &'a RecordFilter,
    display: &'a str,
    from: i64,
    to: i64,
    topic_kind: Option<TopicKind>,
    red: (&'static str, &'static str),
    /// With --max-bytes the cut is the user's choice: like Kafka, an entry
    /// it cuts through is not reported as trailing bytes.
    cut_by_user: bool,
}

/// Where one walk's entries go, and what they add up to.
struct Shown<'a, 'w> {
    sink: &'a mut (dyn Sink + 'w),
    summary: &'a mut Summary,
    shown: &'a mut u64,
    /// Problem lines go to stderr, or (a window) after the window's output.
    window: Option<&'a WindowOut<Done>>,
}

impl Shown<'_, '_> {
    fn report(&mut self, view: &View<'_>, p: Problem) -> io::Result<()> {
        self.summary.problems += 1;
        self.sink.problem(&p)?;
        let line = problem_line(view.red, &p);
        match self.window {
            Some(w) => w.err_line(line),
            None => {
                eprintln!("{line}");
                Ok(())
            }
        }
    }

    fn problem(&mut self, view: &View<'_>, position: u64, kind: ProblemKind, message: String) -> io::Result<()> {
        let file = view.display.to_string();
        self.report(view, Problem { file, position, kind, message, line: None })
    }

    fn decode_problem(&mut self, view: &View<'_>, e: &DecodeError) -> io::Result<()> {
        self.problem(view, e.position, e.kind_name(), e.describe())
    }

    fn show_batch(&mut self, view: &View<'_>, info: &BatchInfo) -> io::Result<()> {
        self.summary.batches += 1;
        self.summary.bytes += info.size;
        self.sink.batch(view.display, info)
    }

    fn limit_reached(&self, view: &View<'_>) -> bool {
        view.args.limit.is_some_and(|l| *self.shown >= l)
    }
}

/// A step of the walk that is not an entry, reported.
fn step(view: &View<'_>, out: &mut Shown<'_, '_>, step: &Step<'_>) -> io::Result<()> {
    match *step {
        Step::Entry { .. } => Ok(()),
        Step::Trailing { .. } | Step::ZeroFill { .. } if view.cut_by_user => Ok(()),
        Step::Trailing { position: 0, len } => {
            let msg = format!("the file does not start with a complete Kafka log entry ({len} bytes)");
            out.problem(view, 0, ProblemKind::TrailingBytes, msg)
        }
        Step::Trailing { position, len } => {
            let msg = format!("{len} trailing bytes: an incomplete entry at the end of the file");
            out.problem(view, position, ProblemKind::TrailingBytes, msg)
        }
        Step::ZeroFill { position, len } => {
            let msg = format!("{len} zero bytes to the end of the file (a preallocated segment?)");
            out.problem(view, position, ProblemKind::PreallocatedTail, msg)
        }
        Step::TooLarge { position, size } => {
            let msg = format!("entry of {size} bytes is larger than kseg reads into memory; skipped");
            out.problem(view, position, ProblemKind::EntryTooLarge, msg)
        }
        Step::Corrupt(ref e) => out.decode_problem(view, e),
    }
}

/// Where a step of the walk ends.
fn step_end(step: &Step<'_>) -> u64 {
    match step {
        Step::Entry { position, bytes } => position + (*bytes).len() as u64,
        Step::Trailing { position, len } | Step::ZeroFill { position, len } => position + len,
        Step::TooLarge { position, size } => position + size,
        Step::Corrupt(e) => e.position,
    }
}

/// Show the entry `bytes` at `position`: its batch, problems and records.
/// `Some` ends the walk.
fn entry(
    view: &View<'_>,
    out: &mut Shown<'_, '_>,
    decoder: &mut Decoder,
    position: u64,
    bytes: &[u8],
) -> io::Result<Option<Flow>> {
    let (from, to) = (view.from, view.to);
    // A batch wholly before the start (the rest of an index interval) is
    // passed by its header: not decompressed, not decoded.
    if from > i64::MIN && EntryHead::new(bytes).last_offset().is_some_and(|l| l < from) {
        return Ok(None);
    }
    let mut decoded = match decoder.decode(bytes, position) {
        Ok(d) => d,
        Err(e) => {
            out.decode_problem(view, &e)?;
            return Ok(None);
        }
    };
    let info: BatchInfo = decoded.info.clone();
    if info.last_offset < from || view.args.producer_id.is_some_and(|p| p != info.producer_id) {
        return Ok(None);
    }
    if info.base_offset > to {
        // Offsets only grow within a partition; other paths given may
        // still hold offsets in range.
        return Ok(Some(Flow::EndOfRange));
    }
    let header_problems = decoded.header_problems();
    if !view.args.records {
        *out.shown += 1;
    }
    // With record filters, a batch is shown only with a record that
    // passes them (or with a problem of its own).
    let mut batch_pending = view.args.has_filters() && header_problems.is_empty();
    if !batch_pending {
        out.show_batch(view, &info)?;
    }
    for p in header_problems {
        out.problem(view, p.position, p.kind, p.message)?;
    }
    if !view.args.records {
        return Ok(None);
    }
    let mut failures = Vec::new();
    for record in decoded.records() {
        match record {
            Ok(r) => {
                if r.offset < from || r.offset > to {
                    continue;
                }
                let topic = match (view.topic_kind, &r.control) {
                    (Some(k), None) => Some(topics::decode_record(k, r.key, r.value)),
                    _ => None,
                };
                if !view.args.passes(topic.as_ref()) || !view.filter.passes(&r) {
                    continue;
                }
                if out.limit_reached(view) {
                    break;
                }
                if batch_pending {
                    batch_pending = false;
                    out.show_batch(view, &info)?;
                }
                *out.shown += 1;
                out.summary.records += 1;
                match &topic {
                    Some(d) => out.sink.record_decoded(view.display, &info, &r, d)?,
                    None => out.sink.record(view.display, &info, &r)?,
                }
            }
            Err(e) => failures.push(e),
        }
    }
    let failures: Vec<_> = failures.iter().filter_map(|e| decoded.record_problem(e)).collect();
    if batch_pending && !failures.is_empty() {
        out.show_batch(view, &info)?;
    }
    for p in failures {
        out.problem(view, p.position, p.kind, p.message)?;
    }
    Ok(None)
}

/// What a window's worker reports.
pub(super) struct Done {
    summary: Summary,
    shown: u64,
    flow: Option<Flow>,
    /// The end of the last entry used.
    walked_to: u64,
    state: FileState,
    error: Option<io::Error>,
}

/// The formatting of one file's windows, each by a writer of its own.
struct Windows<'a> {
    view: View<'a>,
    format: Format,
    opts: output::Options,
    start: FileStart<'a>,
    max_decompressed: usize,
}

/// A worker's writer and decoder, kept from one window to the next.
struct Scratch {
    sink: Box<dyn Sink>,
    decoder: Decoder,
}

impl Work for Windows<'_> {
    type State = FileState;
    type Done = Done;
    type Scratch = Scratch;

    fn scratch(&self, out: &WindowOut<Done>) -> Scratch {
        let sink = output::sink(self.format, Box::new(out.clone()), self.opts);
        Scratch { sink, decoder: Decoder::new(self.max_decompressed) }
    }

    fn work(
        &self,
        scratch: &mut Scratch,
        bytes: &[u8],
        entries: &[(u64, usize)],
        state: FileState,
        out: &WindowOut<Done>,
    ) -> Done {
        let mut done = Done { summary: Summary::default(), shown: 0, flow: None, walked_to: 0, state, error: None };
        let Scratch { sink, decoder } = scratch;
        let mut run = || -> io::Result<()> {
            sink.resume_file(&self.start, state)?;
            let mut shown =
                Shown { sink: &mut **sink, summary: &mut done.summary, shown: &mut done.shown, window: Some(out) };
            let base = entries.first().map_or(0, |e| e.0);
            for &(position, len) in entries {
                let start = (position - base) as usize;
                done.walked_to = position + len as u64;
                if let Some(flow) = entry(&self.view, &mut shown, decoder, position, &bytes[start..start + len])? {
                    done.flow = Some(flow);
                    break;
                }
            }
            shown.sink.flush()
        };
        done.error = run().err();
        done.state = sink.file_state();
        done
    }

    fn end_state(&self, done: &Done) -> FileState {
        done.state
    }
}

/// The number of decimal digits (and sign) of `v`.
fn digits(v: i64) -> usize {
    itoa::Buffer::new().format(v).len()
}

impl Dumper<'_> {
    pub(super) fn log(&mut self, decoder: &mut Decoder, f: &DirFile, from: i64, to: i64) -> io::Result<Flow> {
        let parallel = self.jobs > 1 && self.args.limit.is_none() && !input::is_stream(&f.path);
        if parallel
            && let Input::File(file) = input::open(&f.path)?
            && Plan::new(self.jobs).worth_it(file.metadata()?.len())
        {
            return self.log_windows(Mapped::from_file(file)?, f, from, to);
        }
        self.log_serial(decoder, f, from, to)
    }

    /// The start of a `.log`'s dump: its file object, and the note that
    /// topic filters match nothing in records not decoded.
    fn log_view(&mut self, f: &DirFile, file_len: u64) -> io::Result<(String, Option<TopicKind>)> {
        let kind = if f.kind == FileKind::Other { "records" } else { f.kind.name() };
        let display = self.start(f, kind, file_len, None)?;
        let topic_kind = match self.args.decode {
            Some(d) => d.kind(),
            None => TopicKind::for_path(&f.path),
        };
        if topic_kind.is_none() && self.args.has_topic_filters() && self.args.records {
            say!(
                "kseg: {display}: not decoded (use --decode TOPIC), so no record can match --group, --transactional-id or --record-type"
            );
        }
        Ok((display, topic_kind))
    }

    fn log_serial(&mut self, decoder: &mut Decoder, f: &DirFile, from: i64, to: i64) -> io::Result<Flow> {
        let path = &f.path;
        let mut source = LogSource::open(path, false)?;
        if self.args.limit.is_some() || to < i64::MAX {
            // The walk may end early: read little past where it ends.
            source = match source {
                LogSource::Read(s) => LogSource::Read(s.with_chunk(SHORT_READ)),
                other => other,
            };
        }
        let mut walker = Walker::new(source);
        if let Some(max) = self.args.max_bytes {
            walker = walker.limit_bytes(max);
        }
        if f.kind == FileKind::Log
            && matches!(walker.source(), LogSource::Read(_))
            && let Some(base) = base_offset_from_name(path)
        {
            let start = select::seek_position(&mut walker, path, base, from);
            walker.seek(start);
        }
        let file_len = walker.source().len();
        let cut_by_user = walker.end() < file_len;
        let (display, topic_kind) = self.log_view(f, file_len)?;
        let view = View {
            args: &self.args,
            filter: &self.filter,
            display: &display,
            from,
            to,
            topic_kind,
            red: self.red,
            cut_by_user,
        };
        let mut out = Shown { sink: &mut *self.sink, summary: &mut self.summary, shown: &mut self.shown, window: None };
        let mut flow = Flow::Continue;
        let mut change_shown = false;
        // The bytes of the file the walk used: from where it started (the
        // index seek) to the end of the last step it used. The same for a
        // file and a stream; the reads behind them add at most one
        // read-ahead chunk.
        let walk_start = walker.position();
        let mut walked_to = walk_start;
        loop {
            let s = match walker.next_step() {
                Ok(Some(s)) => s,
                Ok(None) => {
                    walked_to = walked_to.max(walker.position().min(walker.end()));
                    break;
                }
                // A read that fails because the file shrank (a live broker).
                Err(e) => match walker.source().change(path) {
                    Some(change) => {
                        let at = walker.position();
                        out.problem(&view, at, ProblemKind::ChangedDuringRead, change.to_string())?;
                        change_shown = true;
                        break;
                    }
                    None => return Err(e),
                },
            };
            if out.limit_reached(&view) {
                flow = Flow::Stop;
                break;
            }
            walked_to = walked_to.max(step_end(&s));
            let Step::Entry { position, bytes } = s else {
                step(&view, &mut out, &s)?;
                continue;
            };
            if let Some(f) = entry(&view, &mut out, decoder, position, bytes)? {
                flow = f;
                break;
            }
        }
        out.summary.bytes_read += walked_to.saturating_sub(walk_start);
        // Changed after the part shown was read: what was shown is the file
        // as it was; said on stderr, as the output itself is whole.
        if let Some(change) = walker.source().change(path).filter(|_| !change_shown) {
            say!("kseg: warning: {display}: {change}");
        }
        self.sink.end_file()?;
        Ok(flow)
    }

    /// The parallel walk over a mapped file.
    fn log_windows(&mut self, map: Mapped, f: &DirFile, from: i64, to: i64) -> io::Result<Flow> {
        let path = &f.path;
        let data: &[u8] = map.as_ref();
        let mut walker = Walker::new(data);
        if let Some(max) = self.args.max_bytes {
            walker = walker.limit_bytes(max);
        }
        if f.kind == FileKind::Log
            && let Some(base) = base_offset_from_name(path)
        {
            let start = select::seek_position(&mut walker, path, base, from);
            walker.seek(start);
        }
        let file_len = data.len() as u64;
        let cut_by_user = walker.end() < file_len;
        let (display, topic_kind) = self.log_view(f, file_len)?;
        let kind = if f.kind == FileKind::Other { "records" } else { f.kind.name() };
        let work = Windows {
            view: View {
                args: &self.args,
                filter: &self.filter,
                display: &display,
                from,
                to,
                topic_kind,
                red: self.red,
                cut_by_user,
            },
            format: self.args.format,
            opts: self.opts,
            start: FileStart {
                file: &display,
                kind,
                size: file_len,
                base_offset: self.name_base(f),
                state: f.state,
                entries: None,
                preallocated_slots: None,
            },
            max_decompressed: self.args.max_decompressed,
        };
        let view = &work.view;
        let start = self.sink.file_state();
        // The state after a window, as its batch headers predict it: a
        // table's titles are out, and its offset column (of records) fits
        // the largest last offset.
        // (JSON carries nothing from one object to the next.)
        let table = self.args.format == Format::Table;
        let predict = |before: &FileState, entries: &[(u64, usize)]| {
            let mut s = FileState { started: table || before.started, ..*before };
            if s.offset_width > 0 {
                for &(position, len) in entries {
                    let head = EntryHead::new(&data[position as usize..position as usize + len]);
                    if let Some(last) = head.last_offset() {
                        s.offset_width = s.offset_width.max(digits(last));
                    }
                }
            }
            s
        };
        let mut out = Shown { sink: &mut *self.sink, summary: &mut self.summary, shown: &mut self.shown, window: None };
        let mut flow = Flow::Continue;
        let mut change_shown = false;
        let mut stopped = false;
        let walk_start = walker.position();
        let mut walked_to = walk_start;
        let plan = Plan::new(self.jobs);
        ordered::in_order(plan, &map, &mut walker, &work, start, predict, |event| {
            match event {
                Event::Begin(position) => {
                    // Pages the file lost read as zeros: what is left is
                    // not the file's, and is not shown.
                    if let Some(change) = map.change(path).filter(|c| c.spoils_reading()) {
                        out.problem(view, position, ProblemKind::ChangedDuringRead, change.to_string())?;
                        (change_shown, stopped) = (true, true);
                        return Ok(false);
                    }
                }
                Event::Out(bytes) => out.sink.write_formatted(bytes)?,
                Event::Err(line) => {
                    out.sink.flush()?;
                    eprintln!("{line}");
                }
                Event::Done(done) => {
                    let s = &done.summary;
                    out.summary.batches += s.batches;
                    out.summary.bytes += s.bytes;
                    out.summary.records += s.records;
                    out.summary.problems += s.problems;
                    *out.shown += done.shown;
                    walked_to = walked_to.max(done.walked_to);
                    if let Some(e) = done.error {
                        return Err(e);
                    }
                    if let Some(f) = done.flow {
                        (flow, stopped) = (f, true);
                        return Ok(false);
                    }
                }
                Event::Step(s) => {
                    walked_to = walked_to.max(step_end(s));
                    step(view, &mut out, s)?;
                }
            }
            Ok(true)
        })?;
        if !stopped {
            walked_to = walked_to.max(walker.position().min(walker.end()));
        }
        out.summary.bytes_read += walked_to.saturating_sub(walk_start);
        match map.change(path).filter(|_| !change_shown) {
            // Pages lost after they were shown: what was shown may hold
            // their zeros.
            Some(change) if change.spoils_reading() => {
                out.problem(view, walked_to, ProblemKind::ChangedDuringRead, change.to_string())?;
            }
            Some(change) => say!("kseg: warning: {display}: {change}"),
            None => {}
        }
        self.sink.end_file()?;
        Ok(flow)
    }
}
