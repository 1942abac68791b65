//! `kseg verify`: integrity of segments, indexes and whole log directories,
//! with exit codes a script can act on.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
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
    let total_bytes: u64 = partitions
        .iter()
        .flat_map(|p| &p.segments)
        .map(|s| std::fs::metadata(&s.log).map(|m| m.len()).unwrap_or(0))
        .sum();
    let progress = (!args.quiet && std::io::stderr().is_terminal() && total_bytes > 256 << 20).then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
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
                    verify::SegmentReport {
                        findings: vec![Finding {
                            file: seg.log.clone(),
                            kind: ProblemKind::Unreadable,
                            severity: Severity::Error,
                            position: None,
                            offset: None,
                            message: e.to_string(),
                        }],
                        ..Default::default()
                    }
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
    let mut summary = Summary { partitions: partitions.len(), segments: work.len(), ..Default::default() };
    let mut results = results.into_iter();
    for part in &partitions {
        let reps: Vec<_> = results.by_ref().take(part.segments.len()).collect();
        for rep in &reps {
            files.extend(rep.files.iter().cloned());
            let mut f = rep.findings.clone();
            f.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
            problems.extend(f);
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
                Err(e) => problems.push(Finding {
                    file: snap.clone(),
                    kind: ProblemKind::Unreadable,
                    severity: Severity::Error,
                    position: None,
                    offset: None,
                    message: e.to_string(),
                }),
            }
        }
    }
    for f in &files {
        summary.files += 1;
        summary.batches += f.batches;
        summary.records += f.records;
        summary.bytes += f.bytes;
    }
    // Cross-segment findings change the status of the file they name.
    for p in &problems {
        if let Some(f) = files.iter_mut().find(|f| f.file == p.file) {
            let s = match p.severity {
                Severity::Error => Status::Error,
                Severity::Warning => Status::Warning,
            };
            if s as u8 > f.status as u8 {
                f.status = s;
            }
        }
    }
    summary.errors = problems.iter().filter(|p| p.severity == Severity::Error).count();
    summary.warnings = problems.len() - summary.errors;
    let failed = summary.errors > 0 || (args.strict && summary.warnings > 0);

    if !args.quiet {
        let mut out = super::stdout();
        match args.format {
            VerifyFormat::Json => {
                serde_json::to_writer_pretty(
                    &mut out,
                    &Report { ok: !failed, files: &files, problems: &problems, summary: &summary },
                )?;
                writeln!(out)?;
            }
            VerifyFormat::Table => {
                for f in &files {
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
                    writeln!(out, "{status} {} ({}, {detail})", f.file.display(), f.kind.name())?;
                }
                if !problems.is_empty() {
                    writeln!(out)?;
                }
                for p in &problems {
                    let sev = match p.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    };
                    let at = p.position.map_or(String::new(), |pos| format!(" at byte {pos}"));
                    let off = p.offset.map_or(String::new(), |o| format!(" (offset {o})"));
                    writeln!(out, "{sev}: {}{at}{off}: {}: {}", p.file.display(), p.kind, p.message)?;
                }
                writeln!(
                    out,
                    "\n{} partitions, {} segments, {} files, {} batches, {} records, {} bytes: {} errors, {} warnings",
                    summary.partitions,
                    summary.segments,
                    summary.files,
                    summary.batches,
                    summary.records,
                    summary.bytes,
                    summary.errors,
                    summary.warnings
                )?;
            }
        }
        out.flush()?;
    }
    Ok(ExitCode::from(if failed { exit::FINDINGS } else { exit::OK }))
}
