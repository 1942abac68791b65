//! `kseg completions SHELL`, `kseg man` (kept equal to the committed `docs/man/kseg.1`) and
//! `kseg --version` with the commit and the codecs.
//!
//! After changing an option, regenerate the man page with `KSEG_BLESS=1 cargo test --test
//! conventions` and commit `docs/man/kseg.1`.

use std::process::Command;

mod common;
use common::root;

const BIN: &str = env!("CARGO_BIN_EXE_kseg");

fn kseg(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).current_dir(root()).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = kseg(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["kseg", "dump", "find-time", "from-time", "print"] {
            assert!(out.contains(word), "{shell}: no {word:?} in the script");
        }
    }
    let (code, _, err) = kseg(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("bash") && err.contains("zsh"), "{err}");
}

#[test]
fn bash_completion_script_parses() {
    let (_, out, _) = kseg(&["completions", "bash"]);
    let Ok(status) = Command::new("bash").args(["-n", "-c", &out]).status() else {
        eprintln!("kseg-test: skipped: no bash");
        return;
    };
    assert!(status.success());
}

/// Every page `kseg man [SUBCOMMAND]` prints equals its committed copy in docs/man/.
#[test]
fn man_pages_are_the_committed_ones() {
    let (code, main, err) = kseg(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(main.contains(".TH kseg 1"), "{}", &main[..main.len().min(200)]);
    // roff writes a hyphen as `\-`; the SUBCOMMANDS section names each page.
    let text = main.replace("\\-", "-");
    let subs: Vec<String> =
        text.lines().filter_map(|l| l.strip_prefix("kseg-")?.strip_suffix("(1)")).map(str::to_string).collect();
    for sub in ["dump", "find-offset", "find-time", "verify", "completions", "man"] {
        assert!(subs.iter().any(|s| s == sub), "the man page does not name kseg-{sub}(1): {subs:?}");
    }
    let bless = std::env::var_os("KSEG_BLESS").is_some_and(|v| v == "1");
    let mut pages = vec![("kseg.1".to_string(), main)];
    for sub in &subs {
        let (code, page, err) = kseg(&["man", sub]);
        assert_eq!(code, 0, "{sub}: {err}");
        assert!(page.contains(&format!(".TH kseg-{sub} 1")), "{sub}: {}", &page[..page.len().min(200)]);
        pages.push((format!("kseg-{sub}.1"), page));
    }
    let dir = root().join("docs/man");
    let mut stale = Vec::new();
    for (name, page) in &pages {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, page).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(page.as_str()) {
            stale.push(name.clone());
        }
    }
    // No page for a subcommand that is gone.
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !pages.iter().any(|(n, _)| *n == name) {
            stale.push(format!("{name} (no such page)"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/man differs from `kseg man`: {stale:?}; regenerate with KSEG_BLESS=1 cargo test --test conventions"
    );
    let (code, _, err) = kseg(&["man", "nosuch"]);
    assert_eq!(code, 2);
    assert!(err.contains("dump"), "{err}");
}

#[test]
fn version_names_the_commit_and_the_codecs() {
    let (code, out, _) = kseg(&["--version"]);
    assert_eq!(code, 0);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with(&format!("kseg {} (commit ", env!("CARGO_PKG_VERSION"))), "{out}");
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        assert!(out.contains(codec), "{out}");
    }
    // The commit, as git itself names it, when this is a git checkout.
    let git = Command::new("git").current_dir(root()).args(["rev-parse", "--short=12", "HEAD"]).output();
    if let Ok(g) = git
        && g.status.success()
    {
        let head = String::from_utf8(g.stdout).unwrap().trim().to_string();
        assert!(first.contains(&format!("(commit {head}")), "{first} vs git {head}");
    } else {
        assert!(first.contains("(commit unknown)"), "{first}");
    }
    let (_, short, _) = kseg(&["-V"]);
    assert_eq!(short.trim(), format!("kseg {}", env!("CARGO_PKG_VERSION")));
}
