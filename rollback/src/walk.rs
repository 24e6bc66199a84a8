//! The metadata walk of one root, on every CPU: each directory is listed
//! and its entries stat'ed relative to it (one `statx` each, no link
//! followed) by whichever thread takes it from a shared queue; excluded
//! directories are never entered. The listings are then put together in
//! name order, and directories of more than [`MAX_DIR_FILES`] entries that
//! the filter limits are dropped whole (auto-exclusion).

use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::{Condvar, Mutex};

use crate::cache::Stamp;
use crate::error::{io_read, Result};
use crate::filter::{Filter, MAX_DIR_FILES};
use crate::manifest::{Entry, Kind};

/// What the walk found: entries (files with the stamp they had),
/// exclusions with their reason, and what could not be recorded.
#[derive(Debug, Default)]
pub struct Walk {
    pub entries: Vec<(Entry, Option<Stamp>)>,
    pub excluded: BTreeMap<String, String>,
    pub skipped: Vec<String>,
}

/// One name of a directory listing.
enum Item {
    Entry(Entry, Option<Stamp>),
    /// A directory to descend into (its entry, its name).
    Dir(Entry, String),
    Excluded(String, String),
    Skipped(String),
}

/// A directory's items in name order; `None`: it could not be listed.
type Listing = Option<Vec<Item>>;

struct Queue {
    /// Directories to list, and how many are being listed.
    todo: Mutex<(Vec<String>, usize)>,
    wake: Condvar,
    done: Mutex<HashMap<String, Listing>>,
}

/// Walk `root` (absolute); fails only if the root itself cannot be listed.
pub fn walk(root: &Path, filter: &Filter) -> Result<Walk> {
    std::fs::read_dir(root).map_err(io_read(root))?;
    let q = Queue {
        todo: Mutex::new((vec![String::new()], 0)),
        wake: Condvar::new(),
        done: Mutex::new(HashMap::new()),
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| worker(root, filter, &q));
        }
    });
    let mut done = q.done.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut w = Walk::default();
    assemble("", &mut done, filter, &mut w);
    Ok(w)
}

fn worker(root: &Path, filter: &Filter, q: &Queue) {
    while let Some(rel) = next(q) {
        let listing = list(root, &rel, filter);
        let below: Vec<String> = listing
            .iter()
            .flatten()
            .filter_map(|i| match i {
                Item::Dir(e, _) => Some(e.path.clone()),
                _ => None,
            })
            .collect();
        lock(&q.done).insert(rel, listing);
        let mut todo = lock(&q.todo);
        todo.0.extend(below);
        todo.1 -= 1;
        q.wake.notify_all();
    }
}

/// The next directory to list; `None` once none is left or coming.
fn next(q: &Queue) -> Option<String> {
    let mut todo = lock(&q.todo);
    loop {
        if let Some(d) = todo.0.pop() {
            todo.1 += 1;
            return Some(d);
        }
        if todo.1 == 0 {
            return None;
        }
        todo = q.wake.wait(todo).unwrap_or_else(|p| p.into_inner());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// List one directory (`rel` below the root; empty: the root).
fn list(root: &Path, rel: &str, filter: &Filter) -> Listing {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut listed: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| (e.file_name(), e)))
        .collect();
    listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let items = listed
        .into_iter()
        .map(|(name, dirent)| {
            let Ok(name) = name.into_string() else {
                return Item::Skipped(format!("{rel}/<not UTF-8>"));
            };
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // fstatat relative to the listed directory, no link followed.
            match dirent.metadata() {
                Ok(meta) => item(root, child, name, &meta, filter),
                Err(_) => Item::Skipped(child),
            }
        })
        .collect();
    Some(items)
}

/// One entry of a listing.
fn item(
    root: &Path,
    child: String,
    name: String,
    meta: &std::fs::Metadata,
    filter: &Filter,
) -> Item {
    if let Some(why) = filter.excluded(&child, &name, meta.is_dir()) {
        return Item::Excluded(child, why);
    }
    let ft = meta.file_type();
    let base = Entry {
        path: child,
        kind: Kind::File,
        mode: meta.permissions().mode() & 0o7777,
        size: 0,
        hash: None,
        target: None,
    };
    if ft.is_file() {
        let e = Entry {
            size: meta.size(),
            ..base
        };
        return Item::Entry(e, Some(Stamp::of(meta)));
    }
    if ft.is_dir() {
        let e = Entry {
            kind: Kind::Dir,
            ..base
        };
        return Item::Dir(e, name);
    }
    if !ft.is_symlink() {
        return Item::Skipped(base.path); // fifo, socket, device: never touched
    }
    let target = std::fs::read_link(root.join(&base.path));
    match target.ok().and_then(|t| {
        std::str::from_utf8(t.as_os_str().as_bytes())
            .ok()
            .map(str::to_string)
    }) {
        Some(t) => Item::Entry(
            Entry {
                kind: Kind::Symlink,
                target: Some(t),
                mode: 0o777,
                ..base
            },
            None,
        ),
        None => Item::Skipped(base.path),
    }
}

/// Put the listing of `rel` and everything below it into `w`, in name
/// order; the number of entries kept.
fn assemble(
    rel: &str,
    done: &mut HashMap<String, Listing>,
    filter: &Filter,
    w: &mut Walk,
) -> usize {
    let Some(Some(items)) = done.remove(rel) else {
        if !rel.is_empty() {
            w.skipped.push(rel.to_string()); // unreadable: recorded, never touched
        }
        return 0;
    };
    let mut count = 0;
    for it in items {
        match it {
            Item::Entry(e, stamp) => {
                w.entries.push((e, stamp));
                count += 1;
            }
            Item::Excluded(p, why) => {
                w.excluded.insert(p, why);
            }
            Item::Skipped(p) => w.skipped.push(p),
            Item::Dir(e, name) => count += 1 + directory(e, &name, done, filter, w),
        }
    }
    count
}

/// A directory's entry and its subtree, unless it is too big to keep.
fn directory(
    e: Entry,
    name: &str,
    done: &mut HashMap<String, Listing>,
    filter: &Filter,
    w: &mut Walk,
) -> usize {
    let child = e.path.clone();
    let mark = (w.entries.len(), w.skipped.len());
    w.entries.push((e, None));
    let below = assemble(&child, done, filter, w);
    if below <= MAX_DIR_FILES || !filter.size_limited(name) {
        return below;
    }
    w.entries.truncate(mark.0);
    w.skipped.truncate(mark.1);
    let prefix = format!("{child}/");
    w.excluded.retain(|k, _| !k.starts_with(&prefix));
    w.excluded.insert(
        child,
        format!("auto-excluded (more than {MAX_DIR_FILES} entries)"),
    );
    0
}
