//! The paths of the agent's directory descriptors, kept between elevated
//! opens. A tree walk (`find`, `fts`, `du`) opens every entry relative to
//! its parent's descriptor, so the same few descriptors are named again and
//! again; naming one costs a walk of `/proc/<tid>/fd/N` and a readlink.
//!
//! An entry holds the broker's own duplicate of the agent's descriptor
//! (`pidfd_getfd`) and the kernel's path for it. It is used only while
//! `kcmp(KCMP_FILE)` says the agent's descriptor number still refers to
//! that very open file: a `close`/`dup2`/`open` onto the number is a miss.
//! Holding the duplicate keeps the open file alive, so the kernel cannot
//! reuse it for another one while the entry exists.
//!
//! What a cached path decides (see `open.rs`): only whether an open is
//! already inside the grants, which lets the kernel run it under the
//! agent's own Landlock domain — nothing the cache says can grant more.
//! A path outside the grants is named again from the held duplicate before
//! anything is asked or opened, so a directory renamed since it was cached
//! never reaches the user or the broker's own open.

use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use super::target::path_of;

/// Entries per serving thread; the oldest one makes room.
const KEEP: usize = 32;

struct Entry {
    tid: u32,
    /// The broker process that holds `held` (kcmp names it by pid).
    me: u32,
    fd: i32,
    held: OwnedFd,
    path: PathBuf,
}

thread_local! {
    static KEPT: RefCell<(Vec<Entry>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// How sure the path is.
pub enum Named {
    /// From the cache: what the descriptor's path was when it was cached.
    Cached(PathBuf),
    /// The kernel's path for the descriptor now.
    Fresh(PathBuf),
}

/// The path of directory descriptor `fd` of thread `tid`. None when the
/// descriptor has no path (deleted, a socket, not open): then the kernel
/// decides (and answers with the right error).
pub fn name(tid: u32, fd: i32) -> Option<Named> {
    if let Some(p) = cached(tid, fd) {
        return Some(Named::Cached(p));
    }
    let held = crate::sys::borrow_fd(tid, fd).ok()?;
    let path = path_of(&held)?;
    keep(Entry {
        tid,
        me: std::process::id(),
        fd,
        held,
        path: path.clone(),
    });
    Some(Named::Fresh(path))
}

/// The kernel's path for `fd` of `tid` now (the cache refreshed).
pub fn fresh(tid: u32, fd: i32) -> Option<PathBuf> {
    forget(tid, fd);
    match name(tid, fd)? {
        Named::Cached(p) | Named::Fresh(p) => Some(p),
    }
}

fn cached(tid: u32, fd: i32) -> Option<PathBuf> {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        let i = k.0.iter().position(|e| e.tid == tid && e.fd == fd)?;
        let e = &k.0[i];
        if crate::sys::same_file(tid, fd, e.me, e.held.as_raw_fd()) {
            return Some(e.path.clone());
        }
        k.0.swap_remove(i);
        None
    })
}

fn forget(tid: u32, fd: i32) {
    KEPT.with(|k| k.borrow_mut().0.retain(|e| !(e.tid == tid && e.fd == fd)));
}

fn keep(e: Entry) {
    KEPT.with(|k| {
        let (entries, next) = &mut *k.borrow_mut();
        if entries.len() < KEEP {
            entries.push(e);
        } else {
            entries[*next % KEEP] = e;
            *next = (*next + 1) % KEEP;
        }
    });
}
