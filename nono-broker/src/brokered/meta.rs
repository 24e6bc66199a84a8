//! Metadata changes Landlock (ABI < 9) does not cover: chmod, chown,
//! utime(s), setxattr/removexattr. The broker performs them itself on the
//! object it resolved and only when that object lies inside a write grant;
//! otherwise the call fails with EACCES. The agent's own call never runs.
//! They act on regular files, directories and symlinks only: a device node,
//! FIFO or socket (the host's `/dev/full`, the user's terminal) is refused
//! with EPERM even inside a write grant, judged on the object the broker
//! holds.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::mem::{u64s, AgentMem};
use super::target::{fd_name, hold, own_fds, proc_path, Held, Named};
use crate::sys;
use std::path::Path;

/// Largest xattr value (XATTR_SIZE_MAX).
const XATTR_MAX: usize = 65536;
const XATTR_NAME_MAX: usize = 255;

#[derive(Debug)]
pub enum Op {
    Chmod(u32),
    Chown(u32, u32),
    Times(Option<[libc::timespec; 2]>),
    SetXattr {
        name: CString,
        value: Vec<u8>,
        flags: i32,
    },
    RemoveXattr(CString),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Chmod(_) => "chmod",
            Op::Chown(..) => "chown",
            Op::Times(_) => "utimes",
            Op::SetXattr { .. } => "setxattr",
            Op::RemoveXattr(_) => "removexattr",
        }
    }
}

fn ts(sec: u64, nsec: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: sec as _,
        tv_nsec: nsec as libc::c_long,
    }
}

/// struct timeval[2] (utimes, futimesat); NULL = now.
pub(super) fn timevals(
    mem: &dyn AgentMem,
    addr: u64,
) -> Result<Option<[libc::timespec; 2]>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let [s0, u0, s1, u1] = u64s::<4>(mem, addr)?;
    Ok(Some([
        ts(s0, u0.wrapping_mul(1000)),
        ts(s1, u1.wrapping_mul(1000)),
    ]))
}

/// struct utimbuf (utime); NULL = now.
pub(super) fn utimbuf(mem: &dyn AgentMem, addr: u64) -> Result<Option<[libc::timespec; 2]>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let [at, mt] = u64s::<2>(mem, addr)?;
    Ok(Some([ts(at, 0), ts(mt, 0)]))
}

/// struct timespec[2] (utimensat); NULL = now.
pub(super) fn timespecs(
    mem: &dyn AgentMem,
    addr: u64,
) -> Result<Option<[libc::timespec; 2]>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let [s0, n0, s1, n1] = u64s::<4>(mem, addr)?;
    Ok(Some([ts(s0, n0), ts(s1, n1)]))
}

pub(super) fn path(
    mem: &dyn AgentMem,
    dirfd: i32,
    addr: u64,
    follow: bool,
) -> Result<Named, Errno> {
    Ok(Named::Path {
        dirfd,
        path: mem.path(addr)?,
        follow,
    })
}

/// `*at` calls with AT_EMPTY_PATH and an empty path act on `dirfd` (with
/// AT_FDCWD: the working directory, as the kernel does).
pub(super) fn at(mem: &dyn AgentMem, a: &[u64; 6], flags: u64) -> Result<Named, Errno> {
    let dirfd = a[0] as i32;
    let p = mem.path(a[1])?;
    if p.to_bytes().is_empty() && flags & libc::AT_EMPTY_PATH as u64 != 0 {
        if dirfd == libc::AT_FDCWD {
            return Ok(Named::Path {
                dirfd,
                path: c".".to_owned(),
                follow: false,
            });
        }
        return Ok(Named::Fd(dirfd));
    }
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW as u64 == 0;
    Ok(Named::Path {
        dirfd,
        path: p,
        follow,
    })
}

pub(super) fn xattr_name(mem: &dyn AgentMem, addr: u64) -> Result<CString, Errno> {
    mem.cstring(addr, XATTR_NAME_MAX + 1).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })
}

fn xattr_value(mem: &dyn AgentMem, addr: u64, size: u64) -> Result<Vec<u8>, Errno> {
    if size as usize > XATTR_MAX {
        return Err(Errno::E2BIG);
    }
    if size == 0 {
        return Ok(Vec::new());
    }
    mem.bytes(addr, size as usize)
}

/// setxattr's (name, value, size, flags) at args 1-4.
pub(super) fn setxattr(mem: &dyn AgentMem, a: &[u64; 6]) -> Result<Op, Errno> {
    Ok(Op::SetXattr {
        name: xattr_name(mem, a[1])?,
        value: xattr_value(mem, a[2], a[3])?,
        flags: a[4] as i32,
    })
}

/// What became of a metadata call.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Judged inside the grants and performed (or not resolvable): the
    /// kernel's own answer, as the agent would get it without a sandbox
    /// (e.g. EPERM for a chown it may not make). Nothing to report.
    Done(Result<(), Errno>),
    /// Refused by the broker: the error and the path, for the user.
    Refused(Errno, String),
}

/// Resolve, judge and perform. `writable`: inside the write grants (or
/// what the broker created in an expanded directory, `parent.rs`).
pub fn perform(pid: u32, named: &Named, op: &Op, writable: &dyn Fn(&Path) -> bool) -> Outcome {
    let Held { fd, path } = match hold(pid, named) {
        Ok(h) => h,
        Err(e) => return Outcome::Done(Err(e)),
    };
    let Some(p) = path else {
        return Outcome::Refused(Errno::EACCES, "(deleted or unnamed object)".into());
    };
    if !writable(&p) {
        return Outcome::Refused(Errno::EACCES, p.display().to_string());
    }
    let Some(kind) = plain_kind(&fd) else {
        return Outcome::Refused(Errno::EPERM, p.display().to_string());
    };
    if kind == libc::S_IFLNK && !matches!(op, Op::Chown(..)) {
        return Outcome::Done(Err(Errno::EOPNOTSUPP));
    }
    Outcome::Done(act(&fd, op))
}

/// Perform `op` on the held object itself (never on a path the agent can
/// change): by descriptor where the kernel allows it on any descriptor,
/// else through the broker's own `/proc/self/fd` entry for it.
fn act(fd: &OwnedFd, op: &Op) -> Result<(), Errno> {
    let by_entry = |f: &dyn Fn(BorrowedFd<'_>, &CStr) -> Result<(), Errno>| match own_fds() {
        Some(dir) => f(dir, &fd_name(fd)),
        None => Err(Errno::EACCES),
    };
    match op {
        Op::Chmod(mode) => match sys::chmod_held(fd.as_fd(), *mode) {
            Err(Errno::ENOSYS) => by_entry(&|dir, held| sys::chmod(dir, held, *mode)),
            r => r,
        },
        Op::Chown(uid, gid) => sys::chown(fd.as_fd(), *uid, *gid),
        // EINVAL: a kernel without AT_EMPTY_PATH here (or bad times, which
        // the second call reports the same).
        Op::Times(t) => match sys::utimens_held(fd.as_fd(), t.as_ref()) {
            Err(Errno::EINVAL) => by_entry(&|dir, held| sys::utimens(dir, held, t.as_ref())),
            r => r,
        },
        Op::SetXattr { name, value, flags } => sys::setxattr(&proc_path(fd), name, value, *flags),
        Op::RemoveXattr(name) => sys::removexattr(&proc_path(fd), name),
    }
}

/// The held object's type when it is a regular file, a directory or a
/// symlink (the only objects the metadata services change); one fstat.
fn plain_kind(fd: &std::os::fd::OwnedFd) -> Option<libc::mode_t> {
    let st = nix::sys::stat::fstatat(
        std::os::fd::AsFd::as_fd(fd),
        "",
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    )
    .ok()?;
    let kind = st.st_mode & libc::S_IFMT;
    matches!(kind, libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::super::mem::SliceMem;
    use super::{at, plain_kind, Named};

    #[test]
    fn an_empty_path_names_the_descriptor_or_the_working_directory() {
        let m = SliceMem {
            base: 0x1000,
            data: b"\0",
        };
        let empty = libc::AT_EMPTY_PATH as u64;
        let fd = |dirfd: i32| [dirfd as u64, 0x1000, 0, 0, 0, 0];
        assert!(matches!(at(&m, &fd(5), empty), Ok(Named::Fd(5))));
        match at(&m, &fd(libc::AT_FDCWD), empty) {
            Ok(Named::Path { dirfd, path, .. }) => {
                assert_eq!((dirfd, path.as_bytes()), (libc::AT_FDCWD, &b"."[..]));
            }
            other => panic!("{other:?}"),
        }
        // Without AT_EMPTY_PATH an empty path stays a path (ENOENT later).
        assert!(matches!(at(&m, &fd(5), 0), Ok(Named::Path { .. })));
    }
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;

    fn held(p: &std::path::Path) -> std::os::fd::OwnedFd {
        open(p, OFlag::O_PATH | OFlag::O_NOFOLLOW, Mode::empty()).unwrap()
    }

    #[test]
    fn only_files_directories_and_symlinks_are_plain() {
        let d = std::env::temp_dir().join(format!("nono-meta-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let (f, l, fifo) = (d.join("f"), d.join("l"), d.join("p"));
        std::fs::write(&f, "x").unwrap();
        std::os::unix::fs::symlink("/dev/null", &l).unwrap();
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(plain_kind(&held(&f)), Some(libc::S_IFREG));
        assert_eq!(plain_kind(&held(&d)), Some(libc::S_IFDIR));
        assert_eq!(plain_kind(&held(&l)), Some(libc::S_IFLNK));
        assert_eq!(plain_kind(&held(&fifo)), None);
        assert_eq!(plain_kind(&held(std::path::Path::new("/dev/null"))), None);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
