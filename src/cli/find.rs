//! `kseg find-offset` and `kseg find-time`: the broker's lookups, shown.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use kseg::analysis::find::{self, TimeTarget};
use kseg::files::partition::{self, FileKind, Segment};

use super::exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FindFormat {
    /// Aligned lines for people.
    Table,
    /// One pretty-printed JSON object.
    Json,
    /// The same object on one line (JSON Lines).
    Jsonl,
}

#[derive(Debug, Args)]
pub struct FindOffsetArgs {
    /// A partition directory, a `.log` or an `.index` file.
    pub path: PathBuf,
    /// The offset to find.
    #[arg(allow_negative_numbers = true)]
    pub offset: i64,
    #[arg(long, value_enum, default_value_t = FindFormat::Table)]
    pub format: FindFormat,
    /// Print the search step by step (table format).
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct FindTimeArgs {
    /// A partition directory, a `.log`, `.index` or `.timeindex` file.
    pub path: PathBuf,
    /// Milliseconds since the epoch, an RFC 3339 time
    /// (2026-11-26T02:00:00Z, 2026-11-26T11:00:00+09:00), or earliest,
    /// latest or max-timestamp as in Kafka's ListOffsets.
    pub timestamp: String,
    #[arg(long, value_enum, default_value_t = FindFormat::Table)]
    pub format: FindFormat,
    /// Print the search step by step (table format).
    #[arg(long)]
    pub explain: bool,
}

/// The segments a path names: a directory's, or the one segment of a file.
pub fn segments_for(path: &Path) -> anyhow::Result<Vec<Segment>> {
    let meta = std::fs::metadata(path).with_context(|| path.display().to_string())?;
    if meta.is_dir() {
        let segs = partition::segments(path).with_context(|| path.display().to_string())?;
        if segs.is_empty() {
            bail!("{}: no .log segments in this directory", path.display());
        }
        return Ok(segs);
    }
    let log = match partition::classify(path).0 {
        FileKind::Log => path.to_path_buf(),
        FileKind::Index | FileKind::TimeIndex | FileKind::TxnIndex => path.with_extension("log"),
        _ => bail!("{}: not a .log, .index or .timeindex file", path.display()),
    };
    if !log.is_file() {
        bail!("{}: no such segment", log.display());
    }
    match Segment::for_log(&log) {
        Some(s) => Ok(vec![s]),
        None => bail!("{}: the file name does not start with a base offset", log.display()),
    }
}

pub fn parse_time(s: &str) -> anyhow::Result<TimeTarget> {
    Ok(match s {
        "earliest" => TimeTarget::Earliest,
        "latest" => TimeTarget::Latest,
        "max-timestamp" => TimeTarget::MaxTimestamp,
        _ => match s.parse::<i64>() {
            Ok(ms) => TimeTarget::At(ms),
            Err(_) => {
                let t: jiff::Timestamp =
                    s.parse().with_context(|| format!("{s:?} is neither milliseconds nor an RFC 3339 time"))?;
                TimeTarget::At(t.as_millisecond())
            }
        },
    })
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".into(), |v| v.to_string())
}

fn print_json(
    out: &mut dyn Write,
    answer: &impl serde::Serialize,
    warnings: &[String],
    lines: bool,
) -> anyhow::Result<()> {
    for w in warnings {
        eprintln!("kseg: warning: {w}");
    }
    if lines {
        serde_json::to_writer(&mut *out, answer)?;
    } else {
        serde_json::to_writer_pretty(&mut *out, answer)?;
    }
    writeln!(out)?;
    Ok(())
}

fn print_common(out: &mut dyn Write, explain: bool, steps: &[String], warnings: &[String]) -> std::io::Result<()> {
    for w in warnings {
        eprintln!("kseg: warning: {w}");
    }
    if explain {
        for (i, s) in steps.iter().enumerate() {
            writeln!(out, "step {}: {s}", i + 1)?;
        }
    }
    Ok(())
}

pub fn run_offset(args: FindOffsetArgs) -> anyhow::Result<ExitCode> {
    let segs = segments_for(&args.path)?;
    let a = find::find_offset(&segs, args.offset)?;
    let mut out = super::stdout();
    match args.format {
        FindFormat::Json | FindFormat::Jsonl => {
            print_json(&mut out, &a, &a.warnings, args.format == FindFormat::Jsonl)?
        }
        FindFormat::Table => {
            print_common(&mut out, args.explain, &a.explain, &a.warnings)?;
            writeln!(out, "target:      {}", a.target)?;
            writeln!(out, "found:       {}", a.found)?;
            writeln!(out, "offset:      {}", opt(&a.offset))?;
            writeln!(out, "segment:     {}", opt(&a.segment.as_ref().map(|p| p.display())))?;
            writeln!(out, "position:    {}", opt(&a.position))?;
            writeln!(
                out,
                "batch:       {}",
                match (a.batch_base_offset, a.batch_last_offset) {
                    (Some(b), Some(l)) => format!("{b}..{l}"),
                    _ => "-".into(),
                }
            )?;
            writeln!(
                out,
                "index entry: {}",
                a.index_entry.map_or("-".into(), |e| format!("offset {} -> position {}", e.offset, e.position))
            )?;
            writeln!(out, "scanned:     {}", crate::output::count(a.bytes_scanned, "byte"))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if a.found { exit::OK } else { exit::FINDINGS }))
}

pub fn run_time(args: FindTimeArgs) -> anyhow::Result<ExitCode> {
    let target = parse_time(&args.timestamp)?;
    let segs = segments_for(&args.path)?;
    let a = find::find_time(&segs, target)?;
    let mut out = super::stdout();
    match args.format {
        FindFormat::Json | FindFormat::Jsonl => {
            print_json(&mut out, &a, &a.warnings, args.format == FindFormat::Jsonl)?
        }
        FindFormat::Table => {
            print_common(&mut out, args.explain, &a.explain, &a.warnings)?;
            let ts = |t: i64| crate::output::rfc3339(t).map_or(t.to_string(), |s| format!("{t} ({s})"));
            writeln!(out, "target:    {}", ts(a.target_timestamp))?;
            writeln!(out, "found:     {}", a.found)?;
            writeln!(out, "offset:    {}", opt(&a.offset))?;
            writeln!(out, "timestamp: {}", a.timestamp.map_or("-".into(), ts))?;
            writeln!(out, "segment:   {}", opt(&a.segment.as_ref().map(|p| p.display())))?;
            writeln!(out, "position:  {}", opt(&a.position))?;
            writeln!(out, "batch:     {}", opt(&a.batch_base_offset))?;
            writeln!(out, "scanned:   {}", crate::output::count(a.bytes_scanned, "byte"))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if a.found { exit::OK } else { exit::FINDINGS }))
}
