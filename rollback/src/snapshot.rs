//! Taking a snapshot: a metadata walk of each grant (never following a
//! symbolic link; excluded and oversized directories pruned), then the
//! content of each regular file that the cache does not vouch for, hashed
//! (and stored, in rollback mode) from a descriptor opened without
//! following links and checked to be the inode the walk saw.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{io_read, Result};
use crate::filter::{Filter, MAX_DIR_FILES};
use crate::manifest::{merkle_root, Entry, Kind, Manifest, RootManifest};
use crate::store::{hash_only, Cache, Stamp, Store};

/// Whether file contents are kept (rollback) or only hashed (integrity).
#[derive(Debug, Clone, Copy)]
pub enum Keep<'a> {
    Blobs(&'a Store),
    HashOnly,
}

struct Walk {
    entries: Vec<(Entry, Option<Stamp>)>,
    excluded: BTreeMap<String, String>,
    skipped: Vec<String>,
}

/// Snapshot every root (absolute, canonical directories).
pub fn take(
    roots: &[&Path],
    filter: &Filter,
    keep: Keep<'_>,
    cache: &mut Cache,
) -> Result<Manifest> {
    let mut out = Vec::new();
    for root in roots {
        out.push(take_root(root, filter, keep, cache)?);
    }
    Ok(Manifest {
        version: 1,
        taken: now(),
        roots: out,
    })
}

fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    secs.to_string()
}

/// One root: the walk, then the contents.
pub fn take_root(
    root: &Path,
    filter: &Filter,
    keep: Keep<'_>,
    cache: &mut Cache,
) -> Result<RootManifest> {
    let mut w = Walk {
        entries: Vec::new(),
        excluded: BTreeMap::new(),
        skipped: Vec::new(),
    };
    walk_dir(root, "", filter, &mut w)?;
    let mut entries = Vec::with_capacity(w.entries.len());
    for (mut e, stamp) in w.entries {
        if let Some(stamp) = stamp {
            let abs = root.join(&e.path);
            match content(&abs, &stamp, keep, cache) {
                Ok(h) => e.hash = Some(h),
                Err(_) => {
                    w.skipped.push(e.path);
                    continue;
                }
            }
        }
        entries.push(e);
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let root_s = root.display().to_string();
    Ok(RootManifest {
        merkle_root: merkle_root(&root_s, &entries),
        root: root_s,
        entries,
        excluded: w.excluded,
        skipped: w.skipped,
    })
}

/// The walk below `rel` (empty: the root); the number of entries kept.
fn walk_dir(root: &Path, rel: &str, filter: &Filter, w: &mut Walk) -> Result<usize> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let listing = match std::fs::read_dir(&dir) {
        Ok(l) => l,
        Err(_) if !rel.is_empty() => {
            w.skipped.push(rel.to_string()); // unreadable: recorded, never touched
            return Ok(0);
        }
        Err(e) => return Err(io_read(&dir)(e)),
    };
    let mut names: Vec<_> = listing
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    let mut count = 0;
    for name in names {
        let Ok(name) = name.into_string() else {
            w.skipped.push(format!("{rel}/<not UTF-8>"));
            continue;
        };
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(meta) = std::fs::symlink_metadata(root.join(&child)) else {
            w.skipped.push(child);
            continue;
        };
        if let Some(why) = filter.excluded(&child, &name, meta.is_dir()) {
            w.excluded.insert(child, why);
            continue;
        }
        count += 1 + entry(root, child, &name, &meta, filter, w)?;
    }
    Ok(count)
}

/// Record one entry (and, for a directory, its subtree); entries added below it.
fn entry(
    root: &Path,
    child: String,
    name: &str,
    meta: &std::fs::Metadata,
    filter: &Filter,
    w: &mut Walk,
) -> Result<usize> {
    let mode = meta.permissions().mode() & 0o7777;
    let ft = meta.file_type();
    let base = Entry {
        path: child.clone(),
        kind: Kind::File,
        mode,
        size: 0,
        hash: None,
        target: None,
    };
    if ft.is_symlink() {
        let target = std::fs::read_link(root.join(&child)).map_err(io_read(&root.join(&child)))?;
        match std::str::from_utf8(target.as_os_str().as_bytes()) {
            Ok(t) => w.entries.push((
                Entry {
                    kind: Kind::Symlink,
                    target: Some(t.to_string()),
                    mode: 0o777,
                    ..base
                },
                None,
            )),
            Err(_) => w.skipped.push(child),
        }
        return Ok(0);
    }
    if ft.is_file() {
        w.entries.push((
            Entry {
                size: meta.size(),
                ..base
            },
            Some(Stamp::of(meta)),
        ));
        return Ok(0);
    }
    if !ft.is_dir() {
        w.skipped.push(child); // fifo, socket, device: never touched
        return Ok(0);
    }
    let mark = w.entries.len();
    w.entries.push((
        Entry {
            kind: Kind::Dir,
            ..base
        },
        None,
    ));
    let below = walk_dir(root, &child, filter, w)?;
    if below > MAX_DIR_FILES && filter.size_limited(name) {
        w.entries.truncate(mark);
        w.excluded
            .retain(|k, _| !k.starts_with(&format!("{child}/")));
        w.skipped.retain(|k| !k.starts_with(&format!("{child}/")));
        w.excluded.insert(
            child,
            format!("auto-excluded (more than {MAX_DIR_FILES} entries)"),
        );
        return Ok(0);
    }
    Ok(below)
}

/// A regular file's content hash: from the cache when its metadata is
/// unchanged, otherwise read from a descriptor that is checked to be the
/// file the walk saw.
fn content(abs: &Path, stamp: &Stamp, keep: Keep<'_>, cache: &mut Cache) -> Result<String> {
    let key = abs.display().to_string();
    if let Some(h) = cache.get(&key, stamp) {
        return Ok(h.to_string());
    }
    let mut f = File::options()
        .read(true)
        .custom_flags(libc_flags())
        .open(abs)
        .map_err(io_read(abs))?;
    let meta = f.metadata().map_err(io_read(abs))?;
    let now = Stamp::of(&meta);
    if !meta.is_file() || now.dev != stamp.dev || now.ino != stamp.ino {
        return Err(crate::error::RollbackError::Read {
            path: abs.to_path_buf(),
            source: std::io::Error::other("changed while the snapshot was taken"),
        });
    }
    let h = match keep {
        Keep::Blobs(store) => store.put(&mut f, abs)?,
        Keep::HashOnly => hash_only(&mut f, abs)?,
    };
    cache.put(key, now, h.clone());
    Ok(h)
}

fn libc_flags() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits()
}
