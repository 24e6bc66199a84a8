//! One session's rollback record: `rollback.json` (what was tracked, with
//! which filter, where the blobs are, whether both snapshots completed),
//! `before.json` and `after.json` (manifests). Each file is replaced
//! atomically; a manifest is written only after every blob it names is in
//! the store, so a killed snapshot leaves no reference to a partial blob.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io_read, Result, RollbackError};
use crate::filter::Filter;
use crate::manifest::{merkle_root, Manifest};
use crate::store::{private_dir, write_atomic, Store};

pub const META_FILE: &str = "rollback.json";
pub const BEFORE: &str = "before.json";
pub const AFTER: &str = "after.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Meta {
    pub version: u32,
    pub id: String,
    pub workdir: String,
    pub roots: Vec<String>,
    pub filter: Filter,
    /// The blob store this session's manifests refer to.
    pub store: String,
    pub started: String,
    /// `before`, then `after` once each manifest is on disk.
    pub taken: Vec<String>,
    /// Set once the user restored (all or part of) the session.
    #[serde(default)]
    pub restored: Option<String>,
}

impl Meta {
    pub fn save(&self, dir: &Path) -> Result<()> {
        private_dir(dir)?;
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| malformed(dir, e))?;
        write_atomic(&dir.join(META_FILE), &bytes)
    }

    pub fn load(dir: &Path) -> Result<Meta> {
        let path = dir.join(META_FILE);
        let bytes = std::fs::read(&path).map_err(io_read(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| malformed(&path, e))
    }

    pub fn store(&self) -> Result<Store> {
        Store::open(Path::new(&self.store))
    }
}

fn malformed(path: &Path, e: serde_json::Error) -> RollbackError {
    RollbackError::Malformed {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

/// Write a manifest as `name` (`before.json` / `after.json`).
pub fn save_manifest(dir: &Path, name: &str, m: &Manifest) -> Result<()> {
    let bytes = m.to_json().map_err(|e| malformed(dir, e))?;
    write_atomic(&dir.join(name), &bytes)
}

/// Session directories under `root` (each with a readable `rollback.json`).
pub fn list(root: &Path) -> Vec<(PathBuf, Meta)> {
    let mut out: Vec<(PathBuf, Meta)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Meta::load(&e.path()).ok().map(|m| (e.path(), m)))
        .collect();
    out.sort_by(|a, b| (&a.1.started, &a.1.id).cmp(&(&b.1.started, &b.1.id)));
    out
}

/// Recompute each root's Merkle commitment and check every blob named
/// (present, content matching its hash). The problems found.
pub fn verify(store: &Store, m: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    for r in &m.roots {
        let again = merkle_root(&r.root, &r.entries);
        if again != r.merkle_root {
            out.push(format!(
                "{}: Merkle root {} recorded, {} recomputed",
                r.root, r.merkle_root, again
            ));
        }
        for e in &r.entries {
            if let Some(h) = &e.hash {
                if let Err(err) = store.read(h) {
                    out.push(format!("{}/{}: {err}", r.root, e.path));
                }
            }
        }
    }
    out
}
