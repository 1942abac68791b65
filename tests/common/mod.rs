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
/// or `None` with a line on stderr when it is absent: corpus tests then
/// skip cleanly (it is never copied into the project).
pub fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: the shared corpus is not at {}", dir.display());
        None
    }
}
