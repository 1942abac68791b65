//! What the integration tests share: where the repository and the shared
//! real-data corpus are.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root (where `Cargo.toml` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared real-data corpus, `../shared/corpus` beside the repository,
/// or `None` with a line on stderr naming the test when it is absent: corpus
/// tests then skip cleanly (it is never copied into the project). With
/// `KSEG_REQUIRE_CORPUS=1` (set by `.ci/run`) an absent corpus fails the test
/// instead, so a moved corpus cannot turn its tests into silent passes.
pub fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    if dir.is_dir() {
        return Some(dir);
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    if std::env::var("KSEG_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("{test}: KSEG_REQUIRE_CORPUS=1 but the shared corpus is not at {}", dir.display());
    }
    eprintln!("kseg-test: skipped {test}: the shared corpus is not at {}", dir.display());
    None
}
