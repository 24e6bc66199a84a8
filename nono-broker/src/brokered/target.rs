//! Resolving what a brokered call names, race-free: the broker opens the
//! object itself (`O_PATH`, no magic links, no final symlink unless the
//! call follows them), then judges the object it holds, by the kernel's
//! own name for it, and acts on that descriptor. `/proc/self/fd/N` names
//! the agent's descriptor N: the broker takes its own duplicate
//! (`pidfd_getfd`) and acts on that.

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
    /// A descriptor of the agent, `O_PATH` ones included (`AT_EMPTY_PATH`).
    Fd(i32),
    /// An open descriptor of the agent (`fchmod`, `fchown`, `futimens`,
    /// `fsetxattr`): an `O_PATH` one is EBADF, as the kernel answers.
    Open(i32),
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

/// The broker's own root, opened once (it never changes).
fn root() -> Result<std::os::fd::BorrowedFd<'static>, Errno> {
    static ROOT: std::sync::OnceLock<OwnedFd> = std::sync::OnceLock::new();
    if let Some(fd) = ROOT.get() {
        return Ok(fd.as_fd());
    }
    let fd = open("/", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())?;
    Ok(ROOT.get_or_init(|| fd).as_fd())
}

/// What an absolute path under the agent's `/proc/self` means.
#[derive(Debug, PartialEq, Eq)]
enum SelfPath {
    /// `/proc/self/fd/N` (or `thread-self`): the agent's descriptor N.
    Fd(i32),
    /// Another path under `/proc/self` (or `thread-self`), rewritten to
    /// the notifying thread's `/proc/<tid>`.
    Rewritten(CString),
    /// Not under `/proc/self`.
    No,
}

/// `/proc/self` resolved in the broker would name the broker: read it as
/// the notifying thread instead (glibc's `fchmodat(AT_SYMLINK_NOFOLLOW)`
/// ends in `chmod("/proc/self/fd/N")`).
fn self_path(tid: u32, path: &[u8]) -> SelfPath {
    let rest = [&b"/proc/self"[..], b"/proc/thread-self"]
        .iter()
        .find_map(|p| path.strip_prefix(*p))
        .filter(|r| r.is_empty() || r.starts_with(b"/"));
    let Some(rest) = rest else {
        return SelfPath::No;
    };
    if let Some(n) = rest.strip_prefix(b"/fd/") {
        let digits = !n.is_empty() && n.len() <= 9 && n.iter().all(u8::is_ascii_digit);
        if digits {
            let s = std::str::from_utf8(n).unwrap_or("");
            if let Ok(fd) = s.parse() {
                return SelfPath::Fd(fd);
            }
        }
    }
    let mut p = format!("/proc/{tid}").into_bytes();
    p.extend_from_slice(rest);
    CString::new(p).map_or(SelfPath::No, SelfPath::Rewritten)
}

fn base(pid: u32, dirfd: i32, path: &CStr) -> Result<OwnedFd, Errno> {
    open(
        start_dir(pid, dirfd, path.to_bytes()).as_str(),
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Open the named object as `O_PATH` in the broker (or take its own
/// duplicate of the agent's descriptor).
fn open_named(pid: u32, n: &Named) -> Result<OwnedFd, Errno> {
    match n {
        // The broker's own duplicate (pidfd_getfd): the agent's open
        // file itself, nothing it can swap later.
        Named::Fd(fd) => crate::sys::borrow_fd(pid, *fd),
        Named::Open(fd) => {
            let dup = crate::sys::borrow_fd(pid, *fd)?;
            let flags = nix::fcntl::fcntl(&dup, nix::fcntl::FcntlArg::F_GETFL)?;
            if OFlag::from_bits_truncate(flags).contains(OFlag::O_PATH) {
                return Err(Errno::EBADF);
            }
            Ok(dup)
        }
        Named::Path {
            dirfd,
            path,
            follow,
        } => open_path(pid, *dirfd, path, *follow),
    }
}

fn open_path(pid: u32, dirfd: i32, path: &CStr, follow: bool) -> Result<OwnedFd, Errno> {
    let bytes = path.to_bytes();
    if bytes.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_NO_MAGICLINKS);
    if bytes[0] == b'/' {
        return match self_path(pid, bytes) {
            // The broker's own duplicate of the agent's descriptor: what
            // the agent's magic link names, and nothing it can swap later.
            SelfPath::Fd(fd) => crate::sys::borrow_fd(pid, fd).map_err(|e| {
                if e == Errno::EBADF {
                    Errno::ENOENT
                } else {
                    e
                }
            }),
            SelfPath::Rewritten(p) => openat2(root()?, p.as_c_str(), how),
            SelfPath::No => openat2(root()?, path, how),
        };
    }
    let b = base(pid, dirfd, path)?;
    openat2(b.as_fd(), path, how)
}

/// An object the broker holds, and the kernel's path for it (None when
/// deleted or not named by a path: a pipe, a socket, an anonymous inode).
#[derive(Debug)]
pub struct Held {
    pub fd: OwnedFd,
    pub path: Option<PathBuf>,
}

/// [`open_named`], and the held object's path.
///
/// An absolute path that is already canonical (no empty, `.` or `..`
/// component, no trailing `/`, not under `/proc`) is first resolved with
/// no symlink followed anywhere (`RESOLVE_NO_SYMLINKS`). When that
/// succeeds, every component was looked up as named, so the path as given
/// is the kernel's own name for the object just opened: the judgement is
/// made on it without a readlink. Anything else (a symlink on the way, a
/// relative path, a descriptor, any error) takes the general route: the
/// kernel names the object the broker holds ([`path_of`]).
pub fn hold(pid: u32, n: &Named) -> Result<Held, Errno> {
    if let Named::Path { path, follow, .. } = n {
        if let Some(held) = open_canonical(path, *follow) {
            return Ok(held);
        }
    }
    let fd = open_named(pid, n)?;
    let path = path_of(&fd);
    Ok(Held { fd, path })
}

/// Plain absolute (`sandbox::kept_dirs::plain_absolute`) and not under
/// `/proc`, whose entries name other things than their path.
fn canonical(p: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(p));
    sandbox::kept_dirs::plain_absolute(path) && !path.starts_with("/proc")
}

fn open_canonical(path: &CStr, follow: bool) -> Option<Held> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.to_bytes();
    if !canonical(bytes) {
        return None;
    }
    let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS);
    let fd = openat2(root().ok()?, path, how).ok()?;
    Some(Held {
        fd,
        path: Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes))),
    })
}

/// The broker's own `/proc/self/fd`, opened once: a held descriptor is
/// then one lookup away (no walk of `/proc/self` per call).
pub fn own_fds() -> Option<std::os::fd::BorrowedFd<'static>> {
    static FDS: std::sync::OnceLock<Option<OwnedFd>> = std::sync::OnceLock::new();
    FDS.get_or_init(|| {
        open(
            "/proc/self/fd",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()
    })
    .as_ref()
    .map(|f| f.as_fd())
}

/// A held descriptor's name in [`own_fds`].
pub fn fd_name(fd: &OwnedFd) -> CString {
    use std::os::fd::AsRawFd;
    CString::new(fd.as_raw_fd().to_string()).unwrap_or_default()
}

/// The kernel's path for a descriptor the broker holds (None if deleted).
pub fn path_of(fd: &OwnedFd) -> Option<PathBuf> {
    kernel_path(nix::fcntl::readlinkat(own_fds()?, fd_name(fd).as_c_str()).ok()?)
}

/// A `/proc/*/fd/N` or `cwd` link as read: a path, or None for what has
/// none ("/x (deleted)", "socket:[…]", "anon_inode:…").
pub fn kernel_path(link: std::ffi::OsString) -> Option<PathBuf> {
    let p = PathBuf::from(link);
    let s = p.to_string_lossy();
    (!s.ends_with(" (deleted)") && s.starts_with('/')).then_some(p)
}

/// `/proc/self/fd/N` for acting on the held object by path.
pub fn proc_path(fd: &OwnedFd) -> CString {
    use std::os::fd::AsRawFd;
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{canonical, self_path, SelfPath};

    #[test]
    fn only_plain_absolute_paths_are_canonical() {
        for p in ["/", "/a", "/a/b.c", "/home/u/..x", "/a/.b"] {
            assert!(canonical(p.as_bytes()), "{p}");
        }
        for p in [
            "",
            "a",
            "./a",
            "/a/",
            "//a",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a/..",
            "/..",
            "/proc",
            "/proc/self/fd/3",
            "/proc/1/root/etc",
        ] {
            assert!(!canonical(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn proc_self_is_the_notifying_thread() {
        assert_eq!(self_path(42, b"/proc/self/fd/7"), SelfPath::Fd(7));
        assert_eq!(self_path(42, b"/proc/thread-self/fd/12"), SelfPath::Fd(12));
        let r = |p: &[u8]| match self_path(42, p) {
            SelfPath::Rewritten(c) => c.into_bytes(),
            other => panic!("{other:?}"),
        };
        assert_eq!(r(b"/proc/self"), b"/proc/42");
        assert_eq!(r(b"/proc/self/fd/7/x"), b"/proc/42/fd/7/x");
        assert_eq!(r(b"/proc/self/fd/"), b"/proc/42/fd/");
        assert_eq!(r(b"/proc/self/fd/+7"), b"/proc/42/fd/+7");
        assert_eq!(r(b"/proc/thread-self/cwd"), b"/proc/42/cwd");
        assert_eq!(self_path(42, b"/proc/selfish/fd/7"), SelfPath::No);
        assert_eq!(self_path(42, b"/proc/1/fd/7"), SelfPath::No);
        assert_eq!(self_path(42, b"/tmp/proc/self/fd/7"), SelfPath::No);
    }
}
