//! Resolving what a brokered call names, race-free: the broker opens the
//! object itself (`O_PATH`, no magic links, no final symlink unless the
//! call follows them), then judges the object it holds, by the kernel's
//! own name for it, and acts on that descriptor.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// What the agent named.
#[derive(Debug)]
pub enum Named {
    /// `dirfd` (AT_FDCWD or a descriptor of the agent) + path.
    Path {
        dirfd: i32,
        path: CString,
        follow: bool,
    },
    /// A descriptor of the agent.
    Fd(i32),
}

/// Where a relative `path` of the agent starts: `/`, its working directory,
/// or its descriptor `dirfd` (as a `/proc` link of the agent).
pub fn start_dir(pid: u32, dirfd: i32, path: &[u8]) -> String {
    if path.first() == Some(&b'/') {
        "/".to_string()
    } else if dirfd == libc::AT_FDCWD {
        format!("/proc/{pid}/cwd")
    } else {
        format!("/proc/{pid}/fd/{dirfd}")
    }
}

fn base(pid: u32, dirfd: i32, path: &CStr) -> Result<OwnedFd, Errno> {
    open(
        start_dir(pid, dirfd, path.to_bytes()).as_str(),
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Open the named object as `O_PATH` in the broker.
pub fn open_named(pid: u32, n: &Named) -> Result<OwnedFd, Errno> {
    match n {
        Named::Fd(fd) => open(
            format!("/proc/{pid}/fd/{fd}").as_str(),
            OFlag::O_PATH | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| if e == Errno::ENOENT { Errno::EBADF } else { e }),
        Named::Path {
            dirfd,
            path,
            follow,
        } => {
            if path.to_bytes().is_empty() {
                return Err(Errno::ENOENT);
            }
            let b = base(pid, *dirfd, path)?;
            let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
            if !follow {
                flags |= OFlag::O_NOFOLLOW;
            }
            let how = OpenHow::new()
                .flags(flags)
                .resolve(ResolveFlag::RESOLVE_NO_MAGICLINKS);
            openat2(b.as_fd(), path.as_c_str(), how)
        }
    }
}

/// The kernel's path for a descriptor the broker holds (None if deleted).
pub fn path_of(fd: &OwnedFd) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    let p = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let s = p.to_string_lossy();
    (!s.ends_with(" (deleted)") && s.starts_with('/')).then_some(p)
}

/// `/proc/self/fd/N` for acting on the held object by path.
pub fn proc_path(fd: &OwnedFd) -> CString {
    use std::os::fd::AsRawFd;
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

/// Whether the held object is a symbolic link.
pub fn is_symlink(fd: &OwnedFd) -> bool {
    nix::sys::stat::fstatat(fd.as_fd(), "", nix::fcntl::AtFlags::AT_EMPTY_PATH)
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
        .unwrap_or(false)
}
