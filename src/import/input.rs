//! Opening an export file: gzip (`.gz`) read through, the format from the extension under it,
//! and a count of the file's bytes consumed for a progress bar (decompressed sizes are unknown
//! up front).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Format;

/// An opened export.
pub struct Input {
    /// The (decompressed) content.
    pub reader: BufReader<Box<dyn Read + Send>>,
    /// The format the extension says (`.jsonl.gz` → JSONL), if any.
    pub format: Option<Format>,
    /// The file's size on disk.
    pub size: u64,
    /// Bytes of the file consumed so far (compressed bytes for `.gz`).
    pub consumed: Arc<AtomicU64>,
}

struct Counting<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn gzipped(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

impl Input {
    /// Opens `path`.
    pub fn open(path: &Path) -> std::io::Result<Input> {
        let file = File::open(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let consumed = Arc::new(AtomicU64::new(0));
        let counted = Counting {
            inner: file,
            consumed: consumed.clone(),
        };
        let (reader, format): (Box<dyn Read + Send>, _) = if gzipped(path) {
            let inner = path.file_stem().map(Path::new);
            (
                Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(counted))),
                inner.and_then(Format::from_path),
            )
        } else {
            (Box::new(counted), Format::from_path(path))
        };
        Ok(Input {
            reader: BufReader::new(reader),
            format,
            size,
            consumed,
        })
    }

    /// Bytes of the file consumed so far.
    pub fn position(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }
}
