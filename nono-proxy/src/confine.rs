//! The proxy's own confinement, applied on the main thread before the
//! runtime starts (every later thread inherits it): read-only access to
//! the resolver's configuration and the system libraries, no writes, TCP
//! connect only to the ports it serves (no TCP bind: the listener came
//! from the front end), UDP for DNS, no unix sockets, signals and abstract sockets
//! scoped, then the allowlist in `syscalls.rs`.

use std::path::Path;

use sandbox::seccomp::{load_allowlist, Unlisted};
use sandbox::{AccessMode, CapabilitySet, NetworkPolicy, Sandbox};

use crate::error::{ProxyError, Result};
use crate::syscalls::SERVING;

/// What name resolution reads.
const READ: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/host.conf",
    "/etc/ld.so.cache",
    "/usr/lib",
    "/lib",
    "/lib64",
];

/// DNS over TCP (truncated answers).
const DNS_PORT: u16 = 53;

pub fn apply(connect_ports: &[u16]) -> Result<()> {
    let mut caps = CapabilitySet::new();
    for p in READ.iter().map(Path::new).filter(|p| p.exists()) {
        caps.allow_path(p, AccessMode::Read)
            .map_err(ProxyError::Grant)?;
    }
    // UDP stays open for DNS (Landlock has no UDP rules); TCP is held to
    // the listed ports because the set names some.
    caps.set_network(NetworkPolicy::Allowed)
        .set_signal_isolation(true)
        .set_abstract_unix_isolation(true);
    for &p in connect_ports.iter().chain([&DNS_PORT]) {
        caps.allow_tcp_connect(p);
    }
    Sandbox::apply(&caps).map_err(ProxyError::Confine)?;
    load_allowlist(SERVING, Unlisted::Deny).map_err(ProxyError::Confine)
}
