//! One module per subcommand; each turns arguments into library calls and
//! events into a writer.

pub mod common;
pub mod conventions;
pub mod dump;
#[cfg(feature = "export")]
pub mod export;
pub mod find;
pub mod groups;
pub mod kafka_dump_log;
pub mod ls;
pub mod producers;
pub mod rebuild_index;
pub mod select;
pub mod stats;
pub mod verify;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Read Apache Kafka's on-disk log segments: dump them, find offsets and
/// times in them, verify them.
#[derive(Debug, Parser)]
#[command(name = "kseg", version, long_version = conventions::LONG_VERSION, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the batches (and with --records, the records) of .log files and
    /// partition directories.
    Dump(Box<dump::DumpArgs>),
    /// Find an offset as a broker does: segment by base offset, offset index
    /// by binary search, then a short scan. Exit 0 when a record with this
    /// offset exists, 1 when not.
    FindOffset(find::FindOffsetArgs),
    /// Find the earliest offset whose timestamp is at or after a time, as a
    /// broker's ListOffsets does. Exit 0 when found, 1 when not.
    FindTime(find::FindTimeArgs),
    /// Check segments, indexes and whole log directories. Exit 0 when there
    /// is no error (warnings allowed), 1 when there is one (or a warning
    /// under --strict), 2 when verify could not run.
    Verify(verify::VerifyArgs),
    /// A drop-in for Kafka's `kafka-dump-log.sh` (DumpLogSegments): the same
    /// options (`--files a,b,c`, `--deep-iteration`, `--print-data-log`, ...)
    /// and the same output, byte for byte. `kseg kafka-dump-log --help` lists
    /// the options.
    KafkaDumpLog(kafka_dump_log::KafkaDumpLogArgs),
    /// Batches, records and bytes by magic, codec and kind; compression
    /// ratios; offset gaps; timestamps; size distributions; distinct keys.
    /// Per segment, per partition and in total. Exit 1 when some batch could
    /// not be decoded.
    Stats(stats::StatsArgs),
    /// Producers and transactions: epochs, sequence ranges, and anomalies
    /// (sequence gaps and duplicates, fenced writers, hanging transactions,
    /// .txnindex and .snapshot disagreements). Exit 0 when there is no
    /// anomaly, 1 when there is one, 2 when it could not run.
    Producers(producers::ProducersArgs),
    /// One row per partition: segments, bytes, log start, first and last
    /// offset and time, producers, open transactions, and a status from a
    /// quick check (--verify: the full check). Totals per topic and overall.
    /// Exit 1 when a partition has an error, 2 when a file could not be read.
    Ls(ls::LsArgs),
    /// Consumer groups from the __consumer_offsets partitions: state,
    /// protocol, members, and the last committed offset of each partition
    /// (with the lag when that partition's log is in the same log directory).
    /// Exit 1 when some data could not be read.
    Groups(groups::GroupsArgs),
    /// Print a shell completion script: `kseg completions bash >
    /// /etc/bash_completion.d/kseg`, `kseg completions zsh > "${fpath[1]}/_kseg"`.
    Completions(conventions::CompletionsArgs),
    /// Print the man page (roff): `kseg man | man -l -`, or a subcommand's
    /// (`kseg man dump`).
    Man(conventions::ManArgs),
    /// Write the .index, .timeindex and .txnindex Kafka's segment recovery
    /// would write into a new directory, and compare them with the files on
    /// disk. Exit 0 when every one on disk is as rebuilt, 1 when one differs,
    /// 2 when it could not run.
    RebuildIndex(rebuild_index::RebuildIndexArgs),
    /// Every record as a row of Parquet files (Hive-style,
    /// topic=T/partition=P/part-N.parquet) or an Arrow IPC stream, for
    /// DuckDB, Spark and Trino. Exit 0 when every batch was exported, 1
    /// when a damaged batch was left out, 2 when it could not run.
    #[cfg(feature = "export")]
    Export(export::ExportArgs),
}

/// Exit statuses shared by every subcommand.
pub mod exit {
    /// Everything read cleanly / the target was found.
    pub const OK: u8 = 0;
    /// Problems were found / the target was not found.
    pub const FINDINGS: u8 = 1;
    /// Nothing could be done: bad arguments or an unreadable path.
    pub const ERROR: u8 = 2;

    /// The one verdict of a run: a path that could not be read outweighs
    /// findings, which outweigh a clean run.
    pub fn status(unreadable: bool, findings: bool) -> u8 {
        if unreadable {
            ERROR
        } else if findings {
            FINDINGS
        } else {
            OK
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Dump(args) => dump::run(*args),
        Command::FindOffset(args) => find::run_offset(args),
        Command::FindTime(args) => find::run_time(args),
        Command::Verify(args) => verify::run(args),
        Command::KafkaDumpLog(args) => kafka_dump_log::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Producers(args) => producers::run(args),
        Command::Ls(args) => ls::run(args),
        Command::Groups(args) => groups::run(args),
        Command::Completions(args) => conventions::completions(args),
        Command::Man(args) => conventions::man(args),
        Command::RebuildIndex(args) => rebuild_index::run(args),
        #[cfg(feature = "export")]
        Command::Export(args) => export::run(args),
    }
}

/// Buffered, locked stdout for data.
pub fn stdout() -> Box<dyn Write> {
    Box::new(io::BufWriter::with_capacity(256 << 10, io::stdout().lock()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
