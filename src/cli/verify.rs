//! `kseg verify`: integrity of segments, indexes and whole log directories,
//! with exit codes a script can act on.

use super::common::say;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kseg::analysis::partition_files;
use kseg::analysis::verify::{self, FileReport, Finding, Severity, Status};
use kseg::files::partition::FileKind;
use kseg::format::problem::ProblemKind;
use rayon::prelude::*;
use serde::Serialize;

use super::common::ReadArgs;
use super::exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Segment files (.log, .index, .timeindex, .txnindex), producer
    /// snapshots (.snapshot), partition directories, or log directories
    /// (folders of partition directories).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = VerifyFormat::Table)]
    pub format: VerifyFormat,
    /// Print nothing; only the exit code tells.
    #[arg(long, short)]
    pub quiet: bool,
    /// Treat warnings (a torn tail of an active segment) as errors.
    #[arg(long)]
    pub strict: bool,
    /// List every file checked (by default, given a directory, only the
    /// files with a finding) and every finding (by default, after three of
    /// one kind in one file, one line counts the rest).
    #[arg(long, short)]
    pub verbose: bool,
    /// Show at most N findings (default: 50 in the table; in JSON all, up
    /// to 1,000 of one kind in one file, and `summary.findings_left_out`
    /// counts the rest).
    #[arg(long, value_name = "N")]
    pub max_findings: Option<usize>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Serialize, Default)]
struct Summary {
    partitions: usize,
    segments: usize,
    files: usize,
    batches: u64,
    records: u64,
    bytes: u64,
    errors: usize,
    warnings: usize,
    notes: usize,
    /// Findings by kind, all of them (also those `--max-findings` left out).
    by_kind: BTreeMap<&'static str, usize>,
    findings_left_out: usize,
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    files: &'a [FileReport],
    problems: &'a [Finding],
    summary: &'a Summary,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, true, args.quiet) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let work: Vec<(usize, usize)> =
        partitions.iter().enumerate().flat_map(|(p, part)| (0..part.segments.len()).map(move |s| (p, s))).collect();
    let progress = super::common::progress_bar(&partitions, args.quiet, 256 << 20);
    let opts = verify::Options { max_decompressed: args.read.max_decompressed, reading: args.read.reading() };
    let pool = args.read.pool()?;
    let results: Vec<verify::SegmentReport> = pool.install(|| {
        work.par_iter()
            .map(|&(p, s)| {
                let part = &partitions[p];
                let seg = &part.segments[s];
                let rep = verify::verify_segment(seg, part.active == Some(s), &opts).unwrap_or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        if !args.quiet {
                            super::common::note_vanished(&seg.log);
                        }
                        return verify::SegmentReport::default();
                    }
                    verify::SegmentReport { findings: vec![unreadable(&seg.log, &e)], ..Default::default() }
                });
                if let Some(bar) = &progress {
                    bar.inc(std::fs::metadata(&seg.log).map(|m| m.len()).unwrap_or(0));
                }
                rep
            })
            .collect()
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    // Stable order: partitions and segments as collected; findings of a
    // segment in file then position order; cross-segment findings last.
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut left_out: Vec<verify::LeftOut> = Vec::new();
    let mut summary = Summary { partitions: partitions.len(), segments: work.len(), ..Default::default() };
    let mut results = results.into_iter();
    let mut leos = Vec::with_capacity(partitions.len());
    for part in &partitions {
        let reps: Vec<_> = results.by_ref().take(part.segments.len()).collect();
        for rep in &reps {
            files.extend(rep.files.iter().cloned());
            let mut f = rep.findings.clone();
            f.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
            problems.extend(f);
            left_out.extend(rep.left_out.iter().cloned());
        }
        problems.extend(verify::cross_segment(&part.segments, &reps));
        for snap in &part.snapshots {
            match verify::verify_snapshot(snap) {
                Ok(rep) => {
                    files.extend(rep.files);
                    problems.extend(rep.findings);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !args.quiet {
                        super::common::note_vanished(snap);
                    }
                }
                Err(e) => problems.push(unreadable(snap, &e)),
            }
        }
        let last_offset = reps.iter().filter_map(|r| r.last_offset).max();
        let meta = partition_files::check_partition(part, last_offset);
        files.extend(meta.files);
        problems.extend(meta.findings);
        left_out.extend(meta.left_out);
        leos.push(partition_files::log_end_offset(part, last_offset));
    }
    let meta = partition_files::check_log_dirs(&args.paths, &partitions, &leos);
    files.extend(meta.files);
    problems.extend(meta.findings);
    left_out.extend(meta.left_out);
    for f in &files {
        summary.files += 1;
        summary.batches += f.batches;
        summary.records += f.records;
        summary.bytes += f.bytes;
    }
    // Findings made after a file's own check change its status (by name:
    // a log directory has tens of thousands of files).
    let index: HashMap<PathBuf, usize> = files.iter().enumerate().map(|(i, f)| (f.file.clone(), i)).collect();
    let severities = problems.iter().map(|p| (&p.file, p.severity));
    for (file, severity) in severities.chain(left_out.iter().map(|l| (&l.file, l.severity))) {
        if let Some(f) = index.get(file).map(|&i| &mut files[i]) {
            let s = match severity {
                Severity::Error => Status::Error,
                Severity::Warning => Status::Warning,
                Severity::Note => Status::Ok,
            };
            if s as u8 > f.status as u8 {
                f.status = s;
            }
        }
    }
    // A file that could not be read is kseg's failure, not the data's: the
    // rest is still reported, and the status says verify could not run.
    let unreadable = problems.iter().any(|p| p.kind == ProblemKind::Unreadable);
    if !args.quiet {
        // As in every subcommand, what could not be read is named on stderr too.
        for p in problems.iter().filter(|p| p.kind == ProblemKind::Unreadable) {
            say!("kseg: {}: {}", p.file.display(), p.message);
        }
    }
    let counted = problems.iter().map(|p| (p.kind, p.severity, 1));
    for (kind, severity, n) in counted.chain(left_out.iter().map(|l| (l.kind, l.severity, l.count as usize))) {
        match severity {
            Severity::Error => summary.errors += n,
            Severity::Warning => summary.warnings += n,
            Severity::Note => summary.notes += n,
        }
        *summary.by_kind.entry(kind.name()).or_default() += n;
    }
    let not_kept: usize = left_out.iter().map(|l| l.count as usize).sum();
    let failed = summary.errors > 0 || (args.strict && summary.warnings > 0);
    let code = exit::status(unreadable, failed);
    let written = (|| -> anyhow::Result<()> {
        if args.quiet {
            return Ok(());
        }
        let mut out = super::stdout();
        match args.format {
            VerifyFormat::Json => {
                let shown = args.max_findings.map_or(problems.len(), |m| m.min(problems.len()));
                summary.findings_left_out = problems.len() - shown + not_kept;
                serde_json::to_writer_pretty(
                    &mut out,
                    &Report { ok: !failed, files: &files, problems: &problems[..shown], summary: &summary },
                )?;
                writeln!(out)?;
            }
            VerifyFormat::Table => {
                // Named files are listed whatever their status; in a
                // directory only the files with something to say, unless -v.
                let all_files = args.verbose || args.paths.iter().all(|p| p.is_file());
                for f in files.iter().filter(|f| all_files || f.status != Status::Ok) {
                    write_file(&mut out, f)?;
                }
                let cap = args.max_findings.unwrap_or(TABLE_MAX_FINDINGS);
                let repeats = if args.verbose { usize::MAX } else { REPEATS_SHOWN };
                write_findings(&mut out, &problems, &left_out, cap, repeats)?;
                writeln!(
                    out,
                    "\n{} partitions, {} segments, {} files, {} batches, {} records, {} bytes: {} errors, {} warnings, {} notes",
                    summary.partitions,
                    summary.segments,
                    summary.files,
                    summary.batches,
                    summary.records,
                    summary.bytes,
                    summary.errors,
                    summary.warnings,
                    summary.notes
                )?;
            }
        }
        out.flush()?;
        Ok(())
    })();
    super::common::verdict_after_writing(written, code)
}

/// Findings shown in the table when `--max-findings` is not given.
const TABLE_MAX_FINDINGS: usize = 50;
/// Findings of one kind in one file shown in the table before the rest are
/// counted in one line (all of them under `-v`).
const REPEATS_SHOWN: usize = 3;

fn unreadable(file: &std::path::Path, e: &std::io::Error) -> Finding {
    Finding {
        file: file.to_path_buf(),
        kind: ProblemKind::Unreadable,
        severity: Severity::Error,
        position: None,
        offset: None,
        message: e.to_string(),
    }
}

fn write_file(out: &mut dyn Write, f: &FileReport) -> std::io::Result<()> {
    let status = match f.status {
        Status::Ok => "ok     ",
        Status::Warning => "WARNING",
        Status::Error => "ERROR  ",
    };
    let detail = if f.kind == FileKind::Log {
        format!("{} batches, {} records, {} bytes", f.batches, f.records, f.bytes)
    } else {
        format!("{} bytes", f.bytes)
    };
    writeln!(out, "{status} {} ({}, {detail})", f.file.display(), f.kind.name())
}

/// The findings, grouped by file (in order of first finding) and kind: the
/// first `repeats` of each kind in a file, then one line counting the rest;
/// notes, which name one file each (leftover files, checkpoint entries), are
/// grouped by kind alone, after the rest. At most `cap` finding lines in
/// all, then one line counting what is left. `left_out` (findings only
/// counted) add to their group's count.
fn write_findings(
    out: &mut dyn Write,
    problems: &[Finding],
    left_out: &[verify::LeftOut],
    cap: usize,
    repeats: usize,
) -> std::io::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    // Keyed as the groups are: notes by kind alone.
    let mut not_kept: HashMap<(Option<&std::path::Path>, ProblemKind), u64> = HashMap::new();
    for l in left_out {
        let file = (l.severity != Severity::Note).then_some(l.file.as_path());
        *not_kept.entry((file, l.kind)).or_default() += l.count;
    }
    writeln!(out)?;
    type Key<'a> = (Option<&'a std::path::Path>, ProblemKind);
    // Groups in order of first appearance, each a list of finding indexes;
    // and per file (notes: `None`, last), its groups in order.
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    let mut group_at: HashMap<Key, usize> = HashMap::new();
    let mut files: Vec<(Option<&std::path::Path>, Vec<usize>)> = Vec::new();
    let mut file_at: HashMap<Option<&std::path::Path>, usize> = HashMap::new();
    for (i, p) in problems.iter().enumerate() {
        let file = (p.severity != Severity::Note).then_some(p.file.as_path());
        let key = (file, p.kind);
        let g = match group_at.get(&key) {
            Some(&g) => g,
            None => {
                groups.push((key, Vec::new()));
                group_at.insert(key, groups.len() - 1);
                let f = *file_at.entry(file).or_insert_with(|| {
                    files.push((file, Vec::new()));
                    files.len() - 1
                });
                files[f].1.push(groups.len() - 1);
                groups.len() - 1
            }
        };
        groups[g].1.push(i);
    }
    files.sort_by_key(|(f, _)| f.is_none());
    let mut shown = 0usize;
    for (_, gs) in &files {
        for &g in gs {
            let ((file, kind), idx) = &groups[g];
            let mut left = idx.len() as u64 + not_kept.get(&(*file, *kind)).copied().unwrap_or(0);
            for &i in idx.iter().take(repeats) {
                if shown >= cap {
                    break;
                }
                write_finding(out, &problems[i])?;
                shown += 1;
                left -= 1;
            }
            if left > 0 {
                match file {
                    Some(f) => writeln!(out, "  … and {} more `{kind}` in {}", thousands(left), f.display())?,
                    None => writeln!(out, "  … and {} more `{kind}` notes", thousands(left))?,
                }
            }
        }
    }
    let counted_only = not_kept.values().sum::<u64>();
    let all = problems.len() as u64 + counted_only;
    if (shown as u64) < all && shown >= cap {
        // JSON lists every finding verify kept; past KEPT_PER_KIND of a kind
        // in one file, it too only counts them.
        let json = if counted_only == 0 {
            "--format json for all".to_string()
        } else {
            format!("--format json for the first {} of each kind in a file", thousands(verify::KEPT_PER_KIND as u64))
        };
        writeln!(
            out,
            "({} of {} findings shown: --max-findings N for more, {json})",
            thousands(shown as u64),
            thousands(all)
        )?;
    }
    Ok(())
}

fn write_finding(out: &mut dyn Write, p: &Finding) -> std::io::Result<()> {
    let sev = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let at = p.position.map_or(String::new(), |pos| format!(" at byte {pos}"));
    let off = p.offset.map_or(String::new(), |o| format!(" (offset {o})"));
    writeln!(out, "{sev}: {}{at}{off}: {}: {}", p.file.display(), p.kind, p.message)
}

/// 599381 → "599,381".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
