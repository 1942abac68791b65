//! Segments as they reach people: through standard input (`-`), a pipe, a
//! FIFO, saved under another name (`broken.log`), with `--base-offset`.
//! What each subcommand shows for them is what it shows for the same bytes
//! as a regular segment file; the find commands, which seek, refuse a
//! stream; a FIFO found in a directory is never opened.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

const KSEG: &str = env!("CARGO_BIN_EXE_kseg");

fn segment() -> PathBuf {
    common::root().join("testdata/partitions/demo-0/00000000000000000000.log")
}

/// How the segment is handed over.
#[derive(Clone, Copy, Debug)]
enum Way {
    File,
    /// `-`, standard input from another process's pipe.
    Pipe,
    /// A named pipe a writer thread fills.
    Fifo,
}

fn run(args: &[&str], path: &Path, way: Way, dir: &Path) -> Output {
    let seg = segment();
    let with =
        |p: &str| args.iter().map(|a| if *a == "PATH" { p.to_string() } else { a.to_string() }).collect::<Vec<_>>();
    match way {
        Way::File => Command::new(KSEG).args(with(&path.display().to_string())).output().unwrap(),
        Way::Pipe => {
            let mut cat = Command::new("cat").arg(&seg).stdout(Stdio::piped()).spawn().unwrap();
            let out = Command::new(KSEG).args(with("-")).stdin(cat.stdout.take().unwrap()).output().unwrap();
            cat.wait().unwrap();
            out
        }
        Way::Fifo => {
            let fifo = dir.join(format!("fifo-{}", args[0]));
            let _ = std::fs::remove_file(&fifo);
            assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
            let (f, s) = (fifo.clone(), seg.clone());
            let writer = std::thread::spawn(move || {
                // Blocks until kseg opens the FIFO for reading.
                let _ = std::fs::write(&f, std::fs::read(&s).unwrap());
            });
            let out = Command::new(KSEG).args(with(&fifo.display().to_string())).output().unwrap();
            // If kseg did not open the FIFO, the writer still waits for a
            // reader: open it without blocking to let the writer finish.
            use std::os::unix::fs::OpenOptionsExt;
            const O_NONBLOCK: i32 = 0o4000;
            let _unblock = std::fs::OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(&fifo);
            writer.join().unwrap();
            out
        }
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

/// `v` without the fields that name the input.
fn unnamed(mut v: Value) -> Value {
    match &mut v {
        Value::Object(m) => {
            // Where the bytes came from: the name, and the topic and partition a
            // directory named TOPIC-N gives (a stream has no directory).
            for k in ["file", "path", "files", "size", "topic", "partition"] {
                m.remove(k);
            }
            for (_, x) in m.iter_mut() {
                *x = unnamed(x.take());
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| *x = unnamed(x.take())),
        _ => {}
    }
    v
}

/// A subcommand's arguments, and the part of its output compared.
type Read = (&'static [&'static str], fn(&Output) -> Value);

/// Every subcommand that reads whole segments, and what of its output must
/// not depend on how the segment arrived.
fn reads() -> Vec<Read> {
    vec![
        // The file object says what the name says (the base offset of a
        // 20-digit name, the size of a file): batches and records are compared.
        (&["dump", "--records", "--format", "json", "PATH"], |o| {
            let all = unnamed(json(o));
            Value::from(all.as_array().unwrap().iter().filter(|v| v["type"] != "file").cloned().collect::<Vec<_>>())
        }),
        // A stream has no indexes beside it: its log's counts are compared.
        (&["verify", "--format", "json", "PATH"], |o| {
            let s = &json(o)["summary"];
            Value::from(vec![s["batches"].clone(), s["records"].clone(), s["errors"].clone(), s["warnings"].clone()])
        }),
        (&["stats", "--format", "json", "PATH"], |o| unnamed(json(o)["total"].clone())),
        (&["producers", "--format", "json", "PATH"], |o| unnamed(json(o))),
        (&["kafka-dump-log", "--deep-iteration", "--print-data-log", "--files", "PATH"], |o| {
            // Past the first line (`Dumping <name>`), and without the report
            // lines that name the file.
            let text = String::from_utf8_lossy(&o.stdout);
            Value::from(text.lines().skip(1).filter(|l| !l.contains('/') && !l.contains('-')).collect::<Vec<_>>())
        }),
    ]
}

#[test]
fn standard_input_a_pipe_and_a_fifo_read_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (args, view) in reads() {
        let file = run(args, &segment(), Way::File, dir.path());
        assert!(file.status.success(), "{args:?}: {}", String::from_utf8_lossy(&file.stderr));
        let expected = view(&file);
        assert_ne!(expected, Value::Null, "{args:?}");
        for way in [Way::Pipe, Way::Fifo] {
            let out = run(args, &segment(), way, dir.path());
            assert_eq!(out.status.code(), Some(0), "{args:?} {way:?}: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(view(&out), expected, "{args:?} through {way:?}");
        }
    }
}

#[test]
fn a_renamed_segment_reads_like_the_original_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = copy_as_broken(dir.path());
    for (args, view) in reads() {
        let original = run(args, &segment(), Way::File, dir.path());
        let out = run(args, &renamed, Way::File, dir.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(view(&out), view(&original), "{args:?}");
        if args[0] != "dump" {
            // dump reads any file named as a segment and shows no base offset for it.
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("broken.log: no base offset in its name; 0 taken from its first batch"),
                "{args:?}: {err}"
            );
        }
    }
    // The find commands: the same answers as on the original, through the
    // indexes of the same stem (`broken.index`, `broken.timeindex`).
    for args in [["find-offset", "PATH", "12"], ["find-time", "PATH", "1700000100100"]] {
        let original = run(&args, &segment(), Way::File, dir.path());
        let out = run(&args, &renamed, Way::File, dir.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(unpathed(&out), unpathed(&original), "{args:?}");
        if args[0] == "find-offset" {
            assert!(unpathed(&out).contains("index entry: offset"), "{}", unpathed(&out));
        }
    }
}

/// The segment and its indexes copied as `broken.*`.
fn copy_as_broken(dir: &Path) -> PathBuf {
    for ext in ["log", "index", "timeindex"] {
        std::fs::copy(segment().with_extension(ext), dir.join(format!("broken.{ext}"))).unwrap();
    }
    dir.join("broken.log")
}

/// A find command's text without the line naming the segment.
fn unpathed(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.starts_with("segment:")).collect::<Vec<_>>().join("\n")
}

#[test]
fn base_offset_sets_what_the_name_cannot_say() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = copy_as_broken(dir.path());
    // The segment's first batch is at offset 0: a given base offset of 5 is
    // above it, which verify reports as the file name's would be (alone:
    // its indexes would not match a base offset of 5 either).
    let lonely = dir.path().join("lonely.log");
    std::fs::copy(segment(), &lonely).unwrap();
    let out = run(&["verify", "--base-offset", "5", "--format", "json", "PATH"], &lonely, Way::File, dir.path());
    assert_eq!(out.status.code(), Some(1));
    let problems = json(&out)["problems"].clone();
    assert_eq!(problems.as_array().unwrap().len(), 1, "{problems}");
    assert_eq!(problems[0]["kind"], "base_offset_above_first_batch");
    assert!(problems[0]["message"].as_str().unwrap().starts_with("given base offset 5"), "{problems}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("taken from its first batch"));

    let kdl = run(&["kafka-dump-log", "--base-offset", "5", "--files", "PATH"], &renamed, Way::File, dir.path());
    assert_eq!(String::from_utf8_lossy(&kdl.stdout).lines().nth(1), Some("Log starting offset: 5"));
    let kdl = run(&["kafka-dump-log", "--base-offset", "5", "--files", "PATH"], &renamed, Way::Pipe, dir.path());
    assert_eq!(String::from_utf8_lossy(&kdl.stdout).lines().nth(1), Some("Log starting offset: 5"));

    let dump = run(&["dump", "--base-offset", "5", "--format", "json", "PATH"], &renamed, Way::Pipe, dir.path());
    assert_eq!(json(&dump)[0]["base_offset"], 5);

    for sub in ["stats", "producers"] {
        let out = run(&[sub, "--base-offset", "0", "PATH"], &renamed, Way::Fifo, dir.path());
        assert_eq!(out.status.code(), Some(0), "{sub}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // find: the index's entries are relative to the base offset given.
    let original = run(&["find-offset", "PATH", "12"], &segment(), Way::File, dir.path());
    let out = run(&["find-offset", "--base-offset", "0", "PATH", "12"], &renamed, Way::File, dir.path());
    assert_eq!(unpathed(&out), unpathed(&original));
}

#[test]
fn the_find_commands_refuse_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    for args in [["find-offset", "PATH", "12"], ["find-time", "PATH", "earliest"]] {
        for way in [Way::Pipe, Way::Fifo] {
            let out = run(&args, &segment(), way, dir.path());
            assert_eq!(out.status.code(), Some(2), "{args:?} {way:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("cannot be searched: a lookup seeks"), "{args:?} {way:?}: {err}");
        }
    }
}

/// A FIFO in a directory is never opened: opening one blocks until a
/// writer comes, and none will.
#[test]
fn a_fifo_in_a_directory_is_left_out_unopened() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("demo-0");
    std::fs::create_dir(&part).unwrap();
    std::fs::copy(segment(), part.join("00000000000000000000.log")).unwrap();
    for name in ["00000000000000000099.log", "stray", "00000000000000000040.snapshot"] {
        assert!(Command::new("mkfifo").arg(part.join(name)).status().unwrap().success());
    }
    for args in [&["verify", "PATH"][..], &["stats", "PATH"], &["producers", "PATH"], &["dump", "PATH"]] {
        let mut child = Command::new(KSEG)
            .args(args.iter().map(|a| if *a == "PATH" { part.as_os_str() } else { a.as_ref() }))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut waited = Duration::ZERO;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if waited > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?} hangs on a FIFO");
            }
            std::thread::sleep(Duration::from_millis(20));
            waited += Duration::from_millis(20);
        };
        let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(err.contains("00000000000000000099.log: left out: not a regular file"), "{args:?}: {err}");
    }
}
