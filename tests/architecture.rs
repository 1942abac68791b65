//! The house rules of `docs/architecture.md`, checked on the source: layers
//! import only downward, `unsafe` lives in the named modules only, no source
//! file grows to 1,000 lines, and every problem kind is documented.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use kseg::format::problem::ProblemKind;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let src = common::root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "{} source files under {}", files.len(), src.display());
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (rel, fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The code of a file without its comments (a doc may name any layer).
fn code(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

#[test]
fn layers_import_only_downward() {
    // What each library layer may not name; the command line's folders sit on top.
    let forbidden: [(&str, &[&str]); 4] = [
        ("format/", &["crate::topics", "crate::files", "crate::analysis"]),
        ("topics/", &["crate::files", "crate::analysis"]),
        ("files/", &["crate::topics", "crate::analysis"]),
        ("analysis/", &[]),
    ];
    let above = ["crate::cli", "crate::output", "crate::kafka_compat", "clap::", "anyhow", "comfy_table", "indicatif"];
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        let code = code(&text);
        for (layer, names) in &forbidden {
            if file.starts_with(layer) {
                for name in names.iter().chain(&above) {
                    if code.contains(name) {
                        wrong.push(format!("{file} names {name}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn unsafe_only_in_the_named_modules() {
    let named = ["files/mmap.rs", "output/simd.rs"];
    for (file, text) in sources() {
        let code = code(&text);
        let allows = code.contains("allow(unsafe_code)");
        assert_eq!(allows, named.contains(&file.as_str()), "{file}: allow(unsafe_code)");
        if !allows {
            assert!(!code.contains("unsafe {") && !code.contains("unsafe fn"), "{file} has unsafe code");
        }
    }
    for root in ["lib.rs", "main.rs"] {
        let text = fs::read_to_string(common::root().join("src").join(root)).unwrap();
        assert!(text.contains("#![deny(unsafe_code)]"), "{root} does not deny unsafe_code");
    }
}

#[test]
fn no_source_file_reaches_1000_lines() {
    let long: Vec<_> = sources().into_iter().map(|(f, t)| (f, t.lines().count())).filter(|(_, n)| *n >= 1000).collect();
    assert!(long.is_empty(), "{long:?}");
}

#[test]
fn every_problem_kind_is_documented() {
    let docs: String = ["docs/json.md", "docs/verify.md"]
        .iter()
        .map(|d| fs::read_to_string(common::root().join(d)).unwrap())
        .collect();
    let missing: Vec<_> =
        ProblemKind::ALL.iter().map(|k| k.name()).filter(|n| !docs.contains(&format!("`{n}`"))).collect();
    assert!(missing.is_empty(), "not in docs/json.md or docs/verify.md: {missing:?}");
}
