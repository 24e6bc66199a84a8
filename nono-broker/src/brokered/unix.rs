//! Pathname AF_UNIX addresses: which sockets the agent may reach. The
//! address is the broker's own copy; the path is resolved by the broker
//! (as the agent would see it: its cwd and root) to the object it names,
//! judged by the kernel's name for that object, and handed back as a
//! `/proc/self/fd/N` address of the held object, so a symlink or rename
//! race cannot redirect the call the broker then makes (`sock.rs`).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use ipc::broker::{BrokeredReason, WireUnixGrant, WireUnixScope};
use nix::errno::Errno;

use super::target::{hold, Held, Named};

#[derive(Debug, Clone)]
pub struct UnixGrants(Vec<(PathBuf, WireUnixScope, bool)>);

impl UnixGrants {
    pub fn of(w: &[WireUnixGrant]) -> UnixGrants {
        use std::os::unix::ffi::OsStrExt;
        UnixGrants(
            w.iter()
                .map(|g| {
                    (
                        PathBuf::from(std::ffi::OsStr::from_bytes(&g.path)),
                        g.scope,
                        g.bind,
                    )
                })
                .collect(),
        )
    }

    pub fn allows(&self, p: &Path, bind: bool) -> bool {
        self.0
            .iter()
            .filter(|(_, _, b)| *b || !bind)
            .any(|(g, scope, _)| match scope {
                WireUnixScope::Socket => p == g,
                WireUnixScope::Dir => p.parent() == Some(g.as_path()),
                WireUnixScope::Subtree => p.starts_with(g),
            })
    }
}

/// What a unix address names, for the broker's call.
pub enum Resolved {
    /// Abstract, unnamed or not AF_UNIX at all: no filesystem object to
    /// grant. The broker's call keeps the Landlock abstract-socket scope
    /// (and the kernel's own checks) in force.
    NotAPath,
    /// A granted socket: call with `addr`, keep `hold` open until then.
    Granted {
        addr: Vec<u8>,
        hold: OwnedFd,
        shown: String,
    },
    Refused {
        errno: Errno,
        shown: String,
        why: BrokeredReason,
    },
}

/// Judge the raw address `addr` (the broker's copy) for thread `tid`.
pub fn resolve(tid: u32, addr: &[u8], bind: bool, grants: &UnixGrants) -> Resolved {
    let Ok(raw) = sun_path(addr) else {
        return Resolved::NotAPath;
    };
    if raw.is_empty() || raw[0] == 0 {
        return Resolved::NotAPath;
    }
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let path = &raw[..end];
    let resolved = if bind {
        resolve_for_bind(tid, path)
    } else {
        resolve_existing(tid, path)
    };
    let ((hold, via), shown) = match resolved {
        Ok(x) => x,
        Err((errno, shown)) => {
            return Resolved::Refused {
                errno,
                shown,
                why: BrokeredReason::Errno(errno as i32),
            }
        }
    };
    if !grants.allows(Path::new(&shown), bind) {
        return Resolved::Refused {
            errno: Errno::EACCES,
            shown,
            why: BrokeredReason::UnixSocketNotGranted,
        };
    }
    match sockaddr_un(via.as_bytes()) {
        Ok(addr) => Resolved::Granted { addr, hold, shown },
        Err(errno) => Resolved::Refused {
            errno,
            why: BrokeredReason::UnixPathTooLong,
            shown,
        },
    }
}

/// Raw sockaddr_un bytes for `path` (family + path + NUL).
fn sockaddr_un(path: &[u8]) -> Result<Vec<u8>, Errno> {
    const SUN_PATH: usize = 108;
    if path.len() >= SUN_PATH {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(path);
    v.push(0);
    Ok(v)
}

/// Split a raw sockaddr_un into its sun_path bytes (without the family).
fn sun_path(addr: &[u8]) -> Result<&[u8], Errno> {
    if addr.len() < 2 || u16::from_ne_bytes([addr[0], addr[1]]) != libc::AF_UNIX as u16 {
        return Err(Errno::EINVAL);
    }
    Ok(&addr[2..])
}

type Via = (OwnedFd, String);

fn named(path: &[u8], follow: bool) -> Result<Named, Errno> {
    Ok(Named::Path {
        dirfd: libc::AT_FDCWD,
        path: std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?,
        follow,
    })
}

/// connect/sendto: the socket object itself (symlinks followed, as the
/// kernel would), reached through `/proc/self/fd/N`.
fn resolve_existing(pid: u32, path: &[u8]) -> Result<(Via, String), (Errno, String)> {
    let shown = String::from_utf8_lossy(path).into_owned();
    let Held { fd, path } = hold(pid, &named(path, true).map_err(|e| (e, shown.clone()))?)
        .map_err(|e| (e, shown.clone()))?;
    let canon = path.ok_or((Errno::EACCES, shown))?;
    let via = format!("/proc/self/fd/{}", fd.as_raw_fd());
    Ok(((fd, via), canon.display().to_string()))
}

/// bind: the parent directory (resolved and held), plus the new name.
fn resolve_for_bind(pid: u32, path: &[u8]) -> Result<(Via, String), (Errno, String)> {
    let shown = String::from_utf8_lossy(path).into_owned();
    let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (&b"/"[..], &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b"."[..], path),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err((Errno::EINVAL, shown));
    }
    let Held { fd, path: canon } = hold(pid, &named(dir, true).map_err(|e| (e, shown.clone()))?)
        .map_err(|e| (e, shown.clone()))?;
    let canon = canon.ok_or((Errno::EACCES, shown))?;
    let name = String::from_utf8_lossy(name).into_owned();
    let via = format!("/proc/self/fd/{}/{name}", fd.as_raw_fd());
    Ok(((fd, via), canon.join(name).display().to_string()))
}
