//! One meaning per exit status in every subcommand (docs/exit-codes.md, "The
//! same input, every subcommand"): each subcommand runs on the same inputs,
//! and a reader that closes the pipe early never changes the verdict.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;

mod common;
use common::{copy_dir, root};

/// The inputs of the table, made in `dir`.
struct Inputs {
    missing: PathBuf,
    unreadable: PathBuf,
    not_kafka: PathBuf,
    damaged: PathBuf,
    clean: PathBuf,
}

/// Make `path` a regular file that this user cannot read, or say why not.
/// A mode of 000 is enough for anyone but root, who reads any file whatever
/// its mode; for root, a link to a write-only sysfs attribute (a regular
/// file of 4096 bytes that nobody may open for reading).
fn make_unreadable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, vec![0u8; 100]).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(path).is_err() {
        return Ok(());
    }
    std::fs::remove_file(path).unwrap();
    let attr = Path::new("/sys/bus/pci/rescan");
    std::os::unix::fs::symlink(attr, path).unwrap();
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.is_file() => Ok(()),
        _ => {
            std::fs::remove_file(path).unwrap();
            Err(format!(
                "this user reads a file of mode 000 and {} is not a readable-refusing file here",
                attr.display()
            ))
        }
    }
}

fn inputs(dir: &Path) -> Inputs {
    let unreadable = dir.join("broken-0");
    std::fs::create_dir_all(&unreadable).unwrap();
    if let Err(why) = make_unreadable(&unreadable.join("00000000000000000000.log")) {
        // Still no file kseg can read: a directory where the segment should be.
        eprintln!("kseg-test: the unreadable-file case uses a directory instead: {why}");
        std::fs::create_dir_all(unreadable.join("00000000000000000000.log")).unwrap();
    }
    let not_kafka = dir.join("passwd");
    std::fs::write(&not_kafka, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
        .unwrap();
    // testdata/corrupt/garbage_header: the size field of the batch at byte
    // 405 is -1, so the walk stops there (testdata/README.md).
    let damaged = dir.join("damaged-0");
    copy_dir(&root().join("testdata/corrupt/garbage_header"), &damaged);
    let clean = dir.join("demo-0");
    copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &clean);
    Inputs { missing: dir.join("no-such-path"), unreadable, not_kafka, damaged, clean }
}

fn status(args: &[&str], path: &Path, after: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("kseg").unwrap().args(args).arg(path).args(after).output().unwrap();
    (out.status.code().expect("no status: killed by a signal"), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_subcommand_gives_the_same_status_for_the_same_input() {
    let tmp = tempfile::tempdir().unwrap();
    let i = inputs(tmp.path());
    let whole: &[&[&str]] = &[&["dump"], &["verify"], &["stats"], &["producers"], &["ls"], &["ls", "--verify"]];
    for args in whole {
        for (what, path, want) in [
            ("missing path", &i.missing, 2),
            ("unreadable file", &i.unreadable, 2),
            ("not a Kafka file", &i.not_kafka, 2),
            ("damaged segment", &i.damaged, 1),
            ("clean partition", &i.clean, 0),
        ] {
            let (got, stderr) = status(args, path, &[]);
            assert_eq!(got, want, "kseg {} on a {what} ({}): stderr {stderr}", args.join(" "), path.display());
            if want == 2 {
                assert!(
                    stderr.contains(&path.display().to_string()),
                    "{args:?} {what}: stderr names no path: {stderr}"
                );
            }
        }
    }
    // The find commands answer a question: 2 is the same, 0/1 is found or not.
    for (args, after) in [(&["find-offset"][..], &["3"][..]), (&["find-time"][..], &["0"][..])] {
        for (what, path) in
            [("missing path", &i.missing), ("unreadable file", &i.unreadable), ("not a Kafka file", &i.not_kafka)]
        {
            let (got, stderr) = status(args, path, after);
            assert_eq!(got, 2, "kseg {} on a {what}: stderr {stderr}", args.join(" "));
            assert!(stderr.contains(&path.display().to_string()), "{args:?} {what}: stderr names no path: {stderr}");
        }
        let (got, stderr) = status(args, &i.clean, after);
        assert_eq!(got, 0, "kseg {} on clean data: {stderr}", args.join(" "));
    }
}

/// `groups` reads `__consumer_offsets-<n>` partitions: the same inputs under
/// that name.
#[test]
fn groups_gives_the_same_status_for_the_same_input() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("unreadable/__consumer_offsets-0")).unwrap();
    if make_unreadable(&d.join("unreadable/__consumer_offsets-0/00000000000000000000.log")).is_err() {
        std::fs::create_dir_all(d.join("unreadable/__consumer_offsets-0/00000000000000000000.log")).unwrap();
    }
    copy_dir(&root().join("testdata/corrupt/garbage_header"), &d.join("damaged/__consumer_offsets-0"));
    copy_dir(&root().join("testdata/groups/logs/__consumer_offsets-0"), &d.join("clean/__consumer_offsets-0"));
    std::fs::write(d.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    for (what, path, want) in [
        ("missing path", d.join("no-such-path"), 2),
        ("unreadable file", d.join("unreadable"), 2),
        ("not a Kafka file", d.join("passwd"), 2),
        ("damaged segment", d.join("damaged"), 1),
        ("clean partition", d.join("clean"), 0),
    ] {
        let (got, stderr) = status(&["groups"], &path, &[]);
        assert_eq!(got, want, "kseg groups on a {what}: {stderr}");
    }
}

/// verify of a directory where one segment cannot be read still reports
/// the others, and exits 2.
#[test]
fn an_unreadable_segment_beside_readable_ones_is_status_2_and_the_rest_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let part = tmp.path().join("demo-0");
    copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &part);
    if let Err(why) = make_unreadable(&part.join("00000000000000000200.log")) {
        eprintln!("kseg-test: skipped an_unreadable_segment_beside_readable_ones: {why}");
        return;
    }
    let out = Command::cargo_bin("kseg").unwrap().args(["verify", "--format", "json"]).arg(&part).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["problems"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["unreadable"]);
    assert_eq!(v["summary"]["batches"], 20, "the readable segments are still checked");
}

/// Run kseg with stdout on a pipe, read `keep` bytes, close the pipe, and
/// return the status and stderr (as `kseg … | head -c 100` does).
fn closed_early(args: &[&str], keep: usize) -> (i32, String) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("kseg"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; keep];
    stdout.read_exact(&mut buf).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (out.status.code().expect("killed by a signal"), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A log directory of `n` copies of the clean partition, and one damaged
/// partition when `damaged`: enough output (far more than a pipe holds) that
/// kseg is still writing when the reader goes away.
fn many_partitions(dir: &Path, n: usize, damaged: bool) {
    for p in 0..n {
        copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &dir.join(format!("demo-{p}")));
    }
    if damaged {
        copy_dir(&root().join("testdata/corrupt/garbage_header"), &dir.join("aaa-0"));
    }
}

#[test]
fn a_closed_pipe_keeps_the_verdict_and_prints_no_broken_pipe() {
    for (damaged, want) in [(true, 1), (false, 0)] {
        let tmp = tempfile::tempdir().unwrap();
        many_partitions(tmp.path(), 400, damaged);
        let d = tmp.path().to_str().unwrap();
        for args in [
            &["verify", "--format", "json", "-v", d][..],
            &["verify", "-v", d][..],
            &["producers", "--format", "json", d][..],
            &["producers", d][..],
            &["stats", "--format", "json", d][..],
            &["ls", "--format", "json", d][..],
            &["ls", d][..],
        ] {
            let (code, stderr) = closed_early(args, 100);
            assert_eq!(code, want, "kseg {} | head -c 100: stderr {stderr}", args.join(" "));
            assert!(!stderr.to_lowercase().contains("broken pipe"), "{args:?}: {stderr}");
        }
    }
}
