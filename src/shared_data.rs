//! Test access to the real public data in `../shared/data` (never copied into the repo). Tests
//! that need it skip with a message naming what they looked for when it is absent.

use std::path::{Path, PathBuf};

/// The first file under `../shared/data` (searched recursively) for which `wanted(path)` holds.
pub(crate) fn find(wanted: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if wanted(&path) {
                return Some(path);
            }
        }
    }
    None
}

/// The first few KiB of a file, as text, for sniffing headers.
pub(crate) fn head(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned()
}
