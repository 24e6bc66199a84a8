//! Pathname AF_UNIX sockets: connect, bind and addressed datagrams only to
//! granted sockets. The socket's family and type come from the kernel (a
//! duplicate of the agent's descriptor), never from the agent's memory:
//! calls on non-unix sockets, and on connection-oriented unix sockets where
//! the kernel ignores or refuses an address, continue under the agent's own
//! Landlock rules. Everything else the broker performs itself, on the
//! duplicate, with its own copy of the address: pathname addresses are
//! resolved and judged first and then reached through `/proc/self/fd/N`,
//! so a symlink or rename race cannot redirect them.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use ipc::broker::{WireUnixGrant, WireUnixScope};
use nix::errno::Errno;
use sandbox::seccomp::notify::Brokered;

use super::mem::Mem;
use super::target::{open_named, path_of, Named};
use super::Verdict;
use crate::sys::{self, SockCall};

const fn b(name: &'static str, arg: Option<u32>, why: &'static str) -> Brokered {
    Brokered {
        name,
        generic_nr: None,
        when_arg_nonzero: arg,
        why,
    }
}

pub const SYSCALLS: &[Brokered] = &[
    b("connect", None, "pathname unix sockets only when granted"),
    b("bind", None, "pathname unix sockets only when granted"),
    b("sendto", Some(4), "datagrams with an address"),
    b(
        "sendmsg",
        None,
        "datagrams with an address (msghdr is in memory)",
    ),
    b("sendmmsg", None, "datagrams with addresses"),
];

/// Largest datagram the broker relays.
const MAX_DGRAM: usize = 208 * 1024;
/// Largest sockaddr_un.
const SUN_LEN: usize = 110;

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

/// A socket call of the agent; None when `nr` is not one.
pub fn decide(
    nr: i64,
    pid: u32,
    a: &[u64; 6],
    mem: &Mem,
    grants: &UnixGrants,
    valid: &dyn Fn() -> bool,
) -> Option<Verdict> {
    let op = match nr {
        libc::SYS_connect => "connect",
        libc::SYS_bind => "bind",
        libc::SYS_sendto => "sendto",
        libc::SYS_sendmsg => "sendmsg",
        libc::SYS_sendmmsg => "sendmmsg",
        _ => return None,
    };
    let sock = match sys::borrow_fd(pid, a[0] as i32) {
        Ok(s) => s,
        Err(e) => return Some(Verdict::Reply(Err(e))),
    };
    let domain = sys::sockopt_int(sock.as_fd(), libc::SO_DOMAIN);
    let ty = sys::sockopt_int(sock.as_fd(), libc::SO_TYPE);
    let (Ok(domain), Ok(ty)) = (domain, ty) else {
        return Some(Verdict::Reply(Err(Errno::ENOTSOCK)));
    };
    let addressed_send = matches!(op, "sendto" | "sendmsg" | "sendmmsg");
    // The kernel's own state decides these; the memory cannot change it.
    if domain != libc::AF_UNIX || (addressed_send && ty != libc::SOCK_DGRAM) {
        return Some(Verdict::Continue);
    }
    Some(match op {
        "connect" | "bind" => {
            let addr = match mem.bytes(a[1], (a[2] as usize).min(SUN_LEN)) {
                Ok(x) => x,
                Err(e) => return Some(Verdict::Reply(Err(e))),
            };
            if !valid() {
                return Some(Verdict::Reply(Err(Errno::EINTR)));
            }
            let call = if op == "bind" {
                SockCall::Bind
            } else {
                SockCall::Connect
            };
            addressed(pid, &sock, &addr, call, op, grants)
        }
        "sendto" => {
            let len = (a[2] as usize).min(MAX_DGRAM + 1);
            let (data, addr) = match (
                mem.bytes(a[1], len),
                mem.bytes(a[4], (a[5] as usize).min(SUN_LEN)),
            ) {
                (Ok(d), Ok(x)) => (d, x),
                (Err(e), _) | (_, Err(e)) => return Some(Verdict::Reply(Err(e))),
            };
            if !valid() {
                return Some(Verdict::Reply(Err(Errno::EINTR)));
            }
            if data.len() > MAX_DGRAM {
                return Some(Verdict::Reply(Err(Errno::EMSGSIZE)));
            }
            let flags = a[3] as i32 | libc::MSG_DONTWAIT;
            addressed(
                pid,
                &sock,
                &addr,
                SockCall::SendTo(&data, flags),
                op,
                grants,
            )
        }
        "sendmsg" => sendmsg(pid, &sock, a, mem, grants, valid),
        _ => Verdict::Judged {
            reply: Err(Errno::EPERM),
            op,
            path: "(unix datagram batch)".into(),
            allowed: false,
            why: "batched unix datagrams are not brokered".into(),
        },
    })
}

/// Split a raw sockaddr_un into its sun_path bytes (without the family).
fn sun_path(addr: &[u8]) -> Result<&[u8], Errno> {
    if addr.len() < 2 || u16::from_ne_bytes([addr[0], addr[1]]) != libc::AF_UNIX as u16 {
        return Err(Errno::EINVAL);
    }
    Ok(&addr[2..])
}

fn addressed(
    pid: u32,
    sock: &OwnedFd,
    addr: &[u8],
    call: SockCall<'_>,
    op: &'static str,
    grants: &UnixGrants,
) -> Verdict {
    let raw = match sun_path(addr) {
        Ok(p) => p,
        Err(e) => return Verdict::Reply(Err(e)),
    };
    // Abstract and unnamed addresses: no filesystem object to grant; the
    // broker's own call keeps the Landlock abstract-socket scope in force.
    if raw.is_empty() || raw[0] == 0 {
        return Verdict::Reply(sys::unix_call(sock.as_fd(), raw, call));
    }
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let path = &raw[..end];
    let bind = matches!(call, SockCall::Bind);
    let resolved = if bind {
        resolve_for_bind(pid, path)
    } else {
        resolve_existing(pid, path)
    };
    let (via, shown) = match resolved {
        Ok(x) => x,
        Err((e, shown)) => {
            return Verdict::Judged {
                reply: Err(e),
                op,
                path: shown,
                allowed: false,
                why: e.desc().into(),
            }
        }
    };
    if !grants.allows(Path::new(&shown), bind) {
        return Verdict::Judged {
            reply: Err(Errno::EACCES),
            op,
            path: shown,
            allowed: false,
            why: "not a granted unix socket (--allow-unix-socket and related flags grant it)"
                .into(),
        };
    }
    let reply = sys::unix_call(sock.as_fd(), via.1.as_bytes(), call);
    drop(via.0);
    Verdict::Judged {
        reply,
        op,
        path: shown,
        allowed: true,
        why: String::new(),
    }
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
    let fd = open_named(pid, &named(path, true).map_err(|e| (e, shown.clone()))?)
        .map_err(|e| (e, shown.clone()))?;
    let canon = path_of(&fd).ok_or((Errno::EACCES, shown))?;
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
    let fd = open_named(pid, &named(dir, true).map_err(|e| (e, shown.clone()))?)
        .map_err(|e| (e, shown.clone()))?;
    let canon = path_of(&fd).ok_or((Errno::EACCES, shown))?;
    let name = String::from_utf8_lossy(name).into_owned();
    let via = format!("/proc/self/fd/{}/{name}", fd.as_raw_fd());
    Ok(((fd, via), canon.join(name).display().to_string()))
}

/// sendmsg on an unconnected-or-connected unix datagram socket: the
/// broker gathers the data and sends it itself (no ancillary data).
fn sendmsg(
    pid: u32,
    sock: &OwnedFd,
    a: &[u64; 6],
    mem: &Mem,
    grants: &UnixGrants,
    valid: &dyn Fn() -> bool,
) -> Verdict {
    let read = || -> Result<(Vec<u8>, Vec<u8>, bool), Errno> {
        // struct msghdr: name, namelen(+pad), iov, iovlen, control, controllen, flags
        let [name, namelen, iov, iovlen, _control, controllen, _] = mem.u64s::<7>(a[1])?;
        let namelen = namelen & 0xffff_ffff;
        let addr = if name == 0 || namelen == 0 {
            Vec::new()
        } else {
            mem.bytes(name, (namelen as usize).min(SUN_LEN))?
        };
        if iovlen > 1024 {
            return Err(Errno::EMSGSIZE);
        }
        let mut data = Vec::new();
        for i in 0..iovlen {
            let [base, len] = mem.u64s::<2>(iov + 16 * i)?;
            if data.len() + len as usize > MAX_DGRAM {
                return Err(Errno::EMSGSIZE);
            }
            data.extend(mem.bytes(base, len as usize)?);
        }
        Ok((addr, data, controllen != 0))
    };
    let (addr, data, control) = match read() {
        Ok(x) => x,
        Err(e) => return Verdict::Reply(Err(e)),
    };
    if !valid() {
        return Verdict::Reply(Err(Errno::EINTR));
    }
    let flags = a[2] as i32 | libc::MSG_DONTWAIT;
    if control {
        return Verdict::Judged {
            reply: Err(Errno::EPERM),
            op: "sendmsg",
            path: "(ancillary data on a unix datagram socket)".into(),
            allowed: false,
            why: "ancillary data on unix datagrams is not brokered".into(),
        };
    }
    if addr.is_empty() {
        return Verdict::Reply(sys::send(sock.as_fd(), &data, flags));
    }
    addressed(
        pid,
        sock,
        &addr,
        SockCall::SendTo(&data, flags),
        "sendmsg",
        grants,
    )
}
