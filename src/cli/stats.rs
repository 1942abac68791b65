//! `kseg stats`: what a log holds, per segment, per partition and in total.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::analysis::sketch::Distribution;
use kseg::analysis::stats::{self, Offsets, Stats, Unread};
use rayon::prelude::*;
use serde::Serialize;

use super::common::ReadArgs;
use super::exit;
use crate::output::rfc3339;
use kseg::files::change::Change;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Segment files (.log), partition directories, or log directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    /// Only the partition and overall totals, not every segment.
    #[arg(long)]
    pub totals: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Serialize)]
struct GroupJson {
    magic: i8,
    codec: &'static str,
    kind: String,
    batches: u64,
    records: u64,
    bytes: u64,
    stored_records_bytes: u64,
    uncompressed_records_bytes: u64,
    compression_ratio: Option<f64>,
}

#[derive(Serialize)]
struct CodecJson {
    codec: &'static str,
    batches: u64,
    records: u64,
    stored_records_bytes: u64,
    uncompressed_records_bytes: u64,
    compression_ratio: Option<f64>,
}

#[derive(Serialize)]
struct TimesJson {
    first: Option<String>,
    last: Option<String>,
    min: Option<String>,
    max: Option<String>,
    first_ms: i64,
    last_ms: i64,
    min_ms: i64,
    max_ms: i64,
}

#[derive(Serialize)]
struct KeysJson {
    distinct_estimate: u64,
    keyed_records: u64,
    null_keys: u64,
}

#[derive(Serialize)]
struct StatsJson {
    batches: u64,
    records: u64,
    bytes: u64,
    damaged_batches: u64,
    groups: Vec<GroupJson>,
    codecs: Vec<CodecJson>,
    offsets: Option<Offsets>,
    timestamps: Option<TimesJson>,
    record_size: Option<Distribution>,
    batch_size: Option<Distribution>,
    keys: KeysJson,
    unread: Unread,
}

fn codec_name(c: Option<kseg::format::compression::Compression>) -> &'static str {
    c.map_or("invalid", |c| c.name())
}

fn ratio(stored: u64, uncompressed: u64) -> Option<f64> {
    (stored > 0).then(|| (uncompressed as f64 / stored as f64 * 1000.0).round() / 1000.0)
}

fn to_json(s: &Stats) -> StatsJson {
    let t = s.totals();
    StatsJson {
        batches: t.batches,
        records: t.records,
        bytes: t.bytes,
        damaged_batches: s.damaged_batches,
        groups: s
            .groups
            .iter()
            .map(|(&(magic, codec, kind), g)| GroupJson {
                magic,
                codec: codec_name(codec),
                kind: kind.name(),
                batches: g.batches,
                records: g.records,
                bytes: g.bytes,
                stored_records_bytes: g.stored_records_bytes,
                uncompressed_records_bytes: g.uncompressed_records_bytes,
                compression_ratio: ratio(g.stored_records_bytes, g.uncompressed_records_bytes),
            })
            .collect(),
        codecs: s
            .by_codec()
            .into_iter()
            .map(|(codec, g)| CodecJson {
                codec: codec_name(codec),
                batches: g.batches,
                records: g.records,
                stored_records_bytes: g.stored_records_bytes,
                uncompressed_records_bytes: g.uncompressed_records_bytes,
                compression_ratio: ratio(g.stored_records_bytes, g.uncompressed_records_bytes),
            })
            .collect(),
        offsets: s.offsets,
        timestamps: s.timestamps.map(|t| TimesJson {
            first: rfc3339(t.first),
            last: rfc3339(t.last),
            min: rfc3339(t.min),
            max: rfc3339(t.max),
            first_ms: t.first,
            last_ms: t.last,
            min_ms: t.min,
            max_ms: t.max,
        }),
        record_size: s.record_size(),
        batch_size: s.batch_size(),
        keys: KeysJson { distinct_estimate: s.distinct_keys(), keyed_records: s.keyed_records, null_keys: s.null_keys },
        unread: s.unread,
    }
}

#[derive(Serialize)]
struct SegmentOut {
    file: PathBuf,
    #[serde(flatten)]
    stats: StatsJson,
}

#[derive(Serialize)]
struct PartitionOut {
    path: PathBuf,
    segments: usize,
    #[serde(flatten)]
    stats: StatsJson,
}

#[derive(Serialize)]
struct TotalOut {
    partitions: usize,
    segments: usize,
    #[serde(flatten)]
    stats: StatsJson,
}

#[derive(Serialize)]
struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<SegmentOut>>,
    partitions: Vec<PartitionOut>,
    total: TotalOut,
}

pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, false, false) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let opts = stats::Options { max_decompressed: args.read.max_decompressed, reading: args.read.reading() };
    let work: Vec<(usize, usize)> =
        partitions.iter().enumerate().flat_map(|(p, part)| (0..part.segments.len()).map(move |s| (p, s))).collect();
    let pool = args.read.pool()?;
    let results: Vec<std::io::Result<(Stats, Option<Change>)>> = pool.install(|| {
        work.par_iter().map(|&(p, s)| stats::segment_stats_read(&partitions[p].segments[s].log, &opts)).collect()
    });

    let mut seg_out = Vec::new();
    let mut part_out = Vec::new();
    let mut total = Stats::default();
    let mut failed = false;
    let mut results = results.into_iter();
    for part in &partitions {
        let mut whole = Stats::default();
        for seg in &part.segments {
            let (s, change) = match results.next() {
                Some(Ok(s)) => s,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    super::common::note_vanished(&seg.log);
                    continue;
                }
                Some(Err(e)) => {
                    eprintln!("kseg: {}: {e}", seg.log.display());
                    return Ok(ExitCode::from(exit::ERROR));
                }
                None => (Stats::default(), None),
            };
            match change {
                // Damage read past a truncation is the truncation's, not the file's.
                Some(c) if c.spoils_reading() => super::common::warn_changed(&seg.log, c),
                Some(c) => {
                    super::common::warn_changed(&seg.log, c);
                    failed |= s.damaged_batches > 0;
                }
                None => failed |= s.damaged_batches > 0,
            }
            whole.merge(&s);
            seg_out.push((seg.log.clone(), s));
        }
        total.absorb(&whole);
        part_out.push((part.name(), part.segments.len(), whole));
    }
    if partitions.len() == 1 {
        total = part_out[0].2.clone();
    }

    let mut out = super::stdout();
    match args.format {
        StatsFormat::Json => {
            let report = Report {
                segments: (!args.totals)
                    .then(|| seg_out.iter().map(|(f, s)| SegmentOut { file: f.clone(), stats: to_json(s) }).collect()),
                partitions: part_out
                    .iter()
                    .map(|(p, n, s)| PartitionOut { path: p.clone(), segments: *n, stats: to_json(s) })
                    .collect(),
                total: TotalOut { partitions: partitions.len(), segments: work.len(), stats: to_json(&total) },
            };
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        StatsFormat::Table => {
            if !args.totals {
                for (f, s) in &seg_out {
                    write_block(&mut out, &format!("segment {}", f.display()), s)?;
                }
            }
            for (p, n, s) in &part_out {
                if args.totals || *n > 1 {
                    write_block(&mut out, &format!("partition {} ({n} segments)", p.display()), s)?;
                }
            }
            if partitions.len() > 1 {
                let title = format!("total ({} partitions, {} segments)", partitions.len(), work.len());
                write_block(&mut out, &title, &total)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if failed { exit::FINDINGS } else { exit::OK }))
}

fn bytes_h(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

fn dist(d: Option<Distribution>) -> String {
    match d {
        None => "-".into(),
        Some(d) => format!(
            "min {} / median {} / p99 {} / max {} (mean {:.1}, {} values)",
            d.min, d.median, d.p99, d.max, d.mean, d.count
        ),
    }
}

fn write_block(out: &mut dyn Write, title: &str, s: &Stats) -> std::io::Result<()> {
    writeln!(out, "== {title}")?;
    let j = to_json(s);
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(["magic", "codec", "kind", "batches", "records", "bytes", "uncompressed", "ratio"]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for g in &j.groups {
        t.add_row(vec![
            right(g.magic.to_string()),
            Cell::new(g.codec),
            Cell::new(&g.kind),
            right(g.batches.to_string()),
            right(g.records.to_string()),
            right(g.bytes.to_string()),
            right(g.uncompressed_records_bytes.to_string()),
            right(g.compression_ratio.map_or("-".into(), |r| format!("{r:.2}"))),
        ]);
    }
    t.add_row(vec![
        Cell::new(""),
        Cell::new("all"),
        Cell::new(""),
        right(j.batches.to_string()),
        right(j.records.to_string()),
        right(j.bytes.to_string()),
        right(j.groups.iter().map(|g| g.uncompressed_records_bytes).sum::<u64>().to_string()),
        Cell::new(""),
    ]);
    writeln!(out, "{t}")?;
    let compressed: Vec<String> = j
        .codecs
        .iter()
        .filter(|c| c.codec != "none")
        .map(|c| {
            format!(
                "{} {} -> {} ({})",
                c.codec,
                bytes_h(c.stored_records_bytes),
                bytes_h(c.uncompressed_records_bytes),
                c.compression_ratio.map_or("-".into(), |r| format!("{r:.2}x"))
            )
        })
        .collect();
    if !compressed.is_empty() {
        writeln!(out, "compression   {}", compressed.join(", "))?;
    }
    match &j.offsets {
        Some(o) => {
            write!(
                out,
                "offsets       {}..{}: {} missing between batches ({} gaps), {} within batches ({} batches)",
                o.first, o.last, o.missing_between, o.gaps_between, o.missing_within, o.batches_with_missing
            )?;
            if o.not_increasing > 0 {
                write!(out, ", {} batches not above the previous", o.not_increasing)?;
            }
            writeln!(out)?;
        }
        None => writeln!(out, "offsets       -")?,
    }
    match &j.timestamps {
        Some(t) => writeln!(
            out,
            "timestamps    first {}, last {}, max {} (min {})",
            t.first.as_deref().unwrap_or("-"),
            t.last.as_deref().unwrap_or("-"),
            t.max.as_deref().unwrap_or("-"),
            t.min.as_deref().unwrap_or("-")
        )?,
        None => writeln!(out, "timestamps    -")?,
    }
    writeln!(out, "record size   {}", dist(j.record_size))?;
    writeln!(out, "batch size    {}", dist(j.batch_size))?;
    writeln!(
        out,
        "keys          ~{} distinct ({} records with a key, {} with a null key)",
        j.keys.distinct_estimate, j.keys.keyed_records, j.keys.null_keys
    )?;
    let u = &j.unread;
    if j.damaged_batches > 0 || u.trailing_bytes + u.zero_fill_bytes + u.unreadable_bytes > 0 {
        writeln!(
            out,
            "unread        {} damaged batches; {} trailing bytes, {} zero-fill bytes, {} unreadable bytes",
            j.damaged_batches, u.trailing_bytes, u.zero_fill_bytes, u.unreadable_bytes
        )?;
    }
    writeln!(out)
}
