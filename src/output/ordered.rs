//! Formatting on every core, written in file order: the one driver that
//! `dump` and `kafka-dump-log` share for a segment read through a memory map.
//!
//! The calling thread walks the entries (a walk of batch headers in the
//! map, which is cheap) and cuts them into windows at entry boundaries;
//! `threads` workers each format a whole window, read where the walk
//! mapped it, into their own output, which reaches the writer in the
//! buffers it was formatted in; the calling thread
//! writes the outputs in file order, with the steps of the walk that are not
//! entries (a torn tail, a zero tail, a corrupt size) in their place between
//! them. The output is therefore the serial one, byte for byte, provided a
//! window's text depends only on its entries and on a small state carried
//! from the windows before it ([`Work::State`]: a table's column widths).
//! That state is guessed when a window is handed out; when the windows
//! before it end in another state, the window is formatted again from the
//! right one before it is written (rare: a table whose offsets outgrow their
//! column, or filters that show nothing for a while).
//!
//! Memory stays bounded whatever the segment size: at most two windows per
//! worker are in flight, each window's output travels in chunks through a
//! channel of bounded depth (a worker ahead of the writer waits for it),
//! output buffers are reused, and the mapped pages the walk touched are
//! released once a window is written.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use kseg::files::mmap::Mapped;
use kseg::format::walk::{Step, Walker};

/// Bytes of output a worker collects before handing them to the writer:
/// as much as standard output's buffer holds (`cli::stdout`), so that a
/// chunk goes past it to the output without a copy.
pub const CHUNK: usize = 256 << 10;
/// Bytes of segment in flight at most (all windows together) and of output
/// waiting for the writer, so that the resident set stays well below
/// 64 MiB for any number of threads (with each worker's own buffers).
const IN_FLIGHT: usize = 8 << 20;
const OUT_IN_FLIGHT: usize = 16 << 20;
/// Workers at most: one writer takes what more would make, and each worker
/// holds buffers of its own.
const MAX_THREADS: usize = 8;
/// What releases start at: a multiple of every page size.
const RELEASE_ALIGN: usize = 64 << 10;
/// Entries per window at most (batches of a single small record each).
const MAX_ENTRIES: usize = 16 << 10;

/// How a segment is cut and how many workers format it.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub threads: usize,
    /// Bytes of entries per window (the entry that crosses it is included).
    pub window_bytes: usize,
    /// Chunks of output a window may have waiting for the writer.
    pub depth: usize,
}

impl Plan {
    /// The plan for `threads` workers (0: one per core; at most [`MAX_THREADS`]).
    pub fn new(threads: usize) -> Plan {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let workers = threads.min(MAX_THREADS);
        // KSEG_WINDOW_BYTES: smaller windows, so that tests put small real
        // segments through many windows (the output is the same for any size).
        let window_bytes = std::env::var("KSEG_WINDOW_BYTES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&b| b > 0)
            .unwrap_or((IN_FLIGHT / (2 * workers)).clamp(64 << 10, 2 << 20));
        // With two workers, room for a window's whole output (JSON of text
        // values is about 1.5 times the segment bytes), so a worker one
        // window ahead of the writer rarely waits.
        let depth = (OUT_IN_FLIGHT / (2 * workers * CHUNK)).max(2);
        Plan { threads: workers, window_bytes, depth }
    }

    /// Whether a file of `len` bytes is worth the workers: one of a single
    /// window would keep one of them busy while the others start and stop
    /// for nothing (a log directory of 10,000 small active segments took
    /// 4.5 s with workers, 0.3 s without).
    pub fn worth_it(&self, len: u64) -> bool {
        self.threads > 1 && len > self.window_bytes as u64
    }
}

/// The number of threads `-j N` asks for (none given or 0: one per core).
pub fn threads(jobs: Option<usize>) -> usize {
    Plan::new(jobs.unwrap_or(0)).threads
}

/// What a worker hands the writer, in order.
pub enum Piece<D> {
    /// Bytes for standard output (about [`CHUNK`] at most).
    Out(Vec<u8>),
    /// A line for standard error, after the output before it.
    Err(String),
    /// The window is done.
    Done(D),
}

/// Chunk buffers, reused: the writer gives back what it wrote, workers take
/// from here, so output memory stays warm and bounded instead of fresh
/// pages for every chunk.
struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

impl Pool {
    fn take(&self) -> Vec<u8> {
        self.free.lock().ok().and_then(|mut f| f.pop()).unwrap_or_else(|| Vec::with_capacity(CHUNK + CHUNK / 8))
    }

    fn give(&self, mut chunk: Vec<u8>) {
        chunk.clear();
        // A chunk grown for one huge record is not kept.
        if chunk.capacity() <= 4 * CHUNK
            && let Ok(mut f) = self.free.lock()
            && f.len() < self.keep
        {
            f.push(chunk);
        }
    }
}

/// The writer a worker formats its windows into: bytes go to the writer
/// thread in chunks of [`CHUNK`], through the channel of the window being
/// formatted. Cloned handles share it, so a sink can own one while the
/// worker keeps another for its stderr lines.
pub struct WindowOut<D>(Rc<RefCell<OutState<D>>>);

struct OutState<D> {
    buf: Vec<u8>,
    /// The current window's channel.
    tx: Option<SyncSender<Piece<D>>>,
    pool: Arc<Pool>,
}

impl<D> Clone for WindowOut<D> {
    fn clone(&self) -> Self {
        WindowOut(self.0.clone())
    }
}

/// The writer stopped (an error, a closed pipe, the end of the range): the
/// work on this window is wasted, and ends.
fn stopped() -> io::Error {
    io::Error::other("the writer stopped")
}

impl<D> OutState<D> {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, self.pool.take());
        self.tx.as_ref().ok_or_else(stopped)?.send(Piece::Out(chunk)).map_err(|_| stopped())
    }
}

impl<D> WindowOut<D> {
    fn new(pool: Arc<Pool>) -> Self {
        WindowOut(Rc::new(RefCell::new(OutState { buf: pool.take(), tx: None, pool })))
    }

    /// Hand `bytes` (a worker's own buffer) to the writer as they are,
    /// after what was written here, without a copy; `bytes` is left an
    /// empty buffer.
    pub fn hand_over(&self, bytes: &mut Vec<u8>) -> io::Result<()> {
        let mut s = self.0.borrow_mut();
        s.send()?;
        let chunk = std::mem::replace(bytes, s.pool.take());
        s.tx.as_ref().ok_or_else(stopped)?.send(Piece::Out(chunk)).map_err(|_| stopped())
    }

    /// A line for stderr, written after everything written here so far
    /// (the caller flushes its own buffers first).
    pub fn err_line(&self, line: String) -> io::Result<()> {
        let mut s = self.0.borrow_mut();
        s.send()?;
        s.tx.as_ref().ok_or_else(stopped)?.send(Piece::Err(line)).map_err(|_| stopped())
    }
}

/// A sink that collects [`CHUNK`] bytes in a buffer of its own hands that
/// buffer itself to the writer: the text is not copied between its
/// formatting and the write to standard output.
impl<D> crate::output::Out for WindowOut<D> {
    fn write_vec(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.hand_over(buf)
    }

    fn batch_bytes(&self) -> usize {
        CHUNK
    }
}

impl<D> Write for WindowOut<D> {
    fn write(&mut self, mut bytes: &[u8]) -> io::Result<usize> {
        let n = bytes.len();
        let mut s = self.0.borrow_mut();
        while !bytes.is_empty() {
            let k = (CHUNK - s.buf.len()).min(bytes.len());
            s.buf.extend_from_slice(&bytes[..k]);
            bytes = &bytes[k..];
            if s.buf.len() >= CHUNK {
                s.send()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().send()
    }
}

/// The formatting of windows.
pub trait Work: Sync {
    /// What the text of a window depends on besides its entries.
    type State: Clone + PartialEq + Send;
    /// What a window's worker reports at its end (counts, how it ended).
    type Done: Send;
    /// What a worker keeps from one window to the next: a writer into its
    /// [`WindowOut`], a decoder, their buffers.
    type Scratch;
    fn scratch(&self, out: &WindowOut<Self::Done>) -> Self::Scratch;
    /// Format the entries `(position, length)`, starting from `state`, into
    /// `out`, flushed. `bytes` holds the window's bytes from the first
    /// entry's position on.
    fn work(
        &self,
        scratch: &mut Self::Scratch,
        bytes: &[u8],
        entries: &[(u64, usize)],
        state: Self::State,
        out: &WindowOut<Self::Done>,
    ) -> Self::Done;
    /// The state a window left.
    fn end_state(&self, done: &Self::Done) -> Self::State;
}

/// What the writer is handed, in file order.
pub enum Event<'a, D> {
    /// A window with entries starts at this position: its pieces follow.
    Begin(u64),
    Out(&'a [u8]),
    Err(String),
    Done(D),
    /// A step of the walk that is not an entry.
    Step(&'a Step<'a>),
}

struct Job<W: Work> {
    entries: Arc<[(u64, usize)]>,
    state: W::State,
    tx: SyncSender<Piece<W::Done>>,
}

/// A window cut by the walk, in flight.
struct Cut<W: Work> {
    entries: Arc<[(u64, usize)]>,
    guessed: W::State,
    pieces: Option<Receiver<Piece<W::Done>>>,
    last_step: Option<Step<'static>>,
}

/// A worker: one writer and scratch for every window it takes.
struct Worker<'w, W: Work> {
    work: &'w W,
    out: WindowOut<W::Done>,
    scratch: W::Scratch,
}

impl<'w, W: Work> Worker<'w, W> {
    fn new(work: &'w W, pool: &Arc<Pool>) -> Self {
        let out = WindowOut::new(pool.clone());
        let scratch = work.scratch(&out);
        Worker { work, out, scratch }
    }

    /// Format `job`'s window of `data` (the guarded map). Its pages were
    /// faulted in by the walk, so they are read where they are: a copy of
    /// one's own first (`pread`) costs the kernel's copy of every byte on
    /// top of the faults. Pages a truncation took read as zeros, and the
    /// writer, seeing the change, shows nothing of them.
    fn run(&mut self, data: &[u8], job: Job<W>) {
        let (Some(&(first, _)), Some(&(last, len))) = (job.entries.first(), job.entries.last()) else { return };
        let Some(bytes) = data.get(first as usize..(last as usize).saturating_add(len)) else { return };
        self.out.0.borrow_mut().tx = Some(job.tx.clone());
        let done = self.work.work(&mut self.scratch, bytes, &job.entries, job.state, &self.out);
        let sent = {
            let mut s = self.out.0.borrow_mut();
            let sent = s.send();
            // What a stopped writer left is dropped with the window.
            s.buf.clear();
            s.tx = None;
            sent
        };
        // A writer that stopped does not wait for the rest.
        if sent.is_ok() {
            let _ = job.tx.send(Piece::Done(done));
        }
    }
}

/// Walk `walker` (over `map`'s bytes, already placed and limited) to its end,
/// formatting its entries with `work` on `plan.threads` workers, and hand
/// everything to `take` in file order; `take` returning false stops the
/// walk. `start` is the state before the first window; `predict` guesses
/// the state after a window from the state before it and its entries, and
/// the next window is handed out in that state.
pub fn in_order<W: Work>(
    plan: Plan,
    map: &Mapped,
    walker: &mut Walker<&[u8]>,
    work: &W,
    start: W::State,
    mut predict: impl FnMut(&W::State, &[(u64, usize)]) -> W::State,
    mut take: impl FnMut(Event<'_, W::Done>) -> io::Result<bool>,
) -> io::Result<()> {
    let data: &[u8] = map.as_ref();
    let (job_tx, job_rx) = sync_channel::<Job<W>>(plan.threads);
    let job_rx = Mutex::new(job_rx);
    // As many chunks as can be in flight: none is freed and allocated again.
    let keep = plan.threads * (2 * plan.depth + 1);
    let pool = Arc::new(Pool { free: Mutex::new(Vec::new()), keep });
    std::thread::scope(|s| {
        for _ in 0..plan.threads {
            let pool = &pool;
            let job_rx = &job_rx;
            s.spawn(move || {
                let mut worker = Worker::new(work, pool);
                loop {
                    // A poisoned lock: another worker panicked, and the
                    // scope reports it.
                    let Ok(rx) = job_rx.lock() else { return };
                    let Ok(job) = rx.recv() else { return };
                    drop(rx);
                    worker.run(data, job);
                }
            });
        }
        let job_tx = job_tx;
        let mut flight: VecDeque<Cut<W>> = VecDeque::new();
        let mut more = true;
        let mut state = start.clone();
        let mut predicted = start.clone();
        let mut released = 0usize;
        loop {
            while more && flight.len() < 2 * plan.threads {
                let w = walker.window(MAX_ENTRIES, plan.window_bytes)?;
                more = !w.done;
                let entries: Arc<[(u64, usize)]> = w.entries.into();
                let (guessed, pieces) = if entries.is_empty() {
                    (start.clone(), None)
                } else {
                    let guessed = predicted.clone();
                    predicted = predict(&guessed, &entries);
                    let (tx, rx) = sync_channel(plan.depth);
                    let job = Job { entries: entries.clone(), state: guessed.clone(), tx };
                    if job_tx.send(job).is_err() {
                        return Err(io::Error::other("the workers stopped"));
                    }
                    (guessed, Some(rx))
                };
                flight.push_back(Cut { entries, guessed, pieces, last_step: w.last_step });
            }
            let Some(cut) = flight.pop_front() else { return Ok(()) };
            if let Some(mut rx) = cut.pieces {
                if !take(Event::Begin(cut.entries[0].0))? {
                    return Ok(());
                }
                if cut.guessed != state {
                    // Handed out in a state the windows before it did not
                    // leave: formatted again, from the right one.
                    drop(rx);
                    let (tx, again) = sync_channel(plan.depth);
                    let job = Job::<W> { entries: cut.entries.clone(), state: state.clone(), tx };
                    let pool = &pool;
                    s.spawn(move || Worker::new(work, pool).run(data, job));
                    rx = again;
                }
                let mut done = false;
                for piece in rx.iter() {
                    let go = match piece {
                        Piece::Out(bytes) => {
                            let go = take(Event::Out(&bytes))?;
                            pool.give(bytes);
                            go
                        }
                        Piece::Err(line) => take(Event::Err(line))?,
                        Piece::Done(d) => {
                            state = work.end_state(&d);
                            done = true;
                            take(Event::Done(d))?
                        }
                    };
                    if !go {
                        return Ok(());
                    }
                }
                if !done {
                    return Err(io::Error::other("a worker stopped before the end of its window"));
                }
                if let Some(&(last, len)) = cut.entries.last() {
                    // From the last release on, so that no page between
                    // two windows stays resident.
                    let end = last as usize + len;
                    map.release(released, end);
                    released = end / RELEASE_ALIGN * RELEASE_ALIGN;
                }
            }
            if let Some(step) = &cut.last_step
                && !take(Event::Step(step))?
            {
                return Ok(());
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers the entries from the state it starts in: a text that is
    /// right only when each window starts from the state the windows
    /// before it left. Every fifth entry also has a stderr line.
    struct Numbered;

    impl Work for Numbered {
        type State = u64;
        type Done = u64;
        type Scratch = ();
        fn scratch(&self, _: &WindowOut<u64>) {}
        fn work(&self, _: &mut (), _: &[u8], entries: &[(u64, usize)], mut n: u64, out: &WindowOut<u64>) -> u64 {
            let mut w = out.clone();
            for &(position, _) in entries {
                if writeln!(w, "{n}:{position}").is_err() {
                    return n;
                }
                if n.is_multiple_of(5) && out.err_line(format!("err {n}")).is_err() {
                    return n;
                }
                n += 1;
            }
            n
        }
        fn end_state(&self, n: &u64) -> u64 {
            *n
        }
    }

    /// `n` minimal v0 entries (26 bytes each) and a torn tail.
    fn segment(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n as i64 {
            out.extend_from_slice(&i.to_be_bytes());
            out.extend_from_slice(&14i32.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        }
        out.extend_from_slice(&[1, 2, 3]);
        out
    }

    fn run(map: &Mapped, plan: Plan, wrong: bool, stop_after: Option<usize>) -> Vec<String> {
        let mut walker = Walker::new(map.as_ref());
        let mut seen = String::new();
        let mut windows = 0;
        // A prediction that is wrong for every third window when `wrong`.
        let predict = |n: &u64, e: &[(u64, usize)]| n + e.len() as u64 + u64::from(wrong && e.len().is_multiple_of(3));
        in_order(plan, map, &mut walker, &Numbered, 0, predict, |event| {
            match event {
                Event::Begin(_) => windows += 1,
                Event::Out(bytes) => seen.push_str(std::str::from_utf8(bytes).unwrap()),
                Event::Err(line) => seen.push_str(&format!("{line}\n")),
                Event::Done(_) => {}
                Event::Step(s) => seen.push_str(&format!("{s:?}\n")),
            }
            Ok(stop_after.is_none_or(|n| windows < n))
        })
        .unwrap();
        seen.lines().map(str::to_string).collect()
    }

    #[test]
    fn windows_come_out_in_file_order_whatever_the_guesses() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("00000000000000000000.log");
        std::fs::write(&log, segment(2000)).unwrap();
        let map = Mapped::open(&log).unwrap();
        let mut expected = Vec::new();
        for n in 0..2000u64 {
            expected.push(format!("{n}:{}", n * 26));
            if n % 5 == 0 {
                expected.push(format!("err {n}"));
            }
        }
        expected.push("Trailing { position: 52000, len: 3 }".to_string());
        for threads in [1, 2, 5] {
            for window_bytes in [26, 100, 1000, 1 << 20] {
                for wrong in [false, true] {
                    // One chunk of depth: workers ahead of the writer wait.
                    let plan = Plan { threads, window_bytes, depth: 1 };
                    let got = run(&map, plan, wrong, None);
                    assert_eq!(got, expected, "{plan:?} wrong={wrong}");
                }
            }
        }
    }

    #[test]
    fn stopping_early_ends_the_workers() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("00000000000000000000.log");
        std::fs::write(&log, segment(5000)).unwrap();
        let map = Mapped::open(&log).unwrap();
        let got = run(&map, Plan { threads: 3, window_bytes: 260, depth: 1 }, true, Some(4));
        // Three whole windows of ten entries (and their stderr lines), and
        // nothing after the fourth window's start.
        assert_eq!(got.iter().filter(|l| !l.starts_with("err")).count(), 30, "{got:?}");
    }

    /// Truncates the file at its first window and then reads every byte of
    /// each window it is given, in windows the walk cut before the
    /// truncation too.
    struct Truncating<'a>(&'a std::path::Path, std::sync::atomic::AtomicBool);

    impl Work for Truncating<'_> {
        type State = ();
        type Done = u64;
        type Scratch = ();
        fn scratch(&self, _: &WindowOut<u64>) {}
        fn work(&self, _: &mut (), bytes: &[u8], _: &[(u64, usize)], _: (), _: &WindowOut<u64>) -> u64 {
            if !self.1.swap(true, std::sync::atomic::Ordering::SeqCst) {
                // Time for the walk to cut the windows after this one.
                std::thread::sleep(std::time::Duration::from_millis(100));
                std::fs::OpenOptions::new().write(true).open(self.0).unwrap().set_len(0).unwrap();
            }
            bytes.iter().map(|&b| u64::from(b)).sum()
        }
        fn end_state(&self, _: &u64) {}
    }

    /// Workers read the guarded map: pages a truncation took read as zeros
    /// there, as in the walk, and the map reports the change.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_truncated_while_windows_are_formatted_reads_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("00000000000000000000.log");
        std::fs::write(&log, segment(20_000)).unwrap();
        let map = Mapped::open(&log).unwrap();
        let mut walker = Walker::new(map.as_ref());
        let work = Truncating(&log, std::sync::atomic::AtomicBool::new(false));
        let plan = Plan { threads: 2, window_bytes: 26 * 400, depth: 1 };
        let (mut windows, mut sum) = (0, 0);
        in_order(
            plan,
            &map,
            &mut walker,
            &work,
            (),
            |_, _| (),
            |event| {
                match event {
                    Event::Done(s) => (windows, sum) = (windows + 1, sum + s),
                    Event::Step(s) => assert!(matches!(s, Step::ZeroFill { .. }), "{s:?}"),
                    _ => {}
                }
                Ok(true)
            },
        )
        .unwrap();
        assert!(windows >= 2, "windows cut before the walk met the zeros: {windows}");
        assert!(matches!(map.change(&log), Some(kseg::files::change::Change::PagesLost { .. })));
        // Window sums of zero pages (and of the first window, read before).
        let first_window: u64 = segment(400)[..26 * 400].iter().map(|&b| u64::from(b)).sum();
        assert!(sum <= windows as u64 * first_window, "{sum}");
    }
}
