//! Proxy-mode containment: a network namespace holding only a loopback
//! interface, entered by the broker before it confines itself (the agent
//! it forks shares it), and the listening socket the proxy will accept on
//! from outside. Unprivileged, a user namespace comes with it, mapping
//! only the caller's own uid and gid.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getegid, geteuid};

use crate::sys;

fn write_proc(file: &str, content: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/{file}"))
        .and_then(|mut f| f.write_all(content.as_bytes()))
        .map_err(|e| format!("cannot write /proc/self/{file}: {e}"))
}

fn enter() -> Result<(), String> {
    if geteuid().is_root() {
        match unshare(CloneFlags::CLONE_NEWNET) {
            Ok(()) => return Ok(()),
            Err(Errno::EPERM) => {} // root without CAP_SYS_ADMIN: as unprivileged
            Err(e) => return Err(format!("cannot create a network namespace: {e}")),
        }
    }
    let (uid, gid) = (geteuid(), getegid());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot create user and network namespaces: {e}"))?;
    // A non-dumpable process's /proc/self files belong to root, so the
    // maps cannot be written; be dumpable just for these writes (the broker
    // holds nothing but its channel yet: credentials come after Launch).
    let dumpable = |on: bool| {
        nix::sys::prctl::set_dumpable(on).map_err(|e| format!("prctl(PR_SET_DUMPABLE): {e}"))
    };
    dumpable(true)?;
    let written = write_proc("setgroups", "deny")
        .and_then(|()| write_proc("uid_map", &format!("{uid} {uid} 1\n")))
        .and_then(|()| write_proc("gid_map", &format!("{gid} {gid} 1\n")));
    dumpable(false)?;
    written
}

/// Enter the namespace, bring `lo` up, listen on each of `forwards` (an
/// IPv6 address is skipped when the namespace has no IPv6) and then on
/// 127.0.0.1:`port` for the proxy (binding the forwards first keeps an
/// ephemeral proxy port off them).
pub fn contain(
    port: u16,
    forwards: &[SocketAddr],
) -> Result<(TcpListener, Vec<(SocketAddr, TcpListener)>), String> {
    enter()?;
    sys::loopback_up().map_err(|e| format!("cannot bring up loopback: {e}"))?;
    let mut bound = Vec::new();
    for at in forwards {
        match TcpListener::bind(at) {
            Ok(l) => bound.push((*at, l)),
            Err(e) if at.is_ipv6() && e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {}
            Err(e) => {
                return Err(format!(
                    "cannot listen on {at} for the allowed destination: {e}"
                ))
            }
        }
    }
    let proxy = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} for the proxy: {e}"))?;
    Ok((proxy, bound))
}
