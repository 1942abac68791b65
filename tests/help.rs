//! The committed help texts in `docs/cli/` must match the binary's `--help` output, so the
//! documentation cannot drift from the program (as bat does with its `doc/` files).
//!
//! After changing an option or its doc comment, regenerate them with
//!
//! ```sh
//! KSEG_BLESS=1 cargo test --test help
//! ```
//!
//! and commit the changed `docs/cli/*.txt`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kseg");

/// Subcommands with a committed help text; `verify` is added when the binary has it.
const SUBCOMMANDS: &[&str] = &["dump", "find-offset", "find-time", "completions", "man", "ls", "groups"];
const OPTIONAL: &[&str] = &["verify", "stats", "producers", "rebuild-index", "export"];
/// Optional subcommands behind a cargo feature that is not default: `kseg.txt` is the default
/// build's top-level help, so their entries are taken out of it before comparing, and their own
/// text stays committed in a build without them.
const FEATURE_GATED: &[&str] = &["export"];
/// Subcommands whose `--help` imitates another tool's usage text (Kafka's
/// DumpLogSegments: on stderr, exit 1); tests/kafka_dump_log.rs checks it.
const OWN_HELP: &[&str] = &["kafka-dump-log"];

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/cli")
}

/// `kseg [sub] --help` at a fixed width, or `None` when the subcommand does not exist.
fn help(sub: Option<&str>) -> Option<String> {
    let mut cmd = Command::new(BIN);
    cmd.args(sub).arg("--help").env("COLUMNS", "100").env_remove("LINES");
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).expect("help is UTF-8"))
}

fn bless() -> bool {
    std::env::var_os("KSEG_BLESS").is_some_and(|v| v == "1")
}

/// Compare (or with KSEG_BLESS=1, rewrite) one help file; returns a complaint on mismatch.
fn check(file: &str, actual: &str) -> Option<String> {
    let path = docs().join(file);
    if bless() {
        fs::create_dir_all(docs()).unwrap();
        if fs::read_to_string(&path).ok().as_deref() != Some(actual) {
            fs::write(&path, actual).unwrap();
            eprintln!("wrote {}", path.display());
        }
        return None;
    }
    match fs::read_to_string(&path) {
        Ok(committed) if committed == actual => None,
        Ok(committed) => {
            Some(format!("docs/cli/{file} differs from the binary's help:\n{}", line_diff(&committed, actual)))
        }
        Err(e) => Some(format!("docs/cli/{file}: {e}")),
    }
}

/// The lines that differ, marked `-` (committed) and `+` (binary).
fn line_diff(committed: &str, actual: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        if x != y {
            if let Some(x) = x {
                out.push_str(&format!("  line {}: - {x}\n", i + 1));
            }
            if let Some(y) = y {
                out.push_str(&format!("  line {}: + {y}\n", i + 1));
            }
        }
    }
    out
}

/// The top-level help without the entries (first line and its wrapped continuation lines)
/// of the [`FEATURE_GATED`] subcommands.
fn without_gated(top: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in top.split_inclusive('\n') {
        let name = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')).and_then(|l| l.split_whitespace().next());
        if name.is_some() || !line.starts_with("   ") {
            skipping = name.is_some_and(|n| FEATURE_GATED.contains(&n));
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out
}

#[test]
fn committed_help_texts_match_the_binary() {
    let mut complaints = Vec::new();
    let top = without_gated(&help(None).expect("kseg --help fails"));
    complaints.extend(check("kseg.txt", &top));
    for sub in SUBCOMMANDS {
        let text = help(Some(sub)).unwrap_or_else(|| panic!("kseg {sub} --help fails"));
        complaints.extend(check(&format!("{sub}.txt"), &text));
    }
    for sub in OPTIONAL {
        match help(Some(sub)) {
            Some(text) => complaints.extend(check(&format!("{sub}.txt"), &text)),
            None if FEATURE_GATED.contains(sub) => {}
            None => {
                // Not in this binary: a committed text for it would be stale.
                let path = docs().join(format!("{sub}.txt"));
                if path.exists() {
                    complaints.push(format!("docs/cli/{sub}.txt exists but `kseg {sub} --help` fails"));
                }
            }
        }
    }
    assert!(
        complaints.is_empty(),
        "{}\nThe help texts in docs/cli/ are generated; regenerate them with\n\n    KSEG_BLESS=1 cargo test --test help\n",
        complaints.join("\n")
    );
}

#[test]
fn every_subcommand_is_documented() {
    // The top-level help lists the subcommands; each must have a committed text.
    let top = help(None).expect("kseg --help fails");
    let listed: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help" && !OWN_HELP.contains(name))
        .collect();
    assert!(listed.contains(&"dump"), "{top}");
    for name in listed {
        assert!(
            SUBCOMMANDS.contains(&name) || OPTIONAL.contains(&name),
            "`kseg {name}` is not listed in tests/help.rs; add it and run KSEG_BLESS=1 cargo test --test help"
        );
    }
}
