//! `kseg find-offset` and `kseg find-time`: the broker's lookups, shown.

use super::common::say;
use crate::output::cell::terminal_line;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use kseg::analysis::find::{self, TimeTarget};
use kseg::files::input;
use kseg::files::partition::{self, BaseOffsetFrom, FileKind, Segment};

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
    /// The base offset of a segment file whose name does not carry one
    /// (`broken.log`); by default it is taken from its first batch.
    #[arg(long, value_name = "N")]
    pub base_offset: Option<i64>,
}

#[derive(Debug, Args)]
pub struct FindTimeArgs {
    /// A partition directory, a `.log`, `.index` or `.timeindex` file.
    pub path: PathBuf,
    /// Milliseconds since the epoch; an RFC 3339 time (2026-11-26T02:00:00Z,
    /// 2026-11-26T11:00:00+09:00); a date (2026-11-26) or a date and time
    /// (2026-11-26 02:00, 2026-11-26 02:00:00.250), in UTC unless a zone
    /// offset follows; or as in Kafka's ListOffsets earliest (-2), latest
    /// (-1), max-timestamp (-3).
    #[arg(allow_hyphen_values = true)]
    pub timestamp: String,
    #[arg(long, value_enum, default_value_t = FindFormat::Table)]
    pub format: FindFormat,
    /// Print the search step by step (table format).
    #[arg(long)]
    pub explain: bool,
    /// The base offset of a segment file whose name does not carry one
    /// (`broken.log`); by default it is taken from its first batch.
    #[arg(long, value_name = "N")]
    pub base_offset: Option<i64>,
}

/// The segments a path names: a directory's, or the one segment of a file
/// (any file but an index is taken as a segment; a name without a base
/// offset takes `base_offset`, or its first batch's). A lookup jumps
/// through the file, so a stream (`-`, a pipe, a FIFO) cannot be used.
pub fn segments_for(path: &Path, base_offset: Option<i64>) -> anyhow::Result<Vec<Segment>> {
    if input::is_stream(path) {
        bail!(
            "{}: a stream (standard input, a pipe or a FIFO) cannot be searched: a lookup seeks; save it to a file first",
            path.display()
        );
    }
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
    Ok(vec![match (base_offset, Segment::for_log(&log)) {
        (Some(base), _) => Segment::with_base(&log, base, BaseOffsetFrom::Given),
        (None, Some(s)) => s,
        (None, None) => {
            if partition::classify(&log).0 == FileKind::Other
                && let Some(why) = super::common::not_log_data(&log)
            {
                bail!("{}: {why}", log.display());
            }
            let base = partition::first_base_offset(&log).with_context(|| log.display().to_string())?.unwrap_or(0);
            say!(
                "kseg: note: {}: no base offset in its name; {base} taken from its first batch (--base-offset N sets it)",
                log.display()
            );
            Segment::with_base(&log, base, BaseOffsetFrom::FirstBatch)
        }
    }])
}

/// The time forms `find-time` and `dump --from-time/--to-time` accept, for
/// the error message and the help.
pub const TIME_FORMS: &str = "milliseconds since the epoch; an RFC 3339 time (2026-11-26T02:00:00Z, \
2026-11-26T11:00:00+09:00); a date (2026-11-26) or a date and time (2026-11-26 02:00, \
2026-11-26 02:00:00.250), in UTC unless a zone offset follows; earliest (-2), latest (-1) or \
max-timestamp (-3) as in Kafka's ListOffsets";

pub fn parse_time(s: &str) -> anyhow::Result<TimeTarget> {
    parse_time_text(s).ok_or_else(|| anyhow::anyhow!("{s:?} is not a time; accepted: {TIME_FORMS}"))
}

/// A time argument, or `None` when it has none of the accepted forms.
fn parse_time_text(s: &str) -> Option<TimeTarget> {
    let s = s.trim();
    Some(match s {
        "earliest" | "-2" => TimeTarget::Earliest,
        "latest" | "-1" => TimeTarget::Latest,
        "max-timestamp" | "-3" => TimeTarget::MaxTimestamp,
        _ if s.bytes().all(|b| b.is_ascii_digit()) => TimeTarget::At(s.parse().ok()?),
        // An offset or `Z` is given: that instant. (A civil parse would
        // drop the offset, so this comes first.)
        _ => match s.parse::<jiff::Timestamp>() {
            Ok(t) => TimeTarget::At(t.as_millisecond()),
            Err(_) => {
                // No zone: a civil date or date and time, read as UTC.
                let civil: jiff::civil::DateTime = match s.parse() {
                    Ok(dt) => dt,
                    Err(_) => s.parse::<jiff::civil::Date>().ok()?.to_datetime(jiff::civil::Time::midnight()),
                };
                TimeTarget::At(jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()?.as_millisecond())
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
        say!("kseg: warning: {w}");
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
        say!("kseg: warning: {w}");
    }
    if explain {
        for (i, s) in steps.iter().enumerate() {
            writeln!(out, "step {}: {s}", i + 1)?;
        }
    }
    Ok(())
}

pub fn run_offset(args: FindOffsetArgs) -> anyhow::Result<ExitCode> {
    let segs = segments_for(&args.path, args.base_offset)?;
    let a = find::find_offset(&segs, args.offset).with_context(|| args.path.display().to_string())?;
    let mut out = super::stdout();
    match args.format {
        FindFormat::Json | FindFormat::Jsonl => {
            // The answer's fields, and the record found with its key and the
            // start of its value as UTF-8 text (invalid bytes replaced), as
            // `dump --format json` shows them by default.
            let mut v = serde_json::to_value(&a)?;
            if let (Some(r), Some(obj)) = (&a.record, v.as_object_mut()) {
                let text = |b: &Option<Vec<u8>>| b.as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
                obj.insert(
                    "record".into(),
                    serde_json::json!({
                        "key": text(&r.key),
                        "key_size": r.key_size,
                        "value": text(&r.value),
                        "value_size": r.value_size,
                        "value_cut": r.value_size > find::PREVIEW,
                        "headers": r.headers,
                    }),
                );
            }
            print_json(&mut out, &v, &a.warnings, args.format == FindFormat::Jsonl)?
        }
        FindFormat::Table => {
            print_common(&mut out, args.explain, &a.explain, &a.warnings)?;
            writeln!(out, "target:      {}", a.target)?;
            writeln!(out, "found:       {}", a.found)?;
            writeln!(out, "offset:      {}", opt(&a.offset))?;
            if let Some(leo) = a.log_end_offset {
                writeln!(out, "log end:     {leo} (the next offset to be written; the target is past it)")?;
            }
            writeln!(out, "segment:     {}", terminal_line(&opt(&a.segment.as_ref().map(|p| p.display()))))?;
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
            if let Some(r) = &a.record {
                let ts = a
                    .timestamp
                    .map_or("-".into(), |t| crate::output::rfc3339(t).map_or(t.to_string(), |s| format!("{t} ({s})")));
                writeln!(out, "timestamp:   {ts}")?;
                writeln!(out, "key:         {}", preview(r.key.as_deref(), r.key_size))?;
                writeln!(out, "value:       {}", preview(r.value.as_deref(), r.value_size))?;
                writeln!(out, "headers:     {}", r.headers)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if a.found { exit::OK } else { exit::FINDINGS }))
}

/// A found record's key or value for a terminal, by the table's one rule,
/// with its whole size when only its start is shown.
fn preview(bytes: Option<&[u8]>, size: usize) -> String {
    crate::output::table::preview(bytes, size)
}

pub fn run_time(args: FindTimeArgs) -> anyhow::Result<ExitCode> {
    let target = parse_time(&args.timestamp)?;
    let segs = segments_for(&args.path, args.base_offset)?;
    let a = find::find_time(&segs, target).with_context(|| args.path.display().to_string())?;
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
            writeln!(out, "segment:   {}", terminal_line(&opt(&a.segment.as_ref().map(|p| p.display()))))?;
            writeln!(out, "position:  {}", opt(&a.position))?;
            writeln!(out, "batch:     {}", opt(&a.batch_base_offset))?;
            writeln!(out, "scanned:   {}", crate::output::count(a.bytes_scanned, "byte"))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if a.found { exit::OK } else { exit::FINDINGS }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds of a UTC civil time, computed from days since the epoch
    /// by hand (Howard Hinnant's days_from_civil), not by jiff.
    fn utc(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64, ms: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146097 + doe - 719468;
        ((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms
    }

    #[test]
    fn every_time_form() {
        let at = |s: &str| match parse_time(s).unwrap_or_else(|e| panic!("{s}: {e}")) {
            TimeTarget::At(t) => t,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(at("1713541500000"), 1_713_541_500_000);
        assert_eq!(at("0"), 0);
        assert_eq!(at("2024-04-19"), utc(2024, 4, 19, 0, 0, 0, 0));
        assert_eq!(at("2024-04-19 15:45"), utc(2024, 4, 19, 15, 45, 0, 0));
        assert_eq!(at("2024-04-19 15:45:00"), utc(2024, 4, 19, 15, 45, 0, 0));
        assert_eq!(at("2024-04-19 15:45:07.250"), utc(2024, 4, 19, 15, 45, 7, 250));
        assert_eq!(at("2024-04-19T15:45:07Z"), utc(2024, 4, 19, 15, 45, 7, 0));
        assert_eq!(at("2024-04-19T15:45:07.5+02:00"), utc(2024, 4, 19, 13, 45, 7, 500));
        assert_eq!(at("2024-04-19 15:45+09:00"), utc(2024, 4, 19, 6, 45, 0, 0));
        assert_eq!(at("2024-04-19T15:45:07"), utc(2024, 4, 19, 15, 45, 7, 0));
        assert_eq!(utc(1970, 1, 1, 0, 0, 0, 0), 0);
        assert_eq!(utc(2024, 4, 19, 15, 45, 0, 0), 1_713_541_500_000);
        for (s, t) in [
            ("-1", TimeTarget::Latest),
            ("latest", TimeTarget::Latest),
            ("-2", TimeTarget::Earliest),
            ("earliest", TimeTarget::Earliest),
            ("-3", TimeTarget::MaxTimestamp),
            ("max-timestamp", TimeTarget::MaxTimestamp),
        ] {
            assert_eq!(parse_time(s).unwrap(), t, "{s}");
        }
    }

    #[test]
    fn a_bad_time_names_the_forms() {
        for bad in ["-4", "yesterday", "2024-13-01", "2024-04-19 25:00", "15:45", "", "12ab", "99999999999999999999"] {
            let e = parse_time(bad).unwrap_err().to_string();
            assert!(
                e.contains("RFC 3339") && e.contains("2026-11-26 02:00") && e.contains("latest (-1)"),
                "{bad}: {e}"
            );
        }
    }
}
