//! Taking a snapshot: a metadata walk of each grant (never following a
//! symbolic link; excluded and oversized directories pruned), then the
//! content of each regular file that the cache does not vouch for, hashed
//! (and stored, in rollback mode) from a descriptor opened without
//! following links and checked to be the inode the walk saw.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::cache::{now_ns, Cache, Stamp};
use crate::error::{io_read, Result};
use crate::filter::Filter;
use crate::manifest::{hex, merkle_root, Entry, Manifest, RootManifest};
use crate::store::{hash_only, Store};
use crate::walk::walk;

/// Whether file contents are kept (rollback) or only hashed (integrity).
#[derive(Debug, Clone, Copy)]
pub enum Keep<'a> {
    Blobs(&'a Store),
    HashOnly,
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

/// As [`take`], reporting progress. Keeping blobs, the caller holds the
/// store's shared lock (`Store::lock_shared`) from before this call until
/// the manifest is written, and has refreshed `cache` under it
/// (`Store::refresh`): collection then cannot remove a blob the cache
/// vouches for while the manifest naming it is not yet written.
pub fn take_with(
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
    let mut w = walk(root, filter)?;
    let hashes = contents(&w.entries, root, keep, cache, progress);
    let mut entries = Vec::with_capacity(w.entries.len());
    for ((mut e, _), h) in w.entries.into_iter().zip(hashes) {
        match h {
            Some(Ok(h)) => e.hash = Some(hex(&h)),
            Some(Err(_)) => {
                w.skipped.push(e.path);
                continue;
            }
            None => {}
        }
        entries.push(e);
    }
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let root_s = root.display().to_string();
    Ok(RootManifest {
        merkle_root: merkle_root(&root_s, &entries),
        root: root_s,
        entries,
        excluded: w.excluded,
        skipped: w.skipped,
    })
}

/// The content digest of every regular file of the walk (`None` for
/// other entries): from the cache when it vouches for the file, otherwise
/// read by as many threads as there are CPUs.
fn contents(
    entries: &[(Entry, Option<Stamp>)],
    root: &Path,
    keep: Keep<'_>,
    cache: &mut Cache,
    progress: OnProgress<'_>,
) -> Vec<Option<Result<[u8; 32]>>> {
    let need_blob = matches!(keep, Keep::Blobs(_));
    let mut out: Vec<Option<Result<[u8; 32]>>> = Vec::with_capacity(entries.len());
    let mut todo = Vec::new();
    for (i, (_, stamp)) in entries.iter().enumerate() {
        let hit = stamp.as_ref().map(|s| cache.get(s, need_blob));
        if let Some(None) = hit {
            todo.push(i);
        }
        out.push(hit.flatten().map(Ok));
    }
    let total = Progress {
        total_files: todo.len() as u64,
        total_bytes: todo.iter().map(|i| entries[*i].0.size).sum(),
        ..Progress::default()
    };
    let read = read_all(&todo, entries, root, keep, total, progress);
    for (i, r) in todo.into_iter().zip(read) {
        out[i] = Some(r.map(|(digest, stamp, read_ns)| {
            cache.put(&stamp, digest, need_blob, read_ns);
            digest
        }));
    }
    out
}

/// One file read: its digest, the metadata it had, and when it was read.
type Read = Result<([u8; 32], Stamp, i64)>;

/// Read the files `todo` names, in parallel; results in `todo`'s order.
fn read_all(
    todo: &[usize],
    entries: &[(Entry, Option<Stamp>)],
    root: &Path,
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
                let Some(i) = todo.get(n) else {
                    return;
                };
                let (e, stamp) = &entries[*i];
                let Some(stamp) = stamp else { return };
                let r = content(&root.join(&e.path), stamp, keep);
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

/// A regular file's content hash (and its blob, keeping blobs), read from
/// a descriptor that is checked to be the file the walk saw.
fn content(abs: &Path, stamp: &Stamp, keep: Keep<'_>) -> Read {
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
    Ok((h, now, now_ns()))
}

fn libc_flags() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits()
}
