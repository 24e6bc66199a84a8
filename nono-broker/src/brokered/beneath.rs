//! Acting beneath the broker's own descriptor of an expanded directory
//! (`parent.rs` judges; this acts): every path is resolved with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`
//! from that descriptor, creations are exclusive and get the exact mode
//! the agent asked for, and only regular files and directories are opened.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use super::target::{fd_name, own_fds};

/// Open flags the broker passes on for a served open (the rest, e.g.
/// O_PATH or O_TMPFILE, is never served).
const KEEP: i32 = sandbox::abi::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_SYNC
    | libc::O_DSYNC
    | sandbox::abi::O_LARGEFILE
    | libc::O_NOCTTY;

/// The parent of `rel` opened beneath the expanded directory (its own
/// descriptor of it for a direct child), and the last component.
pub(super) fn parent_fd(dir: BorrowedFd<'_>, rel: &Path) -> Result<(OwnedFd, PathBuf), Errno> {
    let leaf = rel.file_name().ok_or(Errno::EINVAL)?;
    let parent = match rel.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let at = openat2(dir, parent, beneath(OFlag::O_PATH | OFlag::O_DIRECTORY))?;
    Ok((at, PathBuf::from(leaf)))
}

pub(super) fn remove(at: BorrowedFd<'_>, name: &Path, flags: i32) -> Result<(), Errno> {
    let how = if flags & libc::AT_REMOVEDIR != 0 {
        nix::unistd::UnlinkatFlags::RemoveDir
    } else {
        nix::unistd::UnlinkatFlags::NoRemoveDir
    };
    nix::unistd::unlinkat(at, name, how)
}

/// unlinkat of `rel` (beneath a created child) in its parent, opened
/// beneath the expanded directory without following links.
pub(super) fn remove_beneath(dir: BorrowedFd<'_>, rel: &Path, flags: i32) -> Result<(), Errno> {
    let (Some(parent), Some(leaf)) = (rel.parent(), rel.file_name()) else {
        return Err(Errno::EINVAL);
    };
    let at = openat2(dir, parent, beneath(OFlag::O_PATH | OFlag::O_DIRECTORY))?;
    remove(at.as_fd(), Path::new(leaf), flags)
}

fn beneath(flags: OFlag) -> OpenHow {
    OpenHow::new().flags(flags | OFlag::O_CLOEXEC).resolve(
        ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    )
}

/// Open `rel` beneath the broker's own descriptor of `dir`, with the
/// agent's flags (those in [`KEEP`]). With O_CREAT the broker first tries
/// to create it (so it knows it made it and sets the exact mode).
pub(super) fn reopen(
    dir: BorrowedFd<'_>,
    rel: &Path,
    flags: i32,
    mode: u32,
) -> Result<OwnedFd, Errno> {
    if flags & libc::O_CREAT != 0 {
        match create_file(dir, rel, flags, mode) {
            Err(Errno::EEXIST) if flags & libc::O_EXCL == 0 => {}
            made => return made,
        }
    }
    // Held first, judged by type, then opened through the broker's own
    // magic link to that very object: a FIFO (renamed in from a write
    // grant) would otherwise block the serving thread in open.
    let held = openat2(dir, rel, beneath(OFlag::O_PATH))?;
    let kind = nix::sys::stat::fstat(held.as_fd())?.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFDIR {
        return Err(Errno::EACCES);
    }
    let f = flags & KEEP & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW);
    let fds = own_fds().ok_or(Errno::EACCES)?;
    nix::fcntl::openat(
        fds,
        fd_name(&held).as_c_str(),
        OFlag::from_bits_truncate(f) | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Create `rel` (never an existing object, never through a link) and
/// open it with the agent's flags, with the exact mode (the broker's own
/// umask must not change it).
pub(super) fn create_file(
    dir: BorrowedFd<'_>,
    rel: &Path,
    flags: i32,
    mode: u32,
) -> Result<OwnedFd, Errno> {
    let f = (flags & KEEP) | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let how = beneath(OFlag::from_bits_truncate(f)).mode(Mode::from_bits_truncate(mode));
    let fd = openat2(dir, rel, how)?;
    chmod_held(&fd, mode)?;
    Ok(fd)
}

/// chmod of an object the broker holds, through its own `/proc/self/fd`.
fn chmod_held(fd: &OwnedFd, mode: u32) -> Result<(), Errno> {
    let dir = own_fds().ok_or(Errno::EACCES)?;
    crate::sys::chmod(dir, &fd_name(fd), mode)
}

/// mkdirat `name` in the held directory, then give it the exact mode.
pub(super) fn make_dir(at: BorrowedFd<'_>, name: &Path, mode: u32) -> Result<(), Errno> {
    nix::sys::stat::mkdirat(at, name, Mode::from_bits_truncate(mode))?;
    let made = openat2(at, name, beneath(OFlag::O_PATH | OFlag::O_DIRECTORY))?;
    chmod_held(&made, mode)
}

/// mkdir of `rel` (beneath a created child): its parent opened beneath
/// the expanded directory, then the last component made there.
pub(super) fn mkdir_beneath(dir: BorrowedFd<'_>, rel: &Path, mode: u32) -> Result<(), Errno> {
    let (Some(parent), Some(leaf)) = (rel.parent(), rel.file_name()) else {
        return Err(Errno::EINVAL);
    };
    let at = openat2(dir, parent, beneath(OFlag::O_PATH | OFlag::O_DIRECTORY))?;
    make_dir(at.as_fd(), Path::new(leaf), mode)
}
