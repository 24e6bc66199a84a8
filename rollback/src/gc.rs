//! Blob collection (mark and sweep) for one store, wherever it lives.
//!
//! Marked: every blob named by a manifest of a session that uses the
//! store, found both under the caller's session directory and through the
//! store's `refs/` (sessions recorded elsewhere name a `--rollback-dest`
//! store too). Swept: every other blob, unless it was written less than
//! [`FRESH_BLOB_SECS`] before the collection started.
//!
//! Safe against a concurrent snapshot: collection runs only under the
//! store's exclusive lock (skipped, not waited for, while any snapshot
//! holds it shared), and before removing anything it drops the cache
//! entries naming the doomed blobs and bumps the store's generation, so a
//! session that loaded the cache earlier reloads it before trusting it.
//! A manifest that exists but cannot be read (other than malformed)
//! stops the collection: what it names is unknown.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{Result, RollbackError};
use crate::manifest::{hex, Manifest};
use crate::session::{list, AFTER, BEFORE, META_FILE};
use crate::store::Store;

/// Blobs written this recently (before the collection started) are kept.
pub const FRESH_BLOB_SECS: u64 = 3600;

/// What a collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub blobs: usize,
    pub bytes: u64,
    /// Removals that failed (path: why).
    pub failed: Vec<String>,
    /// Another process held the store: nothing was collected.
    pub busy: bool,
}

/// Collect the blobs of `store` no session names; sessions are looked for
/// under `sessions` (if given) and through the store's `refs/`.
pub fn collect(store: &Store, sessions: Option<&Path>) -> Result<Swept> {
    collect_older(store, sessions, Duration::from_secs(FRESH_BLOB_SECS))
}

/// As [`collect`], keeping blobs younger than `fresh` (tests use zero).
pub fn collect_older(store: &Store, sessions: Option<&Path>, fresh: Duration) -> Result<Swept> {
    let started = SystemTime::now();
    let Some(_lock) = store.try_lock_exclusive()? else {
        return Ok(Swept {
            busy: true,
            ..Swept::default()
        });
    };
    let named = mark(store, sessions)?;
    let cutoff = started.checked_sub(fresh).unwrap_or(SystemTime::UNIX_EPOCH);
    let doomed: BTreeMap<String, u64> = blob_sizes(store)
        .into_iter()
        .filter(|(h, _)| !named.contains(h))
        .filter(|(h, _)| written_before(&store.blob_path(h), cutoff))
        .collect();
    let mut out = Swept::default();
    if doomed.is_empty() {
        return Ok(out);
    }
    let mut cache = store.load_cache();
    cache.retain(|d| !doomed.contains_key(&hex(d)));
    store.save_cache(&mut cache)?;
    store.bump_generation()?;
    for (hash, size) in doomed {
        let path = store.blob_path(&hash);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                out.blobs += 1;
                out.bytes += size;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => out.failed.push(format!("{}: {e}", path.display())),
        }
    }
    Ok(out)
}

/// Every blob a session using `store` names.
fn mark(store: &Store, sessions: Option<&Path>) -> Result<HashSet<String>> {
    let mut named = HashSet::new();
    let local = sessions.map(list).unwrap_or_default();
    for (dir, meta) in &local {
        if Path::new(&meta.store) == store.dir() {
            names(dir, &mut named)?;
        }
    }
    for (ref_file, dir) in store.refs() {
        if local.iter().any(|(d, _)| *d == dir) {
            continue;
        }
        match std::fs::symlink_metadata(dir.join(META_FILE)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_file(ref_file); // the session is gone
            }
            _ => names(&dir, &mut named)?,
        }
    }
    Ok(named)
}

/// Add the blobs a session's manifests name. Missing or malformed
/// manifests name nothing (such a session cannot be restored); any other
/// failure to read one stops the collection.
fn names(dir: &Path, named: &mut HashSet<String>) -> Result<()> {
    for name in [BEFORE, AFTER] {
        match Manifest::load(&dir.join(name)) {
            Ok(m) => named.extend(
                m.roots
                    .into_iter()
                    .flat_map(|r| r.entries)
                    .filter_map(|e| e.hash),
            ),
            Err(RollbackError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(RollbackError::Malformed { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn written_before(path: &Path, cutoff: SystemTime) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t < cutoff)
}

/// Every blob in the store and its size.
pub fn blob_sizes(store: &Store) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let blobs = store.dir().join("blobs");
    for prefix in std::fs::read_dir(&blobs).into_iter().flatten().flatten() {
        if prefix.file_name().len() != 2 {
            continue; // tmp/
        }
        for blob in std::fs::read_dir(prefix.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let (Ok(h), Ok(m)) = (blob.file_name().into_string(), blob.metadata()) else {
                continue;
            };
            if h.len() == 64 && m.is_file() {
                out.insert(h, m.len());
            }
        }
    }
    out
}
