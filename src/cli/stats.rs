//! `kseg stats`: what a log holds, per segment, per partition and in total.

use super::common::say;
use std::collections::BTreeMap;
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
    /// Only the totals: per topic (when it sums partitions) and overall;
    /// no segment or partition.
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
    crc_mismatches: u64,
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
        crc_mismatches: s.crc_mismatches,
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
struct TopicOut<'a> {
    topic: &'a str,
    partitions: usize,
    segments: usize,
    #[serde(flatten)]
    stats: StatsJson,
}

/// The topic of a partition: its directory's name without `-<n>`, else the
/// name kseg shows for it.
fn topic_of(part: &kseg::files::logdir::Partition) -> String {
    let dir = part.dir.clone().or_else(|| part.segments.first().and_then(|s| s.log.parent().map(PathBuf::from)));
    dir.as_deref()
        .and_then(kseg::analysis::partition_files::topic_partition)
        .map_or_else(|| part.name().display().to_string(), |(t, _)| t)
}

/// One topic's totals while partitions stream by.
#[derive(Default)]
struct TopicTotals {
    partitions: usize,
    segments: usize,
    stats: Stats,
}

pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, false, false) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let opts = stats::Options { max_decompressed: args.read.max_decompressed, reading: args.read.reading() };
    let work: Vec<(usize, usize)> =
        partitions.iter().enumerate().flat_map(|(p, part)| (0..part.segments.len()).map(move |s| (p, s))).collect();
    let pool = args.read.pool()?;
    // Segments are summarised in parallel a few at a time and consumed in
    // order; each partition is written (or, for JSON, reduced to its small
    // JSON form) as soon as its last segment is in, so memory holds the
    // sketches of the segments in flight and of the topics, not of every
    // partition.
    let chunk = (pool.current_num_threads() * 2).max(1);
    let mut out = super::stdout();
    let json = args.format == StatsFormat::Json;
    let mut seg_json: Vec<String> = Vec::new();
    let mut part_json: Vec<String> = Vec::new();
    let mut topics: BTreeMap<String, TopicTotals> = BTreeMap::new();
    let mut failed = false;
    let mut unreadable = false;
    let mut current: Option<(usize, Stats)> = None;
    let written = (|| -> anyhow::Result<()> {
        for window in work.chunks(chunk) {
            let results: Vec<std::io::Result<(Stats, Option<Change>)>> = pool.install(|| {
                window
                    .par_iter()
                    .map(|&(p, s)| stats::segment_stats_read(&partitions[p].segments[s].log, &opts))
                    .collect()
            });
            for (&(p, s), result) in window.iter().zip(results) {
                let part = &partitions[p];
                let seg = &part.segments[s];
                let (st, change) = match result {
                    Ok(r) => r,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        super::common::note_vanished(&seg.log);
                        (Stats::default(), None)
                    }
                    Err(e) => {
                        say!("kseg: {}: {e}", seg.log.display());
                        unreadable = true;
                        (Stats::default(), None)
                    }
                };
                let damaged = st.damaged_batches > 0 || st.crc_mismatches > 0;
                match change {
                    // Damage read past a truncation is the truncation's, not the file's.
                    Some(c) if c.spoils_reading() => super::common::warn_changed(&seg.log, c),
                    Some(c) => {
                        super::common::warn_changed(&seg.log, c);
                        failed |= damaged;
                    }
                    None => failed |= damaged,
                }
                if !args.totals {
                    if json {
                        seg_json
                            .push(serde_json::to_string(&SegmentOut { file: seg.log.clone(), stats: to_json(&st) })?);
                    } else {
                        write_block(&mut out, &format!("segment {}", seg.log.display()), &st)?;
                    }
                }
                match &mut current {
                    Some((cp, whole)) if *cp == p => whole.merge(&st),
                    _ => current = Some((p, st)),
                }
                if s + 1 == part.segments.len() {
                    let (_, whole) = current.take().expect("set above");
                    let n = part.segments.len();
                    if !args.totals {
                        if json {
                            part_json.push(serde_json::to_string(&PartitionOut {
                                path: part.name(),
                                segments: n,
                                stats: to_json(&whole),
                            })?);
                        } else if n > 1 {
                            write_block(
                                &mut out,
                                &format!("partition {} ({n} segments)", part.name().display()),
                                &whole,
                            )?;
                        }
                    }
                    let t = topics.entry(topic_of(part)).or_default();
                    if t.partitions == 0 {
                        t.stats = whole;
                    } else {
                        t.stats.absorb(&whole);
                    }
                    t.partitions += 1;
                    t.segments += n;
                }
            }
        }
        // The overall total: offsets of different topics do not compare, so
        // it has an offset range only when there is one topic.
        let mut total = Stats::default();
        for (i, t) in topics.values().enumerate() {
            if i == 0 {
                total = t.stats.clone();
            } else {
                total.absorb(&t.stats);
            }
        }
        if topics.len() > 1 {
            total.offsets = None;
        }
        let title_of = |name: &str, t: &TopicTotals| {
            format!("topic {name} ({} partitions, {} segments)", t.partitions, t.segments)
        };
        if json {
            // Written by hand around the pieces already serialised, in the
            // layout of the whole document.
            write!(out, "{{")?;
            if !args.totals {
                write!(out, "\n  \"segments\": [{}],", seg_json.join(","))?;
                write!(out, "\n  \"partitions\": [{}],", part_json.join(","))?;
            }
            let topic_docs: Vec<String> = topics
                .iter()
                .map(|(name, t)| {
                    serde_json::to_string(&TopicOut {
                        topic: name,
                        partitions: t.partitions,
                        segments: t.segments,
                        stats: to_json(&t.stats),
                    })
                })
                .collect::<Result<_, _>>()?;
            write!(out, "\n  \"topics\": [{}],", topic_docs.join(","))?;
            let total_doc = serde_json::to_string(&TotalOut {
                partitions: partitions.len(),
                segments: work.len(),
                stats: to_json(&total),
            })?;
            writeln!(out, "\n  \"total\": {total_doc}\n}}")?;
        } else {
            let many_topics = topics.len() > 1;
            for (name, t) in &topics {
                // A topic's total says something new when it sums partitions
                // and is not the overall total; with --totals, also a topic of
                // one partition among several topics.
                let sums = t.partitions > 1;
                let shown = if args.totals { many_topics || sums } else { many_topics && sums };
                if shown {
                    write_block(&mut out, &title_of(name, t), &t.stats)?;
                }
            }
            if partitions.len() > 1 || args.totals {
                let title = format!(
                    "total ({} topics, {} partitions, {} segments)",
                    topics.len(),
                    partitions.len(),
                    work.len()
                );
                write_block(&mut out, &title, &total)?;
            }
        }
        out.flush()?;
        Ok(())
    })();
    let code = exit::status(unreadable, failed);
    super::common::verdict_after_writing(written, code)
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
    writeln!(out, "== {}", crate::output::cell::terminal_line(title))?;
    let j = to_json(s);
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    // The ratio is computed from the two columns before it: the records'
    // bytes as stored (compressed, for a compressed batch) and uncompressed.
    t.set_header(["magic", "codec", "kind", "batches", "records", "bytes", "records stored", "uncompressed", "ratio"]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for g in &j.groups {
        t.add_row(vec![
            right(g.magic.to_string()),
            Cell::new(g.codec),
            Cell::new(&g.kind),
            right(g.batches.to_string()),
            right(g.records.to_string()),
            right(g.bytes.to_string()),
            right(g.stored_records_bytes.to_string()),
            right(g.uncompressed_records_bytes.to_string()),
            right(g.compression_ratio.map_or("-".into(), |r| format!("{r:.2}"))),
        ]);
    }
    let stored: u64 = j.groups.iter().map(|g| g.stored_records_bytes).sum();
    let uncompressed: u64 = j.groups.iter().map(|g| g.uncompressed_records_bytes).sum();
    t.add_row(vec![
        Cell::new(""),
        Cell::new("all"),
        Cell::new(""),
        right(j.batches.to_string()),
        right(j.records.to_string()),
        right(j.bytes.to_string()),
        right(stored.to_string()),
        right(uncompressed.to_string()),
        right(ratio(stored, uncompressed).map_or("-".into(), |r| format!("{r:.2}"))),
    ]);
    writeln!(out, "{t}")?;
    let compressed: Vec<String> = j
        .codecs
        .iter()
        .filter(|c| c.codec != "none")
        .map(|c| {
            format!(
                "{} {} compressed → {} uncompressed ({})",
                c.codec,
                bytes_h(c.stored_records_bytes),
                bytes_h(c.uncompressed_records_bytes),
                c.compression_ratio.map_or("-".into(), |r| format!("{r:.2}×"))
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
    if j.crc_mismatches > 0 {
        writeln!(
            out,
            "problems      {} batches whose CRC does not match their bytes (kseg verify says where)",
            j.crc_mismatches
        )?;
    }
    if j.damaged_batches > 0 || u.trailing_bytes + u.zero_fill_bytes + u.unreadable_bytes > 0 {
        writeln!(
            out,
            "unread        {} damaged batches; {} trailing bytes, {} zero-fill bytes, {} unreadable bytes",
            j.damaged_batches, u.trailing_bytes, u.zero_fill_bytes, u.unreadable_bytes
        )?;
    }
    writeln!(out)
}
