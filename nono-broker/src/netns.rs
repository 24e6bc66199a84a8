//! Proxy-mode containment: a network namespace holding only a loopback
//! interface, entered by the broker before it confines itself (the agent
//! it forks shares it), and the listening socket the proxy will accept on
//! from outside. Unprivileged, a user namespace comes with it, mapping
//! only the caller's own uid and gid.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};

use nix::sched::CloneFlags;

use crate::error::{BrokerError, Result};
use crate::sys;

/// Enter the namespace, bring `lo` up, listen on each of `forwards` (an
/// IPv6 address is skipped when the namespace has no IPv6) and then on
/// 127.0.0.1:`port` for the proxy (binding the forwards first keeps an
/// ephemeral proxy port off them).
pub fn contain(
    port: u16,
    forwards: &[SocketAddr],
) -> Result<(TcpListener, Vec<(SocketAddr, TcpListener)>)> {
    sandbox::userns::unshare_as_self(CloneFlags::CLONE_NEWNET)?;
    sys::loopback_up().map_err(BrokerError::io("cannot bring up loopback"))?;
    let mut bound = Vec::new();
    for at in forwards {
        match TcpListener::bind(at) {
            Ok(l) => bound.push((*at, l)),
            Err(e) if at.is_ipv6() && e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {}
            Err(source) => {
                return Err(BrokerError::Listen {
                    addr: *at,
                    purpose: "the allowed destination",
                    source,
                })
            }
        }
    }
    let at = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let proxy = TcpListener::bind(at).map_err(|source| BrokerError::Listen {
        addr: at.into(),
        purpose: "the proxy",
        source,
    })?;
    Ok((proxy, bound))
}
