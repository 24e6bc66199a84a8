//! Capability elevation: opens beyond the grants are put to the user (via
//! the front end) and, when approved, performed by the broker, which
//! injects the descriptor (SECCOMP_IOCTL_NOTIF_ADDFD). Opens inside the
//! grants continue under the agent's own Landlock rules (whatever the
//! memory says by then, Landlock decides). Protected paths, `/proc`,
//! `/sys` and `/dev` are never elevated; symbolic links are not followed
//! for an elevated open (a link inside a grant cannot lead to a protected
//! file), and the object actually opened is checked again.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use ipc::broker::{BrokeredReason, WireAccess};
use nix::errno::Errno;
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use super::dirs;
use super::target::path_of;
use super::{Grants, Verdict};

/// Never elevated: kernel interfaces and devices.
const NEVER: &[&str] = &["/proc", "/sys", "/dev"];

/// Protected paths, from the front end (canonical; `true` = writes only).
#[derive(Debug, Clone, Default)]
pub struct Protected(pub Vec<(PathBuf, bool)>);

impl Protected {
    fn hit(&self, p: &Path, writes: bool) -> bool {
        self.0.iter().any(|(q, write_only)| {
            (writes || !write_only) && (p.starts_with(q) || q.starts_with(p))
        })
    }
}

/// `a/b/../c` → `a/c` without touching the filesystem.
fn lexical(base: &Path, rel: &Path) -> PathBuf {
    // Sized once: one allocation per open, not a join and a regrowth.
    let mut out = PathBuf::with_capacity(base.as_os_str().len() + rel.as_os_str().len() + 2);
    out.push("/");
    // `base.join(rel)`'s components, without building the joined path (an
    // absolute `rel` replaces `base`, as in join).
    let start = if rel.is_absolute() { None } else { Some(base) };
    for c in start
        .into_iter()
        .flat_map(Path::components)
        .chain(rel.components())
    {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(x) => out.push(x),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Where the agent's relative path starts (absolute: `/`). None: the
/// start has no path (a deleted directory, not a directory, not open).
fn base(pid: u32, dirfd: i32, path: &[u8]) -> Option<PathBuf> {
    if path.first() == Some(&b'/') {
        return Some(PathBuf::from("/"));
    }
    dirs::start(pid, dirfd)
}

fn access(flags: i32) -> (bool, bool, WireAccess) {
    let w = flags & (libc::O_TRUNC | libc::O_CREAT) != 0;
    match flags & sandbox::abi::O_ACCMODE {
        libc::O_WRONLY => (false, true, WireAccess::Write),
        // Mode 3 (ioctls only: an openat2 can still ask for it) needs both
        // permissions from the kernel: judged as read-write.
        libc::O_RDWR | sandbox::abi::O_ACCMODE => (true, true, WireAccess::ReadWrite),
        _ if w => (true, true, WireAccess::ReadWrite),
        _ => (true, false, WireAccess::Read),
    }
}

pub enum Ask<'a> {
    /// Ask the front end (true = approved), once the notification is
    /// known to be still pending (the second closure).
    Front(
        &'a mut dyn FnMut(&str, WireAccess) -> bool,
        &'a dyn Fn() -> bool,
    ),
}

/// Judge an open the agent made (already copied; not yet known to be still
/// pending). None: the notification is gone, nothing to answer.
///
/// Every verdict but CONTINUE is reached only after the notification was
/// found still pending, so the copy was the calling task's: CONTINUE alone
/// needs no check, as the kernel re-reads the call and Landlock decides.
pub fn decide(
    pid: u32,
    (dirfd, path, flags): (i32, Vec<u8>, i32),
    grants: &Grants,
    protected: &Protected,
    ask: Ask<'_>,
) -> Option<Verdict> {
    let Some(beyond) = beyond_grants(pid, (dirfd, &path), flags, grants) else {
        return Some(Verdict::Continue);
    };
    let Ask::Front(ask, valid) = ask;
    if !valid() {
        return None;
    }
    Some(elevate(beyond, flags, protected, ask))
}

/// An open outside the grants, named by where it is now.
struct Beyond {
    /// The path as the agent named it (its start resolved, `..` lexically).
    abs: PathBuf,
    /// What it resolves to.
    canon: PathBuf,
    writes: bool,
    what: WireAccess,
}

/// None: the kernel decides (Landlock), with nothing to elevate — an
/// `O_PATH` open, a start with no path, a path inside the grants (as
/// named or once resolved), a missing object.
fn beyond_grants(
    pid: u32,
    (dirfd, path): (i32, &[u8]),
    flags: i32,
    grants: &Grants,
) -> Option<Beyond> {
    // O_PATH opens grant nothing beyond what Landlock already checks.
    if flags & libc::O_PATH != 0 {
        return None;
    }
    let start = base(pid, dirfd, path)?;
    let rel = Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path));
    let (reads, writes, what) = access(flags);
    let kernel_decides =
        |p: &Path| NEVER.iter().any(|n| p.starts_with(n)) || grants.covers(p, reads, writes);
    let abs = lexical(&start, rel);
    if kernel_decides(&abs) {
        return None;
    }
    // Missing objects (loader probes, O_CREAT outside the grants) and
    // paths whose real location is granted: Landlock decides.
    let canon = std::fs::canonicalize(&abs).ok()?;
    if kernel_decides(&canon) {
        return None;
    }
    Some(Beyond {
        abs,
        canon,
        writes,
        what,
    })
}

/// Refuse a protected path, else ask, else open it for the agent.
fn elevate(
    b: Beyond,
    flags: i32,
    protected: &Protected,
    ask: &mut dyn FnMut(&str, WireAccess) -> bool,
) -> Verdict {
    let shown = b.canon.display().to_string();
    let what = b.what;
    let judged = |reply, allowed, why: BrokeredReason| Verdict::Judged {
        reply,
        op: "open",
        path: format!("{shown} ({what})"),
        allowed,
        why,
    };
    if protected.hit(&b.abs, b.writes) || protected.hit(&b.canon, b.writes) {
        return judged(Err(Errno::EACCES), false, BrokeredReason::Protected);
    }
    if !ask(&shown, what) {
        return judged(Err(Errno::EACCES), false, BrokeredReason::NotApproved);
    }
    match open_elevated(&b.canon, flags, protected, b.writes) {
        Ok(fd) => Verdict::Inject(
            fd,
            flags & libc::O_CLOEXEC != 0,
            format!("{shown} ({what})"),
        ),
        Err((e, why)) => judged(Err(e), false, why),
    }
}

/// Open `abs` for the agent: no symlinks, not protected, then with its flags.
fn open_elevated(
    abs: &Path,
    flags: i32,
    protected: &Protected,
    writes: bool,
) -> Result<OwnedFd, (Errno, BrokeredReason)> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let root = open("/", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| (e, "cannot open /".into()))?;
    let rel = abs.strip_prefix("/").unwrap_or(abs);
    let held = openat2(root.as_fd(), rel, how).map_err(|e| match e {
        Errno::ELOOP => (
            Errno::EACCES,
            "symbolic links are not followed for elevated opens".into(),
        ),
        e => (e, "cannot open".into()),
    })?;
    let real = path_of(&held).ok_or((Errno::EACCES, "object has no path".into()))?;
    if protected.hit(&real, writes) || NEVER.iter().any(|n| real.starts_with(n)) {
        return Err((Errno::EACCES, BrokeredReason::Protected));
    }
    let keep = sandbox::abi::O_ACCMODE
        | libc::O_APPEND
        | libc::O_TRUNC
        | libc::O_NONBLOCK
        | libc::O_DIRECTORY
        | libc::O_NOATIME
        | libc::O_SYNC
        | libc::O_DSYNC
        | sandbox::abi::O_LARGEFILE;
    let reopen = OFlag::from_bits_truncate(flags & keep) | OFlag::O_CLOEXEC;
    use std::os::fd::AsRawFd;
    open(
        format!("/proc/self/fd/{}", held.as_raw_fd()).as_str(),
        reopen,
        Mode::empty(),
    )
    .map_err(|e| (e, "cannot open".into()))
}

#[cfg(test)]
mod tests {
    use super::lexical;
    use std::path::Path;

    #[test]
    fn lexical_is_join_then_dots_resolved() {
        for (base, rel, want) in [
            ("/a/b", "c", "/a/b/c"),
            ("/a/b", "../c", "/a/c"),
            ("/a/b", "./c/./d", "/a/b/c/d"),
            ("/a/b", "/x/../y", "/y"),
            ("/", "../../..", "/"),
            ("/a", "", "/a"),
            ("/a/b", "c/", "/a/b/c"),
        ] {
            assert_eq!(
                lexical(Path::new(base), Path::new(rel)),
                Path::new(want),
                "{base} + {rel}"
            );
        }
    }
}
