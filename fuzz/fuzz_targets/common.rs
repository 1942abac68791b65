//! What the file-based targets share: a scratch directory per fuzzing
//! process (in /dev/shm when there is one, so writes cost no disk), and the
//! framing that cuts one input into several files.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

/// This process's scratch directory, created once and reused.
pub fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
        let dir = PathBuf::from(base).join(format!("kseg-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Cut `data` into `n` parts: a part is a little-endian u16 length and that
/// many bytes, except the last, which takes the rest. Missing parts are
/// empty.
pub fn parts(mut data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    for _ in 1..n {
        // A length prefix cut short takes what is left.
        let len = match data {
            [a, b, rest @ ..] => {
                data = rest;
                usize::from(u16::from_le_bytes([*a, *b])).min(data.len())
            }
            _ => data.len(),
        };
        let (part, rest) = data.split_at(len);
        out.push(part);
        data = rest;
    }
    out.push(data);
    out
}
