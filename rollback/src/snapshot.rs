//! Taking a snapshot: a metadata walk of each grant (never following a
//! symbolic link; excluded and oversized directories pruned), then the
//! content of each regular file that the cache does not vouch for, hashed
//! (and stored, in rollback mode) from a descriptor opened without
//! following links and checked to be the inode the walk saw.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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

/// How far a snapshot is: files and bytes done out of those to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub files: u64,
    pub bytes: u64,
    pub total_files: u64,
    pub total_bytes: u64,
}

/// Called from the reading threads as files are done.
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Sync);

/// Snapshot every root (absolute, canonical directories).
pub fn take(
    roots: &[&Path],
    filter: &Filter,
    keep: Keep<'_>,
    cache: &mut Cache,
) -> Result<Manifest> {
    take_with(roots, filter, keep, cache, &|_| {})
}

/// As [`take`], reporting progress.
pub fn take_with(
    roots: &[&Path],
    filter: &Filter,
    keep: Keep<'_>,
    cache: &mut Cache,
    progress: OnProgress<'_>,
) -> Result<Manifest> {
    let mut m = take_once(roots, filter, keep, cache, progress)?;
    if let Keep::Blobs(store) = keep {
        // A cached hash whose blob retention removed (perhaps while this
        // snapshot ran): forget such entries and take it again.
        let present = store.present();
        let named = m.roots.iter().flat_map(|r| r.entries.iter());
        if named
            .filter_map(|e| e.hash.as_ref())
            .any(|h| !present.contains(h))
        {
            cache.retain_present(&present);
            m = take_once(roots, filter, keep, cache, progress)?;
        }
    }
    Ok(m)
}

fn take_once(
    roots: &[&Path],
    filter: &Filter,
    keep: Keep<'_>,
    cache: &mut Cache,
    progress: OnProgress<'_>,
) -> Result<Manifest> {
    let mut out = Vec::new();
    for root in roots {
        out.push(take_root_with(root, filter, keep, cache, progress)?);
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
    take_root_with(root, filter, keep, cache, &|_| {})
}

fn take_root_with(
    root: &Path,
    filter: &Filter,
    keep: Keep<'_>,
    cache: &mut Cache,
    progress: OnProgress<'_>,
) -> Result<RootManifest> {
    let mut w = Walk {
        entries: Vec::new(),
        excluded: BTreeMap::new(),
        skipped: Vec::new(),
    };
    walk_dir(root, "", filter, &mut w)?;
    let hashes = contents(root, &w.entries, keep, cache, progress);
    let mut entries = Vec::with_capacity(w.entries.len());
    for ((mut e, _), h) in w.entries.into_iter().zip(hashes) {
        match h {
            Some(Ok(h)) => e.hash = Some(h),
            Some(Err(_)) => {
                w.skipped.push(e.path);
                continue;
            }
            None => {}
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

/// The content hash of every regular file of the walk (`None` for other
/// entries): from the cache when it vouches for the file, otherwise read
/// by as many threads as there are CPUs.
fn contents(
    root: &Path,
    entries: &[(Entry, Option<Stamp>)],
    keep: Keep<'_>,
    cache: &mut Cache,
    progress: OnProgress<'_>,
) -> Vec<Option<Result<String>>> {
    let mut out: Vec<Option<Result<String>>> = Vec::with_capacity(entries.len());
    let mut todo = Vec::new();
    for (i, (e, stamp)) in entries.iter().enumerate() {
        let Some(stamp) = stamp else {
            out.push(None);
            continue;
        };
        let key = root.join(&e.path).display().to_string();
        match cache.get(&key, stamp) {
            Some(h) => out.push(Some(Ok(h.to_string()))),
            None => {
                out.push(None);
                todo.push((i, key));
            }
        }
    }
    let total = Progress {
        total_files: todo.len() as u64,
        total_bytes: todo.iter().map(|(i, _)| entries[*i].0.size).sum(),
        ..Progress::default()
    };
    let read = read_all(&todo, entries, keep, total, progress);
    for ((i, key), r) in todo.into_iter().zip(read) {
        out[i] = Some(r.map(|(h, stamp)| {
            cache.put(key, stamp, h.clone());
            h
        }));
    }
    out
}

/// One file read: its hash and the metadata it had.
type Read = Result<(String, Stamp)>;

/// Read the files `todo` names, in parallel; results in `todo`'s order.
fn read_all(
    todo: &[(usize, String)],
    entries: &[(Entry, Option<Stamp>)],
    keep: Keep<'_>,
    total: Progress,
    progress: OnProgress<'_>,
) -> Vec<Read> {
    if todo.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8)
        .min(todo.len().max(1));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(total);
    let slots: Vec<Mutex<Option<Read>>> = todo.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some((i, key)) = todo.get(n) else {
                    return;
                };
                let (e, stamp) = &entries[*i];
                let Some(stamp) = stamp else { return };
                let r = content(Path::new(key), stamp, keep);
                *slots[n].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
                d.files += 1;
                d.bytes += e.size;
                progress(*d);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| {
                    Err(crate::error::RollbackError::Read {
                        path: PathBuf::new(),
                        source: std::io::Error::other("not read"),
                    })
                })
        })
        .collect()
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
    // Sorted by name; each entry's metadata is read relative to the
    // directory (fstatat, no link followed), not by its whole path again.
    let mut listed: Vec<_> = listing
        .filter_map(|e| e.ok().map(|e| (e.file_name(), e)))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut count = 0;
    for (name, dirent) in listed {
        let Ok(name) = name.into_string() else {
            w.skipped.push(format!("{rel}/<not UTF-8>"));
            continue;
        };
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(meta) = dirent.metadata() else {
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

/// A regular file's content hash (and its blob, keeping blobs), read from
/// a descriptor that is checked to be the file the walk saw.
fn content(abs: &Path, stamp: &Stamp, keep: Keep<'_>) -> Result<(String, Stamp)> {
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
    Ok((h, now))
}

fn libc_flags() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits()
}
