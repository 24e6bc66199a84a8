//! A snapshot: per grant root, the sorted list of entries (relative path,
//! kind, permission bits, content hash or link target) and a Merkle root
//! committing to them; and the differences between two snapshots.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{io_read, Result, RollbackError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the root, `/`-separated, never empty.
    pub path: String,
    pub kind: Kind,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    #[serde(default)]
    pub size: u64,
    /// SHA-256 of a file's content (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// A symbolic link's target, as stored in the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootManifest {
    /// The grant, absolute and canonical.
    pub root: String,
    pub entries: Vec<Entry>,
    /// Relative paths left out, with the reason (never touched by restore).
    pub excluded: BTreeMap<String, String>,
    /// Entries that could not be recorded (unreadable, not UTF-8, special
    /// files); restore leaves them alone.
    #[serde(default)]
    pub skipped: Vec<String>,
    pub merkle_root: String,
}

/// Its JSON is written by [`Manifest::to_json`]: a field added here must
/// be added there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub taken: String,
    pub roots: Vec<RootManifest>,
}

impl Manifest {
    pub fn files(&self) -> usize {
        self.roots
            .iter()
            .map(|r| r.entries.iter().filter(|e| e.kind == Kind::File).count())
            .sum()
    }

    pub fn bytes(&self) -> u64 {
        self.roots
            .iter()
            .flat_map(|r| &r.entries)
            .map(|e| e.size)
            .sum()
    }

    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read(path).map_err(io_read(path))?;
        serde_json::from_slice(&text).map_err(|e| RollbackError::Malformed {
            path: path.to_path_buf(),
            why: e.to_string(),
        })
    }

    pub fn root(&self, root: &str) -> Option<&RootManifest> {
        self.roots.iter().find(|r| r.root == root)
    }

    /// The manifest as JSON, byte for byte what `serde_json::to_vec` gives,
    /// with the entries encoded on every CPU.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.roots.iter().map(|r| r.entries.len() * 160).sum());
        out.extend_from_slice(b"{\"version\":");
        serde_json::to_writer(&mut out, &self.version)?;
        out.extend_from_slice(b",\"taken\":");
        serde_json::to_writer(&mut out, &self.taken)?;
        out.extend_from_slice(b",\"roots\":[");
        for (i, r) in self.roots.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            r.write_json(&mut out)?;
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}

impl RootManifest {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"root\":");
        serde_json::to_writer(&mut *out, &self.root)?;
        out.extend_from_slice(b",\"entries\":[");
        let parts = on_every_cpu(&self.entries, |part| {
            let mut buf = Vec::with_capacity(part.len() * 160);
            for (i, e) in part.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                serde_json::to_writer(&mut buf, e)?;
            }
            Ok::<_, serde_json::Error>(buf)
        });
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&part?);
        }
        out.extend_from_slice(b"],\"excluded\":");
        serde_json::to_writer(&mut *out, &self.excluded)?;
        out.extend_from_slice(b",\"skipped\":");
        serde_json::to_writer(&mut *out, &self.skipped)?;
        out.extend_from_slice(b",\"merkle_root\":");
        serde_json::to_writer(&mut *out, &self.merkle_root)?;
        out.push(b'}');
        Ok(())
    }
}

/// `f` over consecutive non-empty chunks of `items`, one thread per CPU
/// (chunks of at least 1,024); results in order.
fn on_every_cpu<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = items.len().div_ceil(threads.clamp(1, 8)).max(1024);
    if items.len() <= chunk {
        return vec![f(items)];
    }
    std::thread::scope(|s| {
        let f = &f;
        let parts: Vec<_> = items.chunks(chunk).map(|p| s.spawn(move || f(p))).collect();
        parts
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// A leaf: SHA-256 of a zero byte and the entry's JSON (`buf`: scratch).
fn entry_leaf(e: &Entry, buf: &mut Vec<u8>) -> [u8; 32] {
    buf.clear();
    if serde_json::to_writer(&mut *buf, e).is_err() {
        buf.clear();
    }
    let mut d = Sha256::new();
    d.update([0u8]);
    d.update(&buf[..]);
    d.finalize().into()
}

/// The leaves of `entries`, computed on every CPU.
fn leaves(entries: &[Entry]) -> Vec<[u8; 32]> {
    on_every_cpu(entries, |part| {
        let mut buf = Vec::with_capacity(256);
        part.iter()
            .map(|e| entry_leaf(e, &mut buf))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The Merkle root over the entries (in their sorted order).
pub fn merkle_root(root: &str, entries: &[Entry]) -> String {
    let mut level: Vec<[u8; 32]> = leaves(entries);
    if level.is_empty() {
        level.push(Sha256::digest(b"nono-rollback-empty-v1").into());
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(r) => {
                    let mut d = Sha256::new();
                    d.update([1u8]);
                    d.update(pair[0]);
                    d.update(r);
                    d.finalize().into()
                }
                None => pair[0],
            })
            .collect();
    }
    let mut d = Sha256::new();
    d.update(b"nono-rollback-root-v1\0");
    d.update(root.as_bytes());
    d.update([0u8]);
    d.update(level[0]);
    hex(&d.finalize().into())
}

pub fn hex(h: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in h {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// How an entry differs between two snapshots of one root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Created,
    Deleted,
    Modified,
    Mode,
    Retyped,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Deleted => "deleted",
            Change::Modified => "modified",
            Change::Mode => "mode changed",
            Change::Retyped => "type changed",
        }
    }
}

/// The changes from `before` to `after`, by path.
pub fn diff(before: &[Entry], after: &[Entry]) -> BTreeMap<String, Change> {
    let a: BTreeMap<&str, &Entry> = after.iter().map(|e| (e.path.as_str(), e)).collect();
    let b: BTreeMap<&str, &Entry> = before.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = BTreeMap::new();
    for (p, old) in &b {
        let change = match a.get(p) {
            None => Some(Change::Deleted),
            Some(new) if new.kind != old.kind => Some(Change::Retyped),
            Some(new) if new.hash != old.hash || new.target != old.target => Some(Change::Modified),
            Some(new) if new.mode != old.mode => Some(Change::Mode),
            Some(_) => None,
        };
        if let Some(c) = change {
            out.insert(p.to_string(), c);
        }
    }
    for p in a.keys().filter(|p| !b.contains_key(*p)) {
        out.insert(p.to_string(), Change::Created);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> Entry {
        Entry {
            path: format!("d{}/f\"{i}\\\u{1}\n\u{e9}\u{7f}", i % 7),
            kind: [Kind::File, Kind::Dir, Kind::Symlink][i % 3],
            mode: 0o644,
            size: i as u64,
            hash: (i % 3 == 0).then(|| format!("{i:064x}")),
            target: (i % 3 == 2).then(|| format!("../t{i}")),
        }
    }

    #[test]
    fn to_json_is_what_serde_writes() {
        let roots = [0usize, 1, 5_000]
            .iter()
            .map(|&n| RootManifest {
                root: format!("/r\"{n}"),
                entries: (0..n).map(entry).collect(),
                excluded: BTreeMap::from([("x\ty".to_string(), "why".to_string())]),
                skipped: vec!["s\u{0}".to_string()],
                merkle_root: "m".repeat(64),
            })
            .collect();
        let m = Manifest {
            version: 1,
            taken: "1700000000".to_string(),
            roots,
        };
        let ours = m.to_json().unwrap_or_default();
        assert_eq!(ours, serde_json::to_vec(&m).unwrap_or_default());
        let back: Manifest = serde_json::from_slice(&ours).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, m);
    }

    #[test]
    fn leaves_on_every_cpu_match_one_by_one() {
        let entries: Vec<Entry> = (0..3_000).map(entry).collect();
        let mut buf = Vec::new();
        let one: Vec<[u8; 32]> = entries.iter().map(|e| entry_leaf(e, &mut buf)).collect();
        assert_eq!(leaves(&entries), one);
        let mut d = Sha256::new();
        d.update([0u8]);
        d.update(serde_json::to_string(&entries[4]).unwrap_or_default());
        assert_eq!(
            one[4],
            <[u8; 32]>::from(d.finalize()),
            "the leaf encoding changed"
        );
    }
}
