//! Proxy-mode containment: a network namespace holding only a loopback
//! interface, entered by the broker before it confines itself (the agent
//! it forks shares it), and the listening socket the proxy will accept on
//! from outside. Unprivileged, a user namespace comes with it, mapping
//! only the caller's own uid and gid.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};

use nix::sched::CloneFlags;

use crate::sys;

/// Enter the namespace, bring `lo` up, listen on each of `forwards` (an
/// IPv6 address is skipped when the namespace has no IPv6) and then on
/// 127.0.0.1:`port` for the proxy (binding the forwards first keeps an
/// ephemeral proxy port off them).
pub fn contain(
    port: u16,
    forwards: &[SocketAddr],
) -> Result<(TcpListener, Vec<(SocketAddr, TcpListener)>), String> {
    sandbox::userns::unshare_as_self(CloneFlags::CLONE_NEWNET)?;
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
