//! `kseg ls`: one row per partition of the PATH arguments, with totals per
//! topic and overall. The computation is [`kseg::analysis::overview`].

use super::common::say;
use crate::output::cell::terminal_line;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::analysis::overview::{self, Health, PartitionSummary, Totals};
use rayon::prelude::*;
use serde::Serialize;

use super::common::ReadArgs;
use super::exit;
use crate::output::rfc3339;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LsFormat {
    Table,
    Json,
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LsSort {
    /// By topic, then partition number.
    Name,
    /// Largest first (bytes of the .log files).
    Size,
    /// Most offsets (log end minus log start) first.
    Offsets,
    /// Newest last timestamp first.
    Time,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Partition directories, log directories, or segment files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = LsFormat::Table)]
    pub format: LsFormat,
    #[arg(long, value_enum, default_value_t = LsSort::Name)]
    pub sort: LsSort,
    /// Check every partition fully, as `kseg verify` does, for its status
    /// (by default: a quick check of framing and the partition's other files).
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    summary: &'a PartitionSummary,
    first_time: Option<String>,
    last_time: Option<String>,
}

#[derive(Serialize)]
struct TotalRow<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    #[serde(flatten)]
    totals: &'a Totals,
    first_time: Option<String>,
    last_time: Option<String>,
}

fn total_row<'a>(topic: Option<&'a str>, totals: &'a Totals) -> TotalRow<'a> {
    TotalRow {
        topic,
        totals,
        first_time: totals.first_timestamp.and_then(rfc3339),
        last_time: totals.last_timestamp.and_then(rfc3339),
    }
}

fn row(s: &PartitionSummary) -> Row<'_> {
    Row { summary: s, first_time: s.first_timestamp.and_then(rfc3339), last_time: s.last_timestamp.and_then(rfc3339) }
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    partitions: Vec<Row<'a>>,
    topics: Vec<TotalRow<'a>>,
    total: TotalRow<'a>,
}

pub fn run(args: LsArgs) -> anyhow::Result<ExitCode> {
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, true, false) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let opts = overview::Options {
        max_decompressed: args.read.max_decompressed,
        mmap: !args.read.no_mmap,
        full: args.verify,
        log_starts: kseg::files::logdir::LogStarts::for_partitions(&partitions),
    };
    let pool = args.read.pool()?;
    // Each partition becomes a few numbers: memory holds the partitions in
    // flight, whatever their count.
    let mut rows: Vec<PartitionSummary> =
        pool.install(|| partitions.par_iter().map(|p| overview::summarize(p, &opts)).collect());
    drop(partitions);
    let by_name = |a: &PartitionSummary, b: &PartitionSummary| (&a.topic, a.partition).cmp(&(&b.topic, b.partition));
    match args.sort {
        LsSort::Name => rows.sort_by(by_name),
        LsSort::Size => rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| by_name(a, b))),
        LsSort::Offsets => rows.sort_by(|a, b| b.offsets().cmp(&a.offsets()).then_with(|| by_name(a, b))),
        LsSort::Time => rows.sort_by(|a, b| b.last_timestamp.cmp(&a.last_timestamp).then_with(|| by_name(a, b))),
    }
    let mut topics: BTreeMap<&str, Totals> = BTreeMap::new();
    let mut total = Totals::default();
    for r in &rows {
        topics.entry(r.topic.as_str()).or_default().add(r);
        total.add(r);
    }
    for r in rows.iter().filter(|r| r.status == Health::Unreadable) {
        say!("kseg: {}: a file could not be read ({})", r.path.display(), kinds(r));
    }
    let worst = rows.iter().map(|r| r.status).max().unwrap_or(Health::Ok);
    let code = match worst {
        Health::Unreadable => exit::ERROR,
        Health::Error => exit::FINDINGS,
        _ => exit::OK,
    };
    let written = (|| -> anyhow::Result<()> {
        let mut out = super::stdout();
        match args.format {
            LsFormat::Json => {
                let report = Report {
                    ok: code == exit::OK,
                    partitions: rows.iter().map(row).collect(),
                    topics: topics.iter().map(|(t, tot)| total_row(Some(t), tot)).collect(),
                    total: total_row(None, &total),
                };
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            }
            LsFormat::Jsonl => {
                for r in &rows {
                    write_line(&mut out, "partition", &row(r))?;
                }
                for (t, tot) in &topics {
                    write_line(&mut out, "topic", &total_row(Some(t), tot))?;
                }
                write_line(&mut out, "total", &total_row(None, &total))?;
            }
            LsFormat::Table => write_table(&mut out, &rows, &topics, &total)?,
        }
        out.flush()?;
        Ok(())
    })();
    super::common::verdict_after_writing(written, code)
}

fn write_line(out: &mut dyn Write, kind: &str, v: &impl Serialize) -> anyhow::Result<()> {
    let mut obj = serde_json::to_value(v)?;
    if let serde_json::Value::Object(map) = &mut obj {
        map.shift_insert(0, "type".into(), kind.into());
    }
    serde_json::to_writer(&mut *out, &obj)?;
    writeln!(out)?;
    Ok(())
}

fn kinds(r: &PartitionSummary) -> String {
    r.findings.iter().map(|(k, n)| if *n > 1 { format!("{k} ×{n}") } else { k.clone() }).collect::<Vec<_>>().join(", ")
}

fn opt(v: Option<i64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(rfc3339).unwrap_or_else(|| "-".into())
}

fn write_table(
    out: &mut dyn Write,
    rows: &[PartitionSummary],
    topics: &BTreeMap<&str, Totals>,
    total: &Totals,
) -> std::io::Result<()> {
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "topic",
        "partition",
        "segments",
        "bytes",
        "log start",
        "first offset",
        "last offset",
        "first time",
        "last time",
        "producers",
        "open txns",
        "status",
    ]);
    for r in rows {
        let start = match (r.log_start_offset, r.log_start_from_checkpoint) {
            (Some(s), true) => format!("{s} (checkpoint)"),
            (s, _) => opt(s),
        };
        let status = match r.status {
            Health::Ok => "ok".to_string(),
            s => format!(
                "{}: {}",
                serde_json::to_value(s).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                kinds(r)
            ),
        };
        t.add_row(vec![
            Cell::new(terminal_line(&r.topic)),
            right(r.partition.map_or("-".into(), |p| p.to_string())),
            right(r.segments.to_string()),
            right(r.bytes.to_string()),
            right(start),
            right(opt(r.first_offset)),
            right(opt(r.last_offset)),
            Cell::new(time(r.first_timestamp)),
            Cell::new(time(r.last_timestamp)),
            right(r.producers.to_string()),
            right(r.open_transactions.to_string()),
            Cell::new(status),
        ]);
    }
    writeln!(out, "{t}")?;
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "topic",
        "partitions",
        "segments",
        "bytes",
        "offsets",
        "first time",
        "last time",
        "producers",
        "open txns",
        "not ok",
    ]);
    let totals_row = |name: &str, s: &Totals| {
        vec![
            Cell::new(terminal_line(name)),
            right(s.partitions.to_string()),
            right(s.segments.to_string()),
            right(s.bytes.to_string()),
            right(s.offsets.to_string()),
            Cell::new(time(s.first_timestamp)),
            Cell::new(time(s.last_timestamp)),
            right(s.producers.to_string()),
            right(s.open_transactions.to_string()),
            right(s.not_ok.to_string()),
        ]
    };
    for (name, s) in topics {
        t.add_row(totals_row(name, s));
    }
    t.add_row(totals_row("(all topics)", total));
    writeln!(out, "{t}")
}
