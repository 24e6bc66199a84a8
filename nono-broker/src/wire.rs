//! Turning the wire form of the launch request into library types.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use ipc::broker::{LaunchSpec, WireAccess, WireCaps, WireGrant, WireNetwork, WireSysvIpc};
use sandbox::{AccessMode, CapabilitySet, NetworkPolicy, SandboxError};

use crate::error::BrokerError;

pub fn caps(w: &WireCaps) -> Result<CapabilitySet, SandboxError> {
    let mut caps = CapabilitySet::new();
    // A path the front end listed may be gone by now (an entry of a
    // directory expanded around protected paths, a busy /tmp, learn's
    // `/`-wide listing): Landlock cannot hold a rule for it, and leaving it
    // out only narrows. Anything that exists is granted or fails loudly.
    add_grants(&mut caps, &w.grants, true)?;
    caps.set_network(match w.network {
        WireNetwork::Allowed => NetworkPolicy::Allowed,
        WireNetwork::Blocked => NetworkPolicy::Blocked,
        WireNetwork::TcpPorts => NetworkPolicy::TcpPorts,
    });
    // This broker mediates pathname unix sockets (brokered/unix.rs), so
    // the agent may create them again.
    caps.set_unix_sockets(true);
    // A private namespace opens the calls only once it exists (ipcns.rs).
    caps.set_sysv_ipc(w.sysv_ipc == WireSysvIpc::Shared);
    // `nono learn --sandboxed` only: strace inside the sandbox.
    caps.set_self_trace(w.learn);
    caps.set_skip_vanished(true);
    for &p in &w.tcp_connect_ports {
        caps.allow_tcp_connect(p);
    }
    for &p in &w.tcp_bind_ports {
        caps.allow_tcp_bind(p);
    }
    Ok(caps)
}

/// program, argv, env as C strings.
pub struct Exec {
    pub program: CString,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
}

pub fn exec(spec: &LaunchSpec) -> Result<Exec, BrokerError> {
    let c = |b: &[u8]| CString::new(b).map_err(|_| BrokerError::NulInLaunch);
    Ok(Exec {
        program: c(&spec.program)?,
        argv: spec.argv.iter().map(|a| c(a)).collect::<Result<_, _>>()?,
        env: spec.env.iter().map(|e| c(e)).collect::<Result<_, _>>()?,
    })
}

/// Add filesystem grants as they came over the wire. A path that no longer
/// exists is an error unless `skip_vanished` (skipping only narrows).
pub fn add_grants(
    caps: &mut CapabilitySet,
    grants: &[WireGrant],
    skip_vanished: bool,
) -> Result<(), SandboxError> {
    for g in grants {
        let path = OsStr::from_bytes(&g.path);
        let mode = match g.access {
            WireAccess::Read => AccessMode::Read,
            WireAccess::Write => AccessMode::Write,
            WireAccess::ReadWrite => AccessMode::ReadWrite,
        };
        let r = if g.tree {
            caps.allow_tree(path, mode)
        } else {
            caps.allow_file(path, mode)
        };
        match r {
            // Gone since the front end listed it (checked only when it
            // fails to resolve; one that exists and fails stays an error).
            Err(SandboxError::ResolvePath { .. })
                if skip_vanished && std::fs::symlink_metadata(path).is_err() =>
            {
                continue
            }
            r => r?,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps_of(paths: &[&[u8]]) -> WireCaps {
        WireCaps {
            grants: paths
                .iter()
                .map(|p| WireGrant {
                    path: p.to_vec(),
                    access: WireAccess::Read,
                    tree: false,
                })
                .collect(),
            network: WireNetwork::Blocked,
            tcp_connect_ports: Vec::new(),
            tcp_bind_ports: Vec::new(),
            sysv_ipc: WireSysvIpc::Shared,
            learn: false,
        }
    }

    #[test]
    fn an_entry_gone_since_planning_is_left_out_and_the_rest_kept() {
        let dir = std::env::temp_dir().join(format!("nono-wire-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kept = dir.join("kept");
        std::fs::write(&kept, b"x").unwrap();
        let gone = dir.join("gone");
        let w = caps_of(&[kept.as_os_str().as_bytes(), gone.as_os_str().as_bytes()]);
        let grants = caps(&w).unwrap().grants();
        std::fs::remove_dir_all(&dir).unwrap();
        let paths: Vec<_> = grants.iter().map(|g| g.path.clone()).collect();
        assert!(paths.contains(&kept), "{paths:?}");
        assert!(!paths.contains(&gone), "{paths:?}");
    }
}
