//! Keeping a store bounded: whole sessions are removed, oldest first, by
//! count, age and the size of the blobs they need; then every blob no kept
//! session names is removed (garbage collection).
//!
//! Never removed: the sessions the caller protects (the one just
//! recorded), any session that looks live (no `after` snapshot yet and its
//! front end's pid, the last part of its id, still running), and any blob
//! younger than [`gc::FRESH_BLOB_SECS`]. Blobs are collected (`gc.rs`)
//! in the default store and in every `--rollback-dest` store a removed
//! session used, each under its store's exclusive lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::gc::{self, blob_sizes};
use crate::manifest::Manifest;
use crate::session::{list, Meta, AFTER, BEFORE};
use crate::store::Store;

/// Limits; `None` is no limit of that kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_sessions: Option<usize>,
    /// Sessions that started before this (RFC 3339 UTC, as in
    /// `Meta::started`) are removed.
    pub started_before: Option<String>,
    /// Bytes of blobs the kept sessions of this store may need.
    pub max_bytes: Option<u64>,
}

/// What was removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: Vec<String>,
    pub blobs: usize,
    pub bytes: u64,
    /// Removals that failed (path: why); nothing else is affected.
    pub failed: Vec<String>,
}

struct Candidate {
    dir: PathBuf,
    meta: Meta,
}

/// Apply `limits` to the sessions recorded under `root` whose blobs are in
/// `store`, then collect the store's unreferenced blobs. `grew`: blobs
/// were added to `store` since the last prune (otherwise the size limit is
/// not checked again: a store that did not grow is still within it).
/// Cheap when within the limits (session metadata, plus one listing of the
/// blobs when the store grew): manifests are read only when something is
/// to be removed.
pub fn prune(root: &Path, store: &Store, limits: &Limits, protect: &[&str], grew: bool) -> Pruned {
    let mut out = Pruned::default();
    let keep_always = |c: &Candidate| protect.contains(&c.meta.id.as_str()) || live(&c.meta);
    let mut kept: Vec<Candidate> = Vec::new();
    let mut doomed: Vec<Candidate> = Vec::new();
    for (dir, meta) in list(root) {
        let c = Candidate { dir, meta };
        let too_old = limits
            .started_before
            .as_deref()
            .is_some_and(|cut| c.meta.started.as_str() < cut);
        if too_old && !keep_always(&c) {
            doomed.push(c);
        } else {
            kept.push(c);
        }
    }
    while limits.max_sessions.is_some_and(|m| kept.len() > m) {
        let Some(i) = kept.iter().position(|c| !keep_always(c)) else {
            break;
        };
        doomed.push(kept.remove(i));
    }
    if doomed.is_empty() && !(grew && limits.max_bytes.is_some()) {
        return out;
    }
    let sizes = blob_sizes(store);
    let total: u64 = sizes.values().sum();
    let over_size = limits.max_bytes.is_some_and(|m| total > m);
    if doomed.is_empty() && !over_size {
        return out;
    }
    if let Some(max) = limits.max_bytes.filter(|_| over_size) {
        let mut needed: Vec<BTreeSet<String>> = kept.iter().map(|c| hashes(&c.dir)).collect();
        while needed_bytes(&kept, &needed, store, &sizes) > max {
            let Some(i) = kept.iter().position(|c| !keep_always(c)) else {
                break;
            };
            doomed.push(kept.remove(i));
            needed.remove(i);
        }
    }
    let mut others = BTreeSet::new();
    for c in doomed {
        match std::fs::remove_dir_all(&c.dir) {
            Ok(()) => {
                others.insert(PathBuf::from(&c.meta.store));
                out.sessions.push(c.meta.id);
            }
            Err(e) => out.failed.push(format!("{}: {e}", c.dir.display())),
        }
    }
    collect_all(store, root, &others, &mut out);
    out
}

/// Bytes of the distinct blobs the sessions of `store` among `kept` name
/// (`needed[i]`: the blobs `kept[i]` names).
fn needed_bytes(
    kept: &[Candidate],
    needed: &[BTreeSet<String>],
    store: &Store,
    sizes: &BTreeMap<String, u64>,
) -> u64 {
    let mut seen = BTreeSet::new();
    kept.iter()
        .zip(needed)
        .filter(|(c, _)| Path::new(&c.meta.store) == store.dir())
        .flat_map(|(_, h)| h.iter())
        .filter(|h| seen.insert(*h))
        .map(|h| sizes.get(h).copied().unwrap_or(0))
        .sum()
}

/// Collect `store` (and each other store a removed session used) with
/// the sessions under `root`; what was removed goes into `out`.
fn collect_all(store: &Store, root: &Path, others: &BTreeSet<PathBuf>, out: &mut Pruned) {
    let mut stores = vec![store.clone()];
    for dir in others
        .iter()
        .filter(|d| d.as_path() != store.dir() && d.is_dir())
    {
        match Store::open(dir) {
            Ok(s) => stores.push(s),
            Err(e) => out.failed.push(format!("{}: {e}", dir.display())),
        }
    }
    for s in stores {
        match gc::collect(&s, Some(root)) {
            Ok(swept) => {
                out.blobs += swept.blobs;
                out.bytes += swept.bytes;
                out.failed.extend(swept.failed);
            }
            Err(e) => out.failed.push(format!("{}: {e}", s.dir().display())),
        }
    }
}

/// The blobs a session's manifests name. A manifest that cannot be read
/// names nothing, so its session's blobs are not kept for it; but such a
/// session is also useless for restore.
fn hashes(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for name in [BEFORE, AFTER] {
        let Ok(m) = Manifest::load(&dir.join(name)) else {
            continue;
        };
        for r in m.roots {
            out.extend(r.entries.into_iter().filter_map(|e| e.hash));
        }
    }
    out
}

/// A session without its final snapshot whose front end still runs.
fn live(meta: &Meta) -> bool {
    if meta
        .taken
        .iter()
        .any(|t| t == AFTER.trim_end_matches(".json"))
    {
        return false;
    }
    let pid = meta.id.rsplit('-').next().unwrap_or("");
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && Path::new("/proc").join(pid).exists()
}
