//! `ipc::broker`: the front end and `nono-broker`, the agent's parent.
//!
//! Order (enforced by the broker's state machine): `Hello` → optionally
//! `Network` once → optionally `Terminal` once → `Launch` once → any
//! number of `Signal` (and `Resume` after a `Stopped`). The broker answers
//! `Hello`, then `Started` or `Failed`, any number of `Stopped` (agent
//! suspended on its terminal), and finally exactly one of `Exited` /
//! `Signaled`.
//!
//! The [`LaunchSpec`] (argv, environment, grants: as large as the user's
//! command and policy) does not fit a frame: `Launch` carries its size and
//! one descriptor, a sealed memory file holding it ([`seal_plan`],
//! [`open_plan`]).

use std::os::fd::OwnedFd;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{codec, sealed, Result, MAX_PLAN};

/// Access of one grant, or of an open put to the user, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireAccess {
    Read,
    Write,
    ReadWrite,
}

impl std::fmt::Display for WireAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WireAccess::Read => "read",
            WireAccess::Write => "write",
            WireAccess::ReadWrite => "read+write",
        })
    }
}

/// One filesystem grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireGrant {
    /// Canonical path bytes.
    pub path: Vec<u8>,
    pub access: WireAccess,
    /// Directory tree (true) or single file.
    pub tree: bool,
}

/// The agent's network reach, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireNetwork {
    Allowed,
    Blocked,
    /// TCP to the listed connect/bind ports only (proxy mode).
    TcpPorts,
}

/// The agent's SysV IPC (and POSIX message queues), as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireSysvIpc {
    /// A private IPC namespace, made by the broker before it confines
    /// itself; if the kernel refuses it, the calls are refused instead.
    Private,
    /// The calls are refused (seccomp).
    Refused,
    /// Shared with the user's other processes (profile opt-in).
    Shared,
}

/// What the agent may do: the capability set, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCaps {
    pub grants: Vec<WireGrant>,
    pub network: WireNetwork,
    pub tcp_connect_ports: Vec<u16>,
    pub tcp_bind_ports: Vec<u16>,
    pub sysv_ipc: WireSysvIpc,
    /// `nono learn --sandboxed` (false for `run`): `ptrace` inside the
    /// agent's own domain (strace runs inside the sandbox). (Grants that
    /// vanished since nono listed them are skipped in every mode.)
    pub learn: bool,
}

/// How far a unix-socket grant reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireUnixScope {
    /// The socket at this path.
    Socket,
    /// Sockets directly in this directory.
    Dir,
    /// Sockets anywhere under this directory.
    Subtree,
}

/// One pathname AF_UNIX grant (canonical path), for connect and, when
/// `bind`, bind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireUnixGrant {
    pub path: Vec<u8>,
    pub scope: WireUnixScope,
    pub bind: bool,
}

/// Capability elevation: what the broker may open on approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireElevation {
    /// The broker's own wider Landlock grants (everything but the
    /// protected paths), so it can open what the user approves.
    pub broker_grants: Vec<WireGrant>,
    /// Protected paths (canonical): never granted; `true` = writes only.
    pub protected: Vec<(Vec<u8>, bool)>,
}

/// Granted directories expanded around protected paths (they have no
/// Landlock rule of their own): the broker lists them and creates new
/// entries directly in them for the agent (`nono-broker/src/brokered/parent.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireParents {
    /// Each expanded directory (canonical) and the access of the grant it
    /// came from.
    pub dirs: Vec<(Vec<u8>, WireAccess)>,
    /// Protected paths (canonical): never created, opened or listed by the
    /// broker; `true` = writes only.
    pub protected: Vec<(Vec<u8>, bool)>,
}

/// Everything needed to start the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSpec {
    pub program: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    /// `NAME=value` entries; zeroized when dropped (it may carry credentials).
    pub env: Vec<Zeroizing<Vec<u8>>>,
    pub caps: WireCaps,
    /// Variables the keyholder will deliver on the credentials channel
    /// (fd 4); any other name, or a missing one, aborts the launch.
    pub credential_vars: Vec<String>,
    /// Pathname unix sockets the broker lets the agent reach.
    pub unix_grants: Vec<WireUnixGrant>,
    /// Some: opens beyond the grants are put to the front end.
    pub elevation: Option<WireElevation>,
    /// Some: the policy has expanded directories the broker makes usable.
    pub parents: Option<WireParents>,
}

/// One brokered decision (a metadata change performed or refused, a unix
/// socket grant, an elevation), for the audit trail and the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokeredEvent {
    pub allowed: bool,
    pub op: String,
    pub path: String,
    pub reason: BrokeredReason,
}

/// Why the broker decided as it did, as data: the front end renders it
/// and adds which flag or profile field grants a denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokeredReason {
    /// The user approved the open (capability elevation).
    Approved,
    /// The user (or the decisions file) did not approve the open.
    NotApproved,
    /// A protected path: never granted, whatever is approved.
    Protected,
    /// A metadata change outside the write grants.
    OutsideWriteGrants,
    /// A watch outside the read grants.
    OutsideReadGrants,
    /// A pathname unix socket no grant names.
    UnixSocketNotGranted,
    /// `listen` on a TCP port not granted.
    PortNotGranted,
    /// `listen` on an unbound socket (the kernel would pick a port).
    UnboundListen,
    /// `MSG_FASTOPEN`, which would connect without the connect rule.
    TcpFastOpen,
    /// The resolved unix socket path does not fit a socket address.
    UnixPathTooLong,
    /// The call failed with this errno (`ENOENT`: nothing there).
    Errno(i32),
    /// Anything else, in words (never a flag name).
    Other(String),
}

impl std::fmt::Display for BrokeredReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            BrokeredReason::Approved => "approved (capability elevation)",
            BrokeredReason::NotApproved => "not approved",
            BrokeredReason::Protected => "protected path, never granted",
            BrokeredReason::OutsideWriteGrants => "outside the write grants",
            BrokeredReason::OutsideReadGrants => "outside the read grants",
            BrokeredReason::UnixSocketNotGranted => "not a granted unix socket",
            BrokeredReason::PortNotGranted => "not a granted port",
            BrokeredReason::UnboundListen => "listen on an unbound socket would bind a random port",
            BrokeredReason::TcpFastOpen => {
                "TCP Fast Open is refused: it would bypass the connect rule"
            }
            BrokeredReason::UnixPathTooLong => "the resolved path is too long for a unix address",
            BrokeredReason::Errno(n) => nix::errno::Errno::from_raw(*n).desc(),
            BrokeredReason::Other(text) => text,
        };
        f.write_str(text)
    }
}

impl From<&str> for BrokeredReason {
    fn from(text: &str) -> Self {
        BrokeredReason::Other(text.to_string())
    }
}

impl From<String> for BrokeredReason {
    fn from(text: String) -> Self {
        BrokeredReason::Other(text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerRequest {
    Hello {
        version: u32,
    },
    /// Move into a new network namespace with only loopback (a new user
    /// namespace too when unprivileged) and listen on 127.0.0.1:`port`
    /// (0: any) there, for the proxy. The agent will share the namespace.
    /// Also listen on each of `forwards` (loopback addresses the user
    /// allowed as destinations), which the proxy relays to the host.
    Network {
        port: u16,
        forwards: Vec<std::net::SocketAddr>,
    },
    /// Sent with one descriptor, the slave side of a pseudo-terminal the
    /// front end relays: the agent gets it as its controlling terminal (in
    /// a session of its own) and as each of its fds 0-2 marked in `replace`
    /// (those that are the user's terminal; all three for a detached
    /// session).
    Terminal {
        replace: [bool; 3],
    },
    /// Start the agent: sent with exactly one descriptor, a sealed memory
    /// file of `size` bytes holding the encoded [`LaunchSpec`].
    Launch {
        size: u64,
    },
    /// Forward a signal to the agent.
    Signal {
        signal: i32,
    },
    /// The answer to `Elevation` (only while one is pending).
    ElevationAnswer {
        approve: bool,
    },
    /// Continue the agent's stopped process group (after `Stopped`, once
    /// the user brought nono back to the foreground).
    Resume,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerResponse {
    Hello {
        version: u32,
    },
    /// Answer to `Network`: the proxy's listening socket first, then one
    /// per address of `forwards` (those that could be bound, in order;
    /// an IPv6 address is skipped where the namespace has no IPv6).
    Network {
        port: u16,
        forwards: Vec<std::net::SocketAddr>,
    },
    /// The agent was forked (pid in the front end's namespace).
    /// `sync_wakeups`: the kernel accepted the broker's request to run on
    /// the notifying task's CPU (Linux 6.6); false means every brokered
    /// call pays a cross-CPU wake-up, which the user is told.
    Started {
        /// The agent's pid as the broker sees it (in the session's own PID
        /// namespace when `pid_namespace`: not a pid nono can use).
        pid: i32,
        sync_wakeups: bool,
        /// The session runs in a PID namespace of its own, whose init is
        /// the broker: when the broker ends, the kernel ends every process
        /// in it.
        pid_namespace: bool,
        /// The agent's opens and mkdirs are notified (elevation or an
        /// expanded directory); without either they never are.
        opens_notified: bool,
    },
    /// Nothing was started; `exit_code` is what nono should exit with.
    Failed {
        message: String,
        exit_code: i32,
    },
    /// A brokered decision, any time while the agent runs.
    Brokered(BrokeredEvent),
    /// The agent asks to open `path` (canonical) beyond its grants, for
    /// `access`; answer with `ElevationAnswer`.
    Elevation {
        path: String,
        access: WireAccess,
    },
    Exited {
        code: i32,
    },
    Signaled {
        signal: i32,
    },
    /// The agent was stopped by `signal` (Ctrl-Z on its terminal, or a
    /// stop signal): the front end suspends itself the same way and sends
    /// `Resume` when continued.
    Stopped {
        signal: i32,
    },
}

/// The launch plan in a sealed memory file, and its size (for `Launch`).
pub fn seal_plan(spec: &LaunchSpec) -> Result<(OwnedFd, u64)> {
    let bytes = Zeroizing::new(codec::encode_plan(spec)?);
    let fd = sealed::seal(c"nono-launch-plan", &bytes)?;
    Ok((fd, bytes.len() as u64))
}

/// The launch plan from the descriptor that came with `Launch { size }`:
/// seals and size are checked before anything is read (at most
/// [`MAX_PLAN`] bytes).
pub fn open_plan(fd: OwnedFd, size: u64) -> Result<LaunchSpec> {
    let bytes = Zeroizing::new(sealed::read(fd, size, MAX_PLAN)?);
    decode_plan(&bytes)
}

/// Decode a launch plan's bytes (also the fuzz target's entry point).
pub fn decode_plan(bytes: &[u8]) -> Result<LaunchSpec> {
    codec::decode_plan(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(env_bytes: usize, grants: usize) -> LaunchSpec {
        LaunchSpec {
            program: b"/bin/true".to_vec(),
            argv: vec![b"true".to_vec()],
            env: vec![Zeroizing::new(vec![b'x'; env_bytes])],
            caps: WireCaps {
                grants: (0..grants)
                    .map(|i| WireGrant {
                        path: format!("/home/u/entry-{i}").into_bytes(),
                        access: WireAccess::ReadWrite,
                        tree: true,
                    })
                    .collect(),
                network: WireNetwork::Allowed,
                tcp_connect_ports: vec![],
                tcp_bind_ports: vec![],
                sysv_ipc: WireSysvIpc::Private,
                learn: false,
            },
            credential_vars: vec![],
            unix_grants: vec![],
            elevation: None,
            parents: None,
        }
    }

    #[test]
    fn plans_far_above_a_frame_cross_sealed() {
        let big = spec(2 << 20, 30_000);
        let (fd, size) = seal_plan(&big).unwrap();
        assert!(size > crate::MAX_FRAME as u64 * 16);
        assert_eq!(open_plan(fd, size).unwrap(), big);
    }

    #[test]
    fn plans_over_the_limit_are_refused_with_sizes() {
        let huge = spec(MAX_PLAN, 0);
        assert!(matches!(
            seal_plan(&huge),
            Err(crate::IpcError::PayloadTooLarge(n, MAX_PLAN)) if n > MAX_PLAN
        ));
    }
}
