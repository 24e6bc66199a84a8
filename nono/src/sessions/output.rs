//! The agent's terminal output, kept for `nono logs`: appended to
//! `output.log` in the session's directory, bounded by keeping at most two
//! files of [`MAX_FILE`] bytes (the older one `output.log.1`).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Bytes per file before it is rotated.
pub const MAX_FILE: u64 = 1 << 20;

#[derive(Debug)]
pub struct Output {
    path: PathBuf,
    file: Option<File>,
    written: u64,
}

fn open(path: &Path) -> Option<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .ok()
}

impl Output {
    pub fn new(dir: &Path) -> Output {
        let path = dir.join("output.log");
        Output {
            file: open(&path),
            path,
            written: 0,
        }
    }

    /// Append (a failing disk drops output rather than stalling the agent).
    pub fn append(&mut self, bytes: &[u8]) {
        if self.written + bytes.len() as u64 > MAX_FILE {
            let _ = fs::rename(&self.path, self.path.with_extension("log.1"));
            self.file = open(&self.path);
            self.written = 0;
        }
        if let Some(f) = &mut self.file {
            if f.write_all(bytes).is_ok() {
                self.written += bytes.len() as u64;
            }
        }
    }
}

/// The last bytes shown, for a client that attaches.
const RECENT: usize = 16 << 10;

impl Output {
    pub fn recent(&self) -> Vec<u8> {
        let all = read_all(self.path.parent().unwrap_or(Path::new(".")));
        all[all.len().saturating_sub(RECENT)..].to_vec()
    }
}

/// Everything kept, oldest first.
pub fn read_all(dir: &Path) -> Vec<u8> {
    let mut out = fs::read(dir.join("output.log.1")).unwrap_or_default();
    out.extend(fs::read(dir.join("output.log")).unwrap_or_default());
    out
}
