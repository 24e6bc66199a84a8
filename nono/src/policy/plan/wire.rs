//! The plan in the broker's wire form: the same grant list the front end
//! would apply itself, the network policy and its ports.

use std::os::unix::ffi::OsStrExt;

use anyhow::{bail, Context, Result};
use ipc::broker::{LaunchSpec, WireAccess, WireCaps, WireGrant, WireNetwork};
use sandbox::{AccessMode, GrantKind, NetworkPolicy};

use super::Plan;
use crate::grants::Grant;

impl Plan {
    /// The launch request for the broker; `extra_env` replaces variables
    /// of the same name; `extra_connect` are the ports of helpers started
    /// for the session (the proxy and its loopback forwards).
    pub fn launch_spec(&self, extra_env: &[(String, String)], extra_connect: &[u16]) -> LaunchSpec {
        let grants = self.policy.rules.iter().map(wire_grant).collect();
        let (mut tcp_connect_ports, tcp_bind_ports) = self.tcp_ports();
        tcp_connect_ports.extend_from_slice(extra_connect);
        LaunchSpec {
            program: self.program.as_bytes().to_vec(),
            argv: self.argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            env: self
                .env
                .iter()
                .map(|e| e.as_bytes())
                .filter(|e| {
                    !extra_env.iter().any(|(k, _)| {
                        e.len() > k.len() && e.starts_with(k.as_bytes()) && e[k.len()] == b'='
                    })
                })
                .map(|e| zeroize::Zeroizing::new(e.to_vec()))
                .chain(
                    extra_env
                        .iter()
                        .map(|(k, v)| zeroize::Zeroizing::new(format!("{k}={v}").into_bytes())),
                )
                .collect(),
            caps: WireCaps {
                grants,
                network: match self.policy.network {
                    NetworkPolicy::Allowed => WireNetwork::Allowed,
                    NetworkPolicy::TcpPorts => WireNetwork::TcpPorts,
                    NetworkPolicy::Blocked | NetworkPolicy::UnixOnly => WireNetwork::Blocked,
                },
                tcp_connect_ports,
                tcp_bind_ports,
                sysv_ipc: crate::policy::sysv::wire(self.sysv),
                learn: self.self_trace(),
            },
            credential_vars: self
                .credentials
                .iter()
                .map(|c| c.target.name().to_string())
                .collect(),
            unix_grants: self.unix_grants.clone(),
            elevation: self.elevation.clone(),
            parents: crate::policy::parents::wire(&self.policy, &self.parent_view),
        }
    }
}

/// The launch request in a sealed memory file for the broker, and its
/// size. Any plan the kernel could exec fits; above `ipc::MAX_PLAN` the
/// message names the limit and what to do.
pub fn seal_launch(spec: &LaunchSpec) -> Result<(std::os::fd::OwnedFd, u64)> {
    match ipc::broker::seal_plan(spec) {
        Ok(sealed) => Ok(sealed),
        Err(ipc::IpcError::PayloadTooLarge(n, max)) => bail!(
            "the launch plan (command line, environment and {} filesystem rules) is {} MiB, over nono's {} MiB limit for it; grant parent directories instead of many single paths, or start the command with a smaller environment",
            spec.caps.grants.len(),
            n >> 20,
            max >> 20
        ),
        Err(e) => Err(e).context("cannot hand the launch plan to the broker"),
    }
}

/// One grant as the broker receives it.
pub fn wire_grant(g: &Grant) -> WireGrant {
    WireGrant {
        path: g.path.as_os_str().as_bytes().to_vec(),
        access: match g.mode {
            AccessMode::Read => WireAccess::Read,
            AccessMode::Write => WireAccess::Write,
            AccessMode::ReadWrite => WireAccess::ReadWrite,
        },
        tree: g.kind == GrantKind::Tree,
    }
}
