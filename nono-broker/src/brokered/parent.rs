//! Expanded directories: a granted directory that contains a protected
//! path (`~` around `~/.ssh`) has no Landlock rule of its own, since a rule
//! on it would reach the protected path too. So the agent can neither list
//! it nor create anything directly in it. The broker makes it usable, and
//! never widens a rule of the agent's:
//! - a read-only open of the directory itself: the broker opens it and
//!   injects the descriptor (the listing shows every name in it, protected
//!   ones included; opening those still goes to the agent's Landlock
//!   domain, which denies them);
//! - a creation (`open` with O_CREAT, `mkdir`) of a direct child that does
//!   not exist and is not protected, when the grant writes: the broker
//!   creates it (O_EXCL, no links followed) and injects the descriptor or
//!   answers 0;
//! - later opens, mkdirs, unlinks and rmdirs of the children it created,
//!   and of anything beneath them, with the directory's own grant (Landlock
//!   rules are fixed at seal time, so the agent has no rule for them);
//! - renames into a new (or created) direct child or beneath a created
//!   one, from what it created or from inside a write grant, never over an
//!   entry from launch, never touching a protected path.
//!
//! Decide and act on the same object: the broker judges the path it built
//! from its copy of the agent's path and the kernel's name for its own
//! duplicate of the agent's directory, and acts on *its own* descriptor of
//! the expanded directory with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` and the judged relative
//! path (`renameat2`, `mkdirat`, `unlinkat` likewise), never on the agent's
//! path or descriptor. Paths with `..` and
//! everything else are continued: the agent's own Landlock domain decides,
//! which never grants more than its rules.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use nix::errno::Errno;
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use super::beneath::{
    create_file, make_dir, mkdir_beneath, parent_fd, remove, remove_beneath, reopen,
};
use super::target::{path_of, start_dir};
use super::{Grants, Verdict};

/// What the agent named: its directory descriptor (or AT_FDCWD) and path.
type Named = (i32, Vec<u8>);

/// One expanded directory, held by the broker.
#[derive(Debug)]
struct Dir {
    path: PathBuf,
    /// The broker's own `O_PATH` descriptor of it, opened at start.
    fd: OwnedFd,
    reads: bool,
    writes: bool,
}

/// The expanded directories of a session, their protected paths and the
/// children the broker created in them.
#[derive(Debug)]
pub struct Parents {
    dirs: Vec<Dir>,
    protected: Vec<(PathBuf, bool)>,
    /// Direct children of an expanded directory created by the broker:
    /// they and everything beneath them are served with its grant.
    created: Mutex<HashSet<PathBuf>>,
}

/// Where a judged path lies in its expanded directory.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    /// The directory itself.
    Itself,
    /// A direct child.
    Child,
    /// Deeper, beneath the direct child `first`.
    Beneath(PathBuf),
}

fn path_of_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}

impl Parents {
    /// From the wire: each directory opened `O_PATH` now (one that vanished
    /// since the front end listed it is skipped: that only narrows).
    pub fn of(w: &ipc::broker::WireParents) -> Parents {
        use ipc::broker::WireAccess;
        let dirs = w
            .dirs
            .iter()
            .filter_map(|(p, access)| {
                let path = path_of_bytes(p);
                let fd = open(
                    &path,
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .ok()?;
                Some(Dir {
                    path,
                    fd,
                    reads: *access != WireAccess::Write,
                    writes: *access != WireAccess::Read,
                })
            })
            .collect();
        Parents {
            dirs,
            protected: w
                .protected
                .iter()
                .map(|(p, w)| (path_of_bytes(p), *w))
                .collect(),
            created: Mutex::new(HashSet::new()),
        }
    }

    /// `t` is a protected path or beneath one (for this access).
    fn guarded(&self, t: &Path, writes: bool) -> bool {
        self.protected
            .iter()
            .any(|(q, write_only)| (writes || !write_only) && t.starts_with(q))
    }

    fn was_created(&self, child: &Path) -> bool {
        let list = self.created.lock().unwrap_or_else(PoisonError::into_inner);
        list.contains(child)
    }

    fn remember(&self, child: PathBuf) {
        let mut list = self.created.lock().unwrap_or_else(PoisonError::into_inner);
        list.insert(child);
    }

    /// The innermost expanded directory holding `abs`, the path relative
    /// to it and its shape; None when the broker does not serve it.
    fn locate(&self, abs: &Path) -> Option<(&Dir, PathBuf, Shape)> {
        let dir = self
            .dirs
            .iter()
            .filter(|d| abs.starts_with(&d.path))
            .max_by_key(|d| d.path.as_os_str().len())?;
        let rel = abs.strip_prefix(&dir.path).ok()?.to_path_buf();
        let mut parts = rel.components();
        let shape = match (parts.next(), parts.next()) {
            (None, _) => Shape::Itself,
            (Some(_), None) => Shape::Child,
            (Some(Component::Normal(first)), Some(_)) => {
                let child = dir.path.join(first);
                if !self.was_created(&child) {
                    return None;
                }
                Shape::Beneath(child)
            }
            _ => return None,
        };
        Some((dir, rel, shape))
    }

    /// An open the agent made: Some(verdict) when the broker serves it,
    /// None to continue (Landlock decides).
    pub(crate) fn open(
        &self,
        tid: u32,
        (dirfd, path, flags, mode): (i32, &[u8], i32, u32),
    ) -> Option<Verdict> {
        let tmpfile = libc::O_TMPFILE & !libc::O_DIRECTORY;
        if flags & (libc::O_PATH | tmpfile) != 0 {
            return None;
        }
        let creates = flags & libc::O_CREAT != 0;
        if creates && names_a_directory(path) {
            return None;
        }
        let abs = judged_path(tid, dirfd, path)?;
        let (dir, rel, shape) = self.locate(&abs)?;
        let (reads, writes) = access(flags);
        if (reads && !dir.reads) || (writes && !dir.writes) || self.guarded(&abs, writes) {
            return None;
        }
        let cloexec = flags & libc::O_CLOEXEC != 0;
        // A symbolic link on the way: the broker never follows one, the
        // kernel may, and Landlock decides where it leads.
        let served = |fd: Result<OwnedFd, Errno>| match fd {
            Ok(fd) => Some(Verdict::Served(fd, cloexec)),
            Err(Errno::ELOOP) => None,
            Err(e) => Some(Verdict::Reply(Err(e))),
        };
        // The umask is read only for a creation.
        let mode = if creates { exact(tid, mode) } else { 0 };
        match shape {
            Shape::Itself if writes => None,
            Shape::Itself => served(reopen(dir.fd.as_fd(), Path::new("."), flags, 0)),
            Shape::Child if self.was_created(&abs) => {
                served(reopen(dir.fd.as_fd(), &rel, flags, mode))
            }
            Shape::Child if creates => match create_file(dir.fd.as_fd(), &rel, flags, mode) {
                Ok(fd) => {
                    self.remember(abs);
                    Some(Verdict::Served(fd, cloexec))
                }
                // An entry from launch (or a link): Landlock decides.
                Err(Errno::EEXIST) => None,
                Err(e) => Some(Verdict::Reply(Err(e))),
            },
            Shape::Child => None,
            Shape::Beneath(_) => served(reopen(dir.fd.as_fd(), &rel, flags, mode)),
        }
    }

    /// A mkdir the agent made: Some(verdict) when the broker serves it.
    pub(crate) fn mkdir(
        &self,
        tid: u32,
        (dirfd, path, mode): (i32, &[u8], u32),
    ) -> Option<Verdict> {
        let abs = judged_path(tid, dirfd, path)?;
        let (dir, rel, shape) = self.locate(&abs)?;
        if !dir.writes || self.guarded(&abs, true) {
            return None;
        }
        let mode = exact(tid, mode);
        match shape {
            Shape::Itself => None,
            // It exists already (EEXIST): the kernel says so itself.
            Shape::Child if self.was_created(&abs) => None,
            Shape::Child => match make_dir(dir.fd.as_fd(), &rel, mode) {
                Ok(()) => {
                    self.remember(abs);
                    Some(Verdict::Reply(Ok(0)))
                }
                Err(Errno::EEXIST) => None,
                Err(e) => Some(Verdict::Reply(Err(e))),
            },
            Shape::Beneath(_) => replied(mkdir_beneath(dir.fd.as_fd(), &rel, mode)),
        }
    }
}

impl Parents {
    /// An unlink or rmdir: served only for what the broker created (and
    /// what lies beneath it).
    pub(crate) fn unlink(
        &self,
        tid: u32,
        (dirfd, path, flags): (i32, &[u8], i32),
    ) -> Option<Verdict> {
        let flags = flags & libc::AT_REMOVEDIR;
        if flags == 0 && names_a_directory(path) {
            return None; // the kernel's ENOTDIR, not a removal of the file
        }
        let abs = judged_path(tid, dirfd, path)?;
        let (dir, rel, shape) = self.locate(&abs)?;
        if !dir.writes || self.guarded(&abs, true) {
            return None;
        }
        match shape {
            Shape::Child if self.was_created(&abs) => {
                let r = remove(dir.fd.as_fd(), &rel, flags);
                if r.is_ok() {
                    self.forget(&abs);
                }
                Some(Verdict::Reply(r.map(|()| 0)))
            }
            Shape::Itself | Shape::Child => None,
            Shape::Beneath(_) => replied(remove_beneath(dir.fd.as_fd(), &rel, flags)),
        }
    }

    /// `p` (the kernel's path of an object the broker holds) is something
    /// it created in a writable expanded directory, or lies beneath one:
    /// metadata changes there are the agent's as in a write grant.
    pub(crate) fn created_writable(&self, p: &Path) -> bool {
        let Some((dir, _, shape)) = self.locate(p) else {
            return false;
        };
        let served = match shape {
            Shape::Child => self.was_created(p),
            Shape::Beneath(_) => true,
            Shape::Itself => false,
        };
        served && dir.writes && !self.guarded(p, true)
    }

    fn forget(&self, child: &Path) {
        let mut list = self.created.lock().unwrap_or_else(PoisonError::into_inner);
        list.remove(child);
    }
}

impl Parents {
    /// `t` is a protected path, beneath one, or holds one (a rename moves
    /// whole trees).
    fn touches(&self, t: &Path) -> bool {
        self.protected
            .iter()
            .any(|(q, _)| t.starts_with(q) || q.starts_with(t))
    }

    /// A rename into an expanded directory: the destination a direct child
    /// that is new (or one the broker created) or beneath one it created;
    /// the source one it created (or beneath one), or inside a write grant.
    /// Neither side touches a protected path.
    pub(crate) fn rename(
        &self,
        tid: u32,
        (from, to, flags): (&Named, &Named, u32),
        g: &Grants,
    ) -> Option<Verdict> {
        if flags & !libc::RENAME_NOREPLACE != 0
            || names_a_directory(&from.1)
            || names_a_directory(&to.1)
        {
            return None;
        }
        let dst = judged_path(tid, to.0, &to.1)?;
        let (dir, rel, shape) = self.locate(&dst)?;
        if !dir.writes || shape == Shape::Itself || self.touches(&dst) {
            return None;
        }
        let src = judged_path(tid, from.0, &from.1)?;
        if self.touches(&src) {
            return None;
        }
        let (src_at, src_leaf, src_created) = self.source(&src, g)?;
        let (dst_at, dst_leaf) = parent_fd(dir.fd.as_fd(), &rel).ok()?;
        // Never over an entry the broker did not make (Landlock's).
        let replaces = shape != Shape::Child || self.was_created(&dst);
        let mut f =
            flags & (libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE | libc::RENAME_WHITEOUT);
        if !replaces {
            f |= libc::RENAME_NOREPLACE;
        }
        match crate::sys::renameat2(src_at.as_fd(), &src_leaf, dst_at.as_fd(), &dst_leaf, f) {
            Ok(()) => {
                if let Some(c) = src_created {
                    self.forget(&c);
                }
                if shape == Shape::Child {
                    self.remember(dst);
                }
                Some(Verdict::Reply(Ok(0)))
            }
            Err(Errno::EEXIST) if !replaces && flags & libc::RENAME_NOREPLACE == 0 => None,
            Err(e) => Some(Verdict::Reply(Err(e))),
        }
    }

    /// The source's parent (the broker's own descriptor), its last
    /// component, and the created child it was, if it was one.
    fn source(&self, src: &Path, g: &Grants) -> Option<(OwnedFd, PathBuf, Option<PathBuf>)> {
        if let Some((dir, rel, shape)) = self.locate(src) {
            let created = match shape {
                Shape::Child if self.was_created(src) => Some(src.to_path_buf()),
                Shape::Beneath(_) => None,
                Shape::Child | Shape::Itself => return None,
            };
            let (at, leaf) = parent_fd(dir.fd.as_fd(), &rel).ok()?;
            return Some((at, leaf, created));
        }
        let parent = src.parent()?;
        if !g.writable(src) || !g.writable(parent) {
            return None;
        }
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let root = open("/", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
        let at = openat2(root.as_fd(), parent.strip_prefix("/").ok()?, how).ok()?;
        Some((at, PathBuf::from(src.file_name()?), None))
    }
}

/// The answer to a served call; a symbolic link on the way (ELOOP) is
/// the kernel's to follow, under Landlock.
fn replied(r: Result<(), Errno>) -> Option<Verdict> {
    match r {
        Err(Errno::ELOOP) => None,
        r => Some(Verdict::Reply(r.map(|()| 0))),
    }
}

impl Parents {
    /// A symbolic link made directly in an expanded directory (a new,
    /// non-protected name) or beneath a child it created. The broker never
    /// follows it; opens through it are the kernel's, under Landlock.
    pub(crate) fn symlink(&self, tid: u32, target: &[u8], at: &Named) -> Option<Verdict> {
        if names_a_directory(&at.1) {
            return None;
        }
        let abs = judged_path(tid, at.0, &at.1)?;
        let (dir, rel, shape) = self.locate(&abs)?;
        if !dir.writes || self.touches(&abs) {
            return None;
        }
        let target = Path::new(OsStr::from_bytes(target));
        match shape {
            Shape::Itself => None,
            Shape::Child if self.was_created(&abs) => None,
            Shape::Child => match nix::unistd::symlinkat(target, dir.fd.as_fd(), &rel) {
                Ok(()) => {
                    self.remember(abs);
                    Some(Verdict::Reply(Ok(0)))
                }
                Err(Errno::EEXIST) => None,
                Err(e) => Some(Verdict::Reply(Err(e))),
            },
            Shape::Beneath(_) => replied(
                parent_fd(dir.fd.as_fd(), &rel)
                    .and_then(|(at, leaf)| nix::unistd::symlinkat(target, at.as_fd(), &leaf)),
            ),
        }
    }
}

/// (reads, writes) an open needs; creating and truncating write.
fn access(flags: i32) -> (bool, bool) {
    let acc = flags & sandbox::abi::O_ACCMODE;
    let writes = acc != libc::O_RDONLY || flags & (libc::O_CREAT | libc::O_TRUNC) != 0;
    (acc != libc::O_WRONLY, writes)
}

/// The absolute path the agent named, built from the broker's copy of its
/// path and the kernel's name for the broker's own duplicate of its
/// starting directory. None (continue) for `..`, an empty path, or a
/// start the broker cannot name.
fn judged_path(tid: u32, dirfd: i32, path: &[u8]) -> Option<PathBuf> {
    let rel = Path::new(OsStr::from_bytes(path));
    if path.is_empty() || rel.components().any(|c| c == Component::ParentDir) {
        return None;
    }
    let base = if path.first() == Some(&b'/') {
        PathBuf::from("/")
    } else {
        let held = open(
            start_dir(tid, dirfd, path).as_str(),
            OFlag::O_PATH | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        path_of(&held)?
    };
    let mut abs = base;
    for c in rel.components() {
        if let Component::Normal(x) = c {
            abs.push(x);
        }
    }
    Some(abs)
}

/// Whether a path ends in `/` or `/.` (or is `.`): the kernel then wants
/// a directory, which the broker's own path (its components, where those
/// endings vanish) would not say. Such calls are left to the kernel.
fn names_a_directory(path: &[u8]) -> bool {
    path.ends_with(b"/") || path.ends_with(b"/.") || path == b"."
}

/// The mode a creation gets: the agent's, less its umask (read from
/// `/proc/<tid>/status`; 077 when unreadable, so that nothing is made
/// more open than the agent asked).
fn exact(tid: u32, mode: u32) -> u32 {
    let umask = std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o077);
    mode & 0o7777 & !umask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parents(root: &Path) -> Parents {
        Parents::of(&ipc::broker::WireParents {
            dirs: vec![(
                root.as_os_str().as_bytes().to_vec(),
                ipc::broker::WireAccess::ReadWrite,
            )],
            protected: vec![
                (root.join(".ssh").as_os_str().as_bytes().to_vec(), false),
                (root.join(".bashrc").as_os_str().as_bytes().to_vec(), true),
                (
                    root.join(".config/gcloud").as_os_str().as_bytes().to_vec(),
                    false,
                ),
            ],
        })
    }

    #[test]
    fn shapes_and_protection() {
        let d = std::env::temp_dir().join(format!("nono-parent-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let d = std::fs::canonicalize(&d).unwrap();
        let p = parents(&d);
        assert_eq!(p.locate(&d).map(|x| x.2), Some(Shape::Itself));
        assert_eq!(p.locate(&d.join("a")).map(|x| x.2), Some(Shape::Child));
        // Beneath a child the broker did not create: not served.
        assert!(p.locate(&d.join("a/b")).is_none());
        p.remember(d.join("a"));
        assert_eq!(
            p.locate(&d.join("a/b")).map(|x| x.2),
            Some(Shape::Beneath(d.join("a")))
        );
        assert!(p.guarded(&d.join(".ssh"), false));
        assert!(p.guarded(&d.join(".ssh/authorized_keys"), true));
        assert!(!p.guarded(&d.join(".bashrc"), false));
        assert!(p.guarded(&d.join(".bashrc"), true));
        assert!(p.guarded(&d.join(".config/gcloud/x"), true));
        assert!(!p.guarded(&d.join(".config"), true));
        assert!(!p.guarded(&d, false));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn access_of_flags() {
        assert_eq!(access(libc::O_RDONLY), (true, false));
        assert_eq!(access(libc::O_RDONLY | libc::O_CREAT), (true, true));
        assert_eq!(access(libc::O_WRONLY), (false, true));
        assert_eq!(access(libc::O_RDWR | libc::O_TRUNC), (true, true));
    }
}
