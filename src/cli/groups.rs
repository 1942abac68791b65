//! `kseg groups`: consumer groups and their committed offsets, from the
//! `__consumer_offsets` partitions of the PATH arguments, with the lag of
//! each committed partition whose log lies in the same log directories. The
//! replay is [`kseg::analysis::groups`].

use super::common::say;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::analysis::groups::{Group, Replay};
use kseg::files::log::LogSource;
use kseg::files::partition;
use serde::Serialize;

use super::common::ReadArgs;
use super::exit;
use crate::output::rfc3339;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GroupsFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// Log directories, or `__consumer_offsets-<n>` partition directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = GroupsFormat::Table)]
    pub format: GroupsFormat,
    /// Only this group (repeat for more).
    #[arg(long, value_name = "GROUP")]
    pub group: Vec<String>,
    /// Only offsets committed for this topic, and the groups that have one
    /// (repeat for more).
    #[arg(long, value_name = "TOPIC")]
    pub topic: Vec<String>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Serialize)]
struct OffsetOut<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    leader_epoch: Option<i32>,
    metadata: Option<&'a str>,
    commit_time: Option<String>,
    commit_timestamp: i64,
    /// One past the last offset of the partition's log, when its directory
    /// is in the same log directory.
    log_end_offset: Option<i64>,
    lag: Option<i64>,
}

#[derive(Serialize)]
struct GroupOut<'a> {
    #[serde(flatten)]
    group: &'a Group,
    state_time: Option<String>,
    #[serde(rename = "offsets")]
    committed: Vec<OffsetOut<'a>>,
}

/// Log end offsets of the partitions in the log directories, read once.
struct Ends {
    dirs: Vec<PathBuf>,
    known: HashMap<(String, i32), Option<i64>>,
    mmap: bool,
    max_decompressed: usize,
}

impl Ends {
    fn get(&mut self, topic: &str, partition: i32) -> Option<i64> {
        let key = (topic.to_string(), partition);
        if let Some(v) = self.known.get(&key) {
            return *v;
        }
        let leo = self.dirs.iter().find_map(|d| self.read(&d.join(format!("{topic}-{partition}"))));
        self.known.insert(key, leo);
        leo
    }

    /// One past the last offset of the last segment's batches, else that
    /// segment's base offset.
    fn read(&self, dir: &Path) -> Option<i64> {
        let last = partition::segments(dir).ok()?.pop()?;
        let scan = LogSource::open(&last.log, self.mmap)
            .and_then(|src| kseg::analysis::producers::scan_segment(src, self.max_decompressed))
            .ok()?;
        Some(scan.last_offset.map_or(last.base_offset, |l| (l + 1).max(last.base_offset)))
    }
}

pub fn run(args: GroupsArgs) -> anyhow::Result<ExitCode> {
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, false, false) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let offsets: Vec<_> = partitions
        .iter()
        .filter(|p| {
            p.dir
                .as_deref()
                .and_then(kseg::analysis::partition_files::topic_partition)
                .is_some_and(|(t, _)| t == "__consumer_offsets")
        })
        .collect();
    if offsets.is_empty() {
        say!("kseg: no __consumer_offsets-<n> partition directory under the given paths");
        return Ok(ExitCode::from(exit::ERROR));
    }
    let mut replay = Replay::default();
    let mut unreadable = false;
    for part in &offsets {
        if let Err(e) = replay.partition(part, !args.read.no_mmap, args.read.max_decompressed) {
            say!("kseg: {}: {e}", part.name().display());
            unreadable = true;
        }
    }
    for (file, pos, msg) in &replay.damage {
        say!("kseg: {}: at byte {pos}: {msg}", file.display());
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in &offsets {
        if let Some(parent) = p.dir.as_deref().and_then(Path::parent)
            && !dirs.iter().any(|d| d == parent)
        {
            dirs.push(parent.to_path_buf());
        }
    }
    let mut ends =
        Ends { dirs, known: HashMap::new(), mmap: !args.read.no_mmap, max_decompressed: args.read.max_decompressed };
    let groups: Vec<GroupOut> = replay
        .groups
        .values()
        .filter(|g| args.group.is_empty() || args.group.contains(&g.group))
        .filter_map(|g| {
            let mut committed = Vec::new();
            for (topic, parts) in &g.offsets {
                if !args.topic.is_empty() && !args.topic.contains(topic) {
                    continue;
                }
                for (&p, c) in parts {
                    let leo = ends.get(topic, p);
                    committed.push(OffsetOut {
                        topic,
                        partition: p,
                        offset: c.offset,
                        leader_epoch: c.leader_epoch,
                        metadata: c.metadata.as_deref(),
                        commit_time: rfc3339(c.commit_timestamp),
                        commit_timestamp: c.commit_timestamp,
                        log_end_offset: leo,
                        lag: leo.map(|e| e - c.offset),
                    });
                }
            }
            (args.topic.is_empty() || !committed.is_empty()).then(|| GroupOut {
                group: g,
                state_time: g.state_timestamp.and_then(rfc3339),
                committed,
            })
        })
        .collect();
    let code = exit::status(unreadable, !replay.damage.is_empty());
    let written = (|| -> anyhow::Result<()> {
        let mut out = super::stdout();
        match args.format {
            GroupsFormat::Json => {
                #[derive(Serialize)]
                struct Doc<'a> {
                    groups: &'a [GroupOut<'a>],
                    records: u64,
                    pending_transactions: usize,
                    damaged: usize,
                }
                let doc = Doc {
                    groups: &groups,
                    records: replay.records,
                    pending_transactions: replay.pending_transactions,
                    damaged: replay.damage.len(),
                };
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
            }
            GroupsFormat::Table => {
                for g in &groups {
                    write_group(&mut out, g)?;
                }
                writeln!(
                    out,
                    "{} groups from {} records of {} __consumer_offsets partitions",
                    groups.len(),
                    replay.records,
                    offsets.len()
                )?;
                if replay.pending_transactions > 0 {
                    writeln!(
                        out,
                        "{} transactions without their marker: their offsets are not applied",
                        replay.pending_transactions
                    )?;
                }
            }
        }
        out.flush()?;
        Ok(())
    })();
    super::common::verdict_after_writing(written, code)
}

fn write_group(out: &mut dyn Write, g: &GroupOut<'_>) -> std::io::Result<()> {
    let gr = g.group;
    let mut head = format!("== group {}: {}", gr.group, gr.state);
    if let Some(t) = &gr.group_type {
        head.push_str(&format!(", {t}"));
    }
    match (&gr.protocol_type, &gr.protocol) {
        (Some(pt), Some(p)) => head.push_str(&format!(" ({pt}/{p})")),
        (Some(pt), None) => head.push_str(&format!(" ({pt})")),
        _ => {}
    }
    if let Some(n) = gr.generation {
        let word = if gr.group_type.as_deref() == Some("classic") { "generation" } else { "epoch" };
        head.push_str(&format!(", {word} {n}"));
    }
    head.push_str(&format!(", {} members", gr.members.len()));
    if let Some(t) = &g.state_time {
        head.push_str(&format!(", since {t}"));
    }
    writeln!(out, "{head}")?;
    for m in &gr.members {
        writeln!(
            out,
            "   member {} (client {}, host {})",
            m.member_id,
            m.client_id.as_deref().unwrap_or("-"),
            m.client_host.as_deref().unwrap_or("-")
        )?;
    }
    if !g.committed.is_empty() {
        let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
        let opt = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        t.set_header(["topic", "partition", "committed", "commit time", "log end", "lag"]);
        for c in &g.committed {
            t.add_row(vec![
                Cell::new(c.topic),
                right(c.partition.to_string()),
                right(c.offset.to_string()),
                Cell::new(c.commit_time.as_deref().unwrap_or("-")),
                right(opt(c.log_end_offset)),
                right(opt(c.lag)),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    writeln!(out)
}
