//! Restoring a root to a snapshot, exactly: created entries removed,
//! deleted ones recreated, contents, permission bits and link targets put
//! back, retyped entries replaced. Every operation goes through a
//! descriptor of the parent directory opened beneath the root with no
//! symbolic link allowed on the way (`openat2`, `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS`), and acts on one name in it: restore never
//! follows a link out of the grant. New content is written to a temporary
//! name and renamed into place. Excluded and skipped paths are never
//! touched.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{openat, openat2, renameat, OFlag, OpenHow, ResolveFlag, AT_FDCWD};
use nix::sys::stat::{fchmod, fchmodat, fstat, mkdirat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{symlinkat, unlinkat, UnlinkatFlags};

use crate::cache::Cache;
use crate::error::{Result, RollbackError};
use crate::filter::Filter;
use crate::manifest::{diff, Change, Entry, Kind, RootManifest};
use crate::snapshot::{take_root, Keep};
use crate::store::Store;

/// What a restore did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub restored: Vec<String>,
    pub removed: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// Whether `path` is one of `only` or below one (all when `only` is empty).
fn selected(path: &str, only: &[String]) -> bool {
    only.is_empty()
        || only.iter().any(|o| {
            let o = o.trim_end_matches('/');
            path == o || path.starts_with(&format!("{o}/"))
        })
}

fn untouchable(path: &str, before: &RootManifest) -> bool {
    let under = |k: &String| path == k || path.starts_with(&format!("{k}/"));
    before.excluded.keys().any(under) || before.skipped.iter().any(under)
}

/// The changes restore would undo (after the same filter and selection).
/// `cache`: the store's metadata cache, so unchanged files are not re-read.
pub fn pending(
    before: &RootManifest,
    filter: &Filter,
    only: &[String],
    cache: &mut Cache,
) -> Result<(RootManifest, BTreeMap<String, Change>)> {
    let root = Path::new(&before.root);
    let current = take_root(root, filter, Keep::HashOnly, cache)?;
    let changes = diff(&before.entries, &current.entries)
        .into_iter()
        .filter(|(p, _)| selected(p, only) && !untouchable(p, before) && !untouchable(p, &current))
        .collect();
    Ok((current, changes))
}

/// Restore `before.root` to `before`, limited to `only` (relative paths).
pub fn restore_root(
    store: &Store,
    before: &RootManifest,
    filter: &Filter,
    only: &[String],
) -> Result<Outcome> {
    let (current, changes) = pending(before, filter, only, &mut store.load_cache())?;
    let root_fd = open_root(Path::new(&before.root))?;
    let old: BTreeMap<&str, &Entry> = before
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let now: BTreeMap<&str, &Entry> = current
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let mut out = Outcome::default();
    for (path, change) in changes.iter().rev() {
        if matches!(change, Change::Created | Change::Retyped) {
            if let Some(e) = now.get(path.as_str()) {
                record(&mut out, path, remove(&root_fd, e), true);
            }
        }
    }
    for (path, change) in &changes {
        if let (Some(e), false) = (old.get(path.as_str()), *change == Change::Created) {
            record(&mut out, path, put(&root_fd, store, e, *change), false);
        }
    }
    for (path, _) in changes.iter().rev() {
        if let Some(e) = old.get(path.as_str()).filter(|e| e.kind == Kind::Dir) {
            if let Err(err) = chmod_beneath(&root_fd, &e.path, e.mode) {
                out.failed.push((path.clone(), err));
            }
        }
    }
    Ok(out)
}

fn record(out: &mut Outcome, path: &str, r: std::result::Result<(), String>, removal: bool) {
    match (r, removal) {
        (Ok(()), true) => out.removed.push(path.to_string()),
        (Ok(()), false) => out.restored.push(path.to_string()),
        (Err(e), _) => out.failed.push((path.to_string(), e)),
    }
}

fn open_root(root: &Path) -> Result<OwnedFd> {
    openat(
        AT_FDCWD,
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RollbackError::Restore {
        path: root.to_path_buf(),
        why: format!("cannot open the grant ({e}); it must be a directory, not a link"),
    })
}

fn beneath() -> ResolveFlag {
    ResolveFlag::RESOLVE_BENEATH
        | ResolveFlag::RESOLVE_NO_SYMLINKS
        | ResolveFlag::RESOLVE_NO_MAGICLINKS
}

/// The parent directory of `rel` (opened beneath the root) and the name.
fn parent(root: &OwnedFd, rel: &str) -> std::result::Result<(OwnedFd, String), String> {
    let (dir, name) = match rel.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => (".", rel),
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(beneath());
    let fd = openat2(root.as_fd(), dir, how)
        .map_err(|e| format!("its directory cannot be reached inside the grant ({e})"))?;
    Ok((fd, name.to_string()))
}

fn remove(root: &OwnedFd, e: &Entry) -> std::result::Result<(), String> {
    let (dir, name) = parent(root, &e.path)?;
    let flag = if e.kind == Kind::Dir {
        UnlinkatFlags::RemoveDir
    } else {
        UnlinkatFlags::NoRemoveDir
    };
    unlinkat(dir.as_fd(), name.as_str(), flag).map_err(|err| format!("cannot remove it ({err})"))
}

fn put(
    root: &OwnedFd,
    store: &Store,
    e: &Entry,
    change: Change,
) -> std::result::Result<(), String> {
    let (dir, name) = parent(root, &e.path)?;
    match (e.kind, change) {
        (Kind::Dir, Change::Deleted | Change::Retyped) => {
            mkdirat(dir.as_fd(), name.as_str(), Mode::from_bits_truncate(0o700))
                .map_err(|err| format!("cannot create the directory ({err})"))
        }
        (Kind::Dir, _) => Ok(()), // its mode is set in the last pass
        (Kind::File, Change::Mode) => chmod_beneath(root, &e.path, e.mode),
        (Kind::File, _) => write_file(&dir, &name, store, e),
        (Kind::Symlink, _) => {
            let tmp = tmp_name(&name);
            let target = e.target.as_deref().unwrap_or_default();
            symlinkat(target, dir.as_fd(), tmp.as_str())
                .map_err(|err| format!("cannot create the link ({err})"))?;
            swap_in(&dir, &tmp, &name)
        }
    }
}

fn tmp_name(name: &str) -> String {
    format!(".{name}.nono-restore-{}", std::process::id())
}

fn swap_in(dir: &OwnedFd, tmp: &str, name: &str) -> std::result::Result<(), String> {
    renameat(dir.as_fd(), tmp, dir.as_fd(), name).map_err(|err| {
        let _ = unlinkat(dir.as_fd(), tmp, UnlinkatFlags::NoRemoveDir);
        format!("cannot move the restored entry into place ({err})")
    })
}

fn write_file(
    dir: &OwnedFd,
    name: &str,
    store: &Store,
    e: &Entry,
) -> std::result::Result<(), String> {
    let hash = e.hash.as_deref().ok_or("no content recorded")?;
    let bytes = store.read(hash).map_err(|err| err.to_string())?;
    let tmp = tmp_name(name);
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(
        dir.as_fd(),
        tmp.as_str(),
        flags,
        Mode::from_bits_truncate(0o600),
    )
    .map_err(|err| format!("cannot create a temporary file ({err})"))?;
    let mut f = File::from(fd);
    let wrote = f
        .write_all(&bytes)
        .map_err(|err| err.to_string())
        .and_then(|()| {
            fchmod(f.as_fd(), Mode::from_bits_truncate(e.mode)).map_err(|err| err.to_string())
        });
    if let Err(err) = wrote {
        let _ = unlinkat(dir.as_fd(), tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(format!("cannot write the content ({err})"));
    }
    swap_in(dir, &tmp, name)
}

/// Set the permission bits of `rel` (a file or directory, never a link).
fn chmod_beneath(root: &OwnedFd, rel: &str, mode: u32) -> std::result::Result<(), String> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(beneath());
    let fd = openat2(root.as_fd(), rel, how)
        .map_err(|e| format!("cannot reach it inside the grant ({e})"))?;
    let st = fstat(fd.as_fd()).map_err(|e| e.to_string())?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
        return Err("it is a symbolic link now".into());
    }
    // The descriptor's magic link names exactly the inode checked above.
    let proc_path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    fchmodat(
        AT_FDCWD,
        proc_path.as_str(),
        Mode::from_bits_truncate(mode),
        FchmodatFlags::FollowSymlink,
    )
    .map_err(|e| format!("cannot set its mode ({e})"))
}
