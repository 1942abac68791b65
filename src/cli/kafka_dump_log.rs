//! `kseg kafka-dump-log`: a drop-in for `kafka-dump-log.sh`
//! (`org.apache.kafka.tools.DumpLogSegments`).
//!
//! The options are parsed here, not by clap, so that they behave as Kafka's
//! jopt-simple parser does: long options with `--` (or a single `-`),
//! `--opt value` and `--opt=value`, no abbreviations, optional values for the
//! decoder classes, non-option words ignored, usage on stderr with exit 1.
//! The printing lives in [`crate::kafka_compat`].

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use kseg::topics::TopicKind;

use crate::kafka_compat::{self as kafka, Config, KafkaDump, Parser};

/// DumpLogSegments' options, exactly as `kafka-dump-log.sh` takes them.
/// Run `kseg kafka-dump-log --help` for the list.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct KafkaDumpLogArgs {
    /// `--files a,b,c` and DumpLogSegments' other options.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "OPTIONS")]
    pub args: Vec<OsString>,
}

const DESCRIPTION: &str = "This tool helps to parse a log file and dump its contents to the console, useful for debugging a seemingly corrupt log segment.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    None,
    Required,
    Optional,
}

/// (name, argument, argument description, help text)
const OPTIONS: &[(&str, Arg, &str, &str)] = &[
    ("cluster-metadata-decoder", Arg::None, "", "If set, log data will be parsed as cluster metadata records."),
    (
        "base-offset",
        Arg::Required,
        "<Long: offset>",
        "kseg only: the base offset of a .log whose name does not carry one (broken.log) or of a stream (-, a pipe); by default it is taken from its first batch (Kafka stops with NumberFormatException).",
    ),
    (
        "deep-iteration",
        Arg::None,
        "",
        "If set, uses deep instead of shallow iteration. Automatically set if print-data-log is enabled.",
    ),
    (
        "fail-on-findings",
        Arg::None,
        "",
        "kseg only: exit 1 when the end-of-run report is not empty, a .log has invalid bytes at its end or a .snapshot is corrupt (Kafka always exits 0 then).",
    ),
    (
        "files",
        Arg::Required,
        "<String: file1, file2, ...>",
        "REQUIRED: The comma separated list of data and index log files to be dumped.",
    ),
    ("help", Arg::None, "", "Print usage information."),
    (
        "index-sanity-check",
        Arg::None,
        "",
        "If set, just checks the index sanity without printing its content. This is the same check that is executed on broker startup to determine if an index needs rebuilding or not.",
    ),
    (
        "jobs",
        Arg::Required,
        "<Integer: N>",
        "kseg only (also -j N): threads that write the lines of a .log, in file order, the same text (default: all cores, at most 8); 1 reads one batch after another.",
    ),
    (
        "kafka-version",
        Arg::Required,
        "<String: version>",
        "kseg only: print what the tool of this Kafka release prints: 4.1 (the Scala tool), 4.3 or 4.4. (default: 4.4)",
    ),
    (
        "key-decoder-class",
        Arg::Optional,
        "[String]",
        "If set, used to deserialize the keys. This class should implement org.apache.kafka.tools.api.Decoder trait. Custom jar should be available in kafka/libs directory. (default: org.apache.kafka.tools.api.StringDecoder; kseg supports only that one)",
    ),
    (
        "max-bytes",
        Arg::Required,
        "<Integer: size>",
        "Limit the amount of total batches read in bytes avoiding reading the whole .log file(s). (default: 2147483647)",
    ),
    ("max-message-size", Arg::Required, "<Integer: size>", "Size of largest message. (default: 5242880)"),
    (
        "no-mmap",
        Arg::None,
        "",
        "kseg only: read .log files with read calls into a buffer instead of a sliding read-only memory map.",
    ),
    (
        "offsets-decoder",
        Arg::None,
        "",
        "If set, log data will be parsed as offset data from the __consumer_offsets topic.",
    ),
    (
        "print-data-log",
        Arg::None,
        "",
        "If set, printing the messages content when dumping data logs. Automatically set if any decoder option is specified.",
    ),
    (
        "remote-log-metadata-decoder",
        Arg::None,
        "",
        "If set, log data will be parsed as TopicBasedRemoteLogMetadataManager (RLMM) metadata records. Instead, the value-decoder-class option can be used if a custom RLMM implementation is configured.",
    ),
    (
        "share-group-state-decoder",
        Arg::None,
        "",
        "If set, log data will be parsed as share group state data from the __share_group_state topic.",
    ),
    (
        "skip-record-metadata",
        Arg::None,
        "",
        "Skip metadata when printing records. This flag also skips control records.",
    ),
    (
        "transaction-log-decoder",
        Arg::None,
        "",
        "If set, log data will be parsed as transaction metadata from the __transaction_state topic.",
    ),
    (
        "value-decoder-class",
        Arg::Optional,
        "[String]",
        "If set, used to deserialize the messages. This class should implement org.apache.kafka.tools.api.Decoder trait. Custom jar should be available in kafka/libs directory. (default: org.apache.kafka.tools.api.StringDecoder; kseg supports only that one)",
    ),
    ("verify-index-only", Arg::None, "", "If set, just verify the index log without printing its content."),
    ("version", Arg::None, "", "Display Kafka version."),
];

/// The usage text jopt-simple prints: the description, then a two-column
/// option table.
pub fn usage() -> String {
    const WIDTH: usize = 41;
    const TOTAL: usize = 80;
    let mut s = format!(
        "{DESCRIPTION}\nOption                                   Description\n------                                   -----------\n"
    );
    for (name, _, arg, help) in OPTIONS {
        let left = if arg.is_empty() { format!("--{name}") } else { format!("--{name} {arg}") };
        let mut lines: Vec<String> = Vec::new();
        let mut cur = String::new();
        for word in help.split(' ') {
            let room = if lines.is_empty() { TOTAL - WIDTH } else { TOTAL - WIDTH - 2 };
            if !cur.is_empty() && cur.len() + 1 + word.len() > room {
                lines.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        lines.push(cur);
        if left.len() >= WIDTH {
            s.push_str(&left);
            s.push('\n');
            s.push_str(&" ".repeat(WIDTH));
        } else {
            s.push_str(&format!("{left:<WIDTH$}"));
        }
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                s.push_str(&" ".repeat(WIDTH + 2));
            }
            s.push_str(l);
            s.push('\n');
        }
    }
    s
}

/// Parsed options: for each option name, the values given (flags get "").
#[derive(Debug, Default)]
struct Parsed {
    seen: Vec<(&'static str, Option<String>)>,
}

impl Parsed {
    fn has(&self, name: &str) -> bool {
        self.seen.iter().any(|(n, _)| *n == name)
    }

    /// `options.valueOf(spec)`: the one value, or an error when given twice.
    fn value(&self, name: &str) -> Result<Option<Option<String>>, String> {
        let mut it = self.seen.iter().filter(|(n, _)| *n == name);
        let first = it.next().map(|(_, v)| v.clone());
        if it.next().is_some() {
            return Err(format!("Found multiple arguments for option {name}, but you asked for only one"));
        }
        Ok(first)
    }
}

/// jopt-simple's parse: returns the options or the exception message.
fn parse(args: &[OsString]) -> Result<Parsed, String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        // kseg's `-j N` and `-jN`: `--jobs`, as `kseg verify -j` takes it.
        let token = &match args[i].strip_prefix("-j") {
            Some("") => "--jobs".to_string(),
            Some(n) => format!("--jobs={n}"),
            None => args[i].clone(),
        };
        i += 1;
        if token == "--" {
            break; // everything after is a non-option argument
        }
        let body = if let Some(b) = token.strip_prefix("--") {
            b
        } else if let Some(b) = token.strip_prefix('-').filter(|b| !b.is_empty()) {
            // jopt-simple takes "-files" as the long option when the whole
            // word names one.
            let name = b.split('=').next().unwrap_or(b);
            if !OPTIONS.iter().any(|(n, ..)| *n == name) {
                return Err(format!("{} is not a recognized option", b.chars().next().unwrap_or('-')));
            }
            b
        } else {
            continue; // a non-option argument: DumpLogSegments ignores them
        };
        let (name, attached) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(&(name, kind, ..)) = OPTIONS.iter().find(|(n, ..)| *n == name) else {
            return Err(format!("{name} is not a recognized option"));
        };
        let value = match (kind, attached) {
            (Arg::None, Some(_)) => return Err(format!("Option {name} does not take an argument")),
            (Arg::None, None) => None,
            (_, Some(v)) => Some(v),
            (Arg::Required, None) => {
                let Some(v) = args.get(i) else {
                    return Err(format!("Option {name} requires an argument"));
                };
                i += 1;
                Some(v.clone())
            }
            (Arg::Optional, None) => match args.get(i) {
                Some(v) if !v.starts_with('-') => {
                    i += 1;
                    Some(v.clone())
                }
                _ => None,
            },
        };
        out.seen.push((name, value));
    }
    Ok(out)
}

fn int_option(p: &Parsed, name: &str, default: i32) -> Result<i32, String> {
    match p.value(name)? {
        Some(Some(v)) => v.parse::<i32>().map_err(|_| format!("Cannot parse argument '{v}' of option {name}")),
        _ => Ok(default),
    }
}

fn exit_usage(message: Option<&str>) -> ExitCode {
    let mut err = std::io::stderr().lock();
    if let Some(m) = message {
        let _ = writeln!(err, "{m}");
    }
    let _ = write!(err, "{}", usage());
    ExitCode::from(1)
}

/// An exception while parsing options: `mainNoExit` prints the message and
/// the trace (here: its first line) and returns 1.
fn exit_option_error(message: &str) -> ExitCode {
    // The options are not parsed yet: the newest tool's text.
    eprint!("{}", kafka::Exception::new("joptsimple.OptionException", message).render());
    ExitCode::from(1)
}

pub fn run(args: KafkaDumpLogArgs) -> anyhow::Result<ExitCode> {
    if args.args.is_empty() {
        return Ok(exit_usage(None));
    }
    let p = match parse(&args.args) {
        Ok(p) => p,
        Err(m) => return Ok(exit_option_error(&m)),
    };
    if p.has("help") {
        return Ok(exit_usage(None));
    }
    if p.has("version") {
        println!("kseg {} (kafka-dump-log)", env!("CARGO_PKG_VERSION"));
        return Ok(ExitCode::SUCCESS);
    }
    let files = match p.value("files") {
        Ok(Some(Some(f))) => f,
        Ok(_) => return Ok(exit_usage(Some("Missing required argument \"[files]\""))),
        Err(m) => return Ok(exit_option_error(&m)),
    };
    let (max_message_size, max_bytes) =
        match (int_option(&p, "max-message-size", 5 * 1024 * 1024), int_option(&p, "max-bytes", kafka::INT_MAX)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(m), _) | (_, Err(m)) => return Ok(exit_option_error(&m)),
        };
    // Kafka's precedence when several decoders are named.
    let parser = [
        ("offsets-decoder", TopicKind::Offsets),
        ("transaction-log-decoder", TopicKind::Transactions),
        ("cluster-metadata-decoder", TopicKind::Metadata),
        ("remote-log-metadata-decoder", TopicKind::RemoteLogMetadata),
        ("share-group-state-decoder", TopicKind::ShareGroupState),
    ]
    .into_iter()
    .find(|(opt, _)| p.has(opt))
    .map_or(Parser::Strings, |(_, kind)| Parser::Internal(kind));
    if parser == Parser::Strings {
        for opt in ["key-decoder-class", "value-decoder-class"] {
            match p.value(opt) {
                Ok(Some(Some(class))) => {
                    if let Some(note) = kafka::decoder_class_note(opt, &class) {
                        eprintln!("{note}");
                    }
                }
                Ok(_) => {}
                Err(m) => return Ok(exit_option_error(&m)),
            }
        }
    }
    let print_data = [
        "print-data-log",
        "offsets-decoder",
        "transaction-log-decoder",
        "cluster-metadata-decoder",
        "remote-log-metadata-decoder",
        "value-decoder-class",
        "key-decoder-class",
        "share-group-state-decoder",
    ]
    .iter()
    .any(|o| p.has(o));
    let version = match p.value("kafka-version") {
        Ok(Some(Some(v))) => match kafka::KafkaVersion::parse(&v) {
            Some(version) => version,
            None => {
                return Ok(exit_option_error(&format!(
                    "kseg: --kafka-version {v}: the releases kseg prints the text of are 4.1, 4.3 and 4.4"
                )));
            }
        },
        Ok(_) => kafka::KafkaVersion::V4_4,
        Err(m) => return Ok(exit_option_error(&m)),
    };
    let base_offset = match p.value("base-offset") {
        Ok(Some(Some(v))) => match v.trim().parse::<i64>() {
            Ok(b) => Some(b),
            Err(_) => return Ok(exit_option_error(&format!("kseg: --base-offset {v}: not a number"))),
        },
        Ok(_) => None,
        Err(m) => return Ok(exit_option_error(&m)),
    };
    let jobs = match int_option(&p, "jobs", 0) {
        Ok(n) if n >= 0 => crate::output::ordered::threads(Some(n as usize)),
        Ok(n) => return Ok(exit_option_error(&format!("kseg: --jobs {n}: not a number of threads"))),
        Err(m) => return Ok(exit_option_error(&m)),
    };
    let cfg = Config {
        jobs,
        base_offset,
        print_data,
        deep: p.has("deep-iteration") || print_data,
        skip_metadata: p.has("skip-record-metadata"),
        verify_only: p.has("verify-index-only"),
        index_sanity: p.has("index-sanity-check"),
        max_message_size,
        max_bytes,
        parser,
        mmap: !p.has("no-mmap"),
        version,
    };
    let fail_on_findings = p.has("fail-on-findings");
    let mut dump = KafkaDump::new(cfg, super::stdout());
    // Java's String.split(","): trailing empty strings are dropped.
    let mut list: Vec<&str> = files.split(',').collect();
    while list.len() > 1 && list.last() == Some(&"") {
        list.pop();
    }
    if list == [""] && !files.is_empty() {
        list.clear();
    }
    for item in list {
        match dump.dump_file(item)? {
            Ok(()) => {}
            Err(e) => {
                dump.flush()?;
                eprint!("{}", e.render());
                return Ok(ExitCode::from(1));
            }
        }
    }
    dump.flush()?;
    let report = dump.report();
    eprint!("{report}");
    Ok(if fail_on_findings && (!report.is_empty() || dump.damaged) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn jopt_like_parsing() {
        let p = parse(&os(&["--files", "a,b", "--deep-iteration", "--max-bytes=10", "-print-data-log"])).unwrap();
        assert!(p.has("deep-iteration") && p.has("print-data-log"));
        assert_eq!(p.value("files").unwrap(), Some(Some("a,b".into())));
        assert_eq!(int_option(&p, "max-bytes", 0).unwrap(), 10);
        // Optional values: taken unless the next word is an option.
        let p = parse(&os(&["--key-decoder-class", "--files", "x"])).unwrap();
        assert_eq!(p.value("key-decoder-class").unwrap(), Some(None));
        assert!(parse(&os(&["--deep"])).is_err(), "no abbreviations");
        assert!(parse(&os(&["--files"])).is_err());
        assert!(parse(&os(&["--deep-iteration=yes"])).is_err());
        let p = parse(&os(&["--files", "a", "--files", "b"])).unwrap();
        assert!(p.value("files").is_err());
    }

    #[test]
    fn usage_lists_every_option() {
        let u = usage();
        assert!(u.starts_with(DESCRIPTION));
        for (name, ..) in OPTIONS {
            assert!(u.contains(&format!("--{name}")), "{name}");
        }
    }
}
