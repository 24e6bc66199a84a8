//! The one plan of a session: everything decided before anything starts,
//! built once through named steps (`steps.rs`: load → resolve → protect →
//! plan) and then only read. The capability set (`wrap`, `--dry-run`), the
//! broker's wire form (`wire.rs`), `--dry-run`'s listing and `why`'s view
//! are all derived from it, from its one grant list (`policy.rules`, every
//! path canonical since `grants.rs`).

mod env;
mod needs;
mod steps;
mod wire;

use std::ffi::CString;
use std::path::PathBuf;

use anyhow::Result;
use sandbox::{CapabilitySet, NetworkPolicy};

use super::decide::{View, ViewParent, ViewUnix};
use super::resolve::Policy;
use super::sysv::SysvIpc;
use crate::grants;
use crate::network::NetworkPlan;

pub use needs::Needs;
pub use steps::{load, AtLaunch, Resolved};
pub use wire::{seal_launch, wire_grant};

/// The variable that tells `nono why --self` where the snapshot is.
pub const POLICY_ENV: &str = "NONO_SANDBOX_POLICY";

/// `run` (a supervising parent stays) or `wrap` (nono seals itself and
/// execs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Wrap,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::Wrap => "wrap",
        }
    }
}

/// Everything decided about one session.
#[derive(Debug)]
pub struct Plan {
    pub mode: Mode,
    /// A dry run: shown, never started; nothing was created for it.
    pub dry_run: bool,
    /// `nono learn --sandboxed`: strace runs inside; vanished paths skipped.
    pub learn: bool,
    /// The grants (`policy.rules`: the one list the kernel and the broker
    /// get), protections, pins and network policy.
    pub policy: Policy,
    /// Environment credentials to fetch through the keyholder.
    pub credentials: Vec<ipc::keyholder::CredentialItem>,
    pub program: CString,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    /// Proxy mode and local ports.
    pub network: NetworkPlan,
    /// Pathname unix sockets the broker lets the agent reach (`run` only).
    pub unix_grants: Vec<ipc::broker::WireUnixGrant>,
    /// The same grants as `why` sees them.
    pub unix_view: Vec<ViewUnix>,
    /// Expanded directories the broker lists and creates in, as `why`
    /// sees them (`run` only; the wire form is derived in `wire.rs`).
    pub parent_view: Vec<ViewParent>,
    /// Capability elevation: the broker's scope (`run` only).
    pub elevation: Option<ipc::broker::WireElevation>,
    /// `--elevation-decisions`: who approves elevation requests (else the
    /// user at the terminal).
    pub elevation_decisions: Option<PathBuf>,
    /// How the agent's SysV IPC is kept from the user's other processes.
    pub sysv: SysvIpc,
    /// What needs a process beside the command, and who asked for it.
    pub needs: Needs,
    /// The pre-exec trust scan's findings (or the override), for the audit
    /// record.
    pub trust_scan: Option<crate::trust_cmd::scan::Summary>,
    /// `--name` of the session.
    pub session_name: Option<String>,
    /// The diagnostic footer after a failed run (`--no-diagnostics`: off).
    pub diagnostics: bool,
    /// The save prompt after the footer, with the paths it never offers
    /// (`--suppress-save-prompt`, the profile's
    /// `filesystem.suppress_save_prompt`); None: off.
    pub save_prompt: Option<Vec<PathBuf>>,
}

/// `why`'s view of a policy and its network plan: the one derivation
/// shared by `Plan::view` and `why` outside a session.
pub fn view_of(
    policy: &Policy,
    network: &NetworkPlan,
    unix: Vec<ViewUnix>,
    brokered: Vec<ViewParent>,
) -> View {
    View::of(policy)
        .with_proxy(network.proxy.as_ref())
        .with_unix(unix)
        .with_parents(brokered)
}

impl Plan {
    /// What `why` answers from (and `why --self` reads back).
    pub fn view(&self) -> View {
        view_of(
            &self.policy,
            &self.network,
            self.unix_view.clone(),
            self.parent_view.clone(),
        )
    }

    /// TCP ports the agent may connect to and bind, beyond the network
    /// policy (proxy mode and `--open-port` under a blocked network).
    pub fn tcp_ports(&self) -> (Vec<u16>, Vec<u16>) {
        let (mut connect, mut bind) = (Vec::new(), Vec::new());
        if self.policy.network == NetworkPolicy::TcpPorts {
            for &p in &self.network.open_ports {
                connect.push(p);
                bind.push(p);
            }
            bind.extend(self.network.proxy.iter().flat_map(|x| &x.listen_ports));
        }
        (connect, bind)
    }

    /// The capability set the kernel gets in this process (`wrap`) or
    /// would get (`--dry-run`): the grant list, the network policy and
    /// its ports.
    pub fn capability_set(&self) -> Result<CapabilitySet> {
        // An entry listed while planning (a directory expanded around
        // protected paths, learn's `/`-wide grant) may be gone from a busy
        // directory (/tmp) by now: it is skipped, which only narrows (as in
        // the broker, `nono-broker/src/wire.rs`).
        let mut caps = grants::capability_set(
            &grants::existing_or_created(&self.policy.rules, self.dry_run),
            true,
        )?;
        // Only `nono learn --sandboxed` sets it: strace runs inside.
        caps.set_self_trace(self.self_trace());
        caps.set_network(self.policy.network);
        // In `run` the broker mediates pathname unix sockets.
        caps.set_unix_sockets(self.mode == Mode::Run);
        // Open now only when shared; a namespace opens them once it exists.
        caps.set_sysv_ipc(self.sysv == SysvIpc::Shared);
        let (connect, bind) = self.tcp_ports();
        for p in connect {
            caps.allow_tcp_connect(p);
        }
        for p in bind {
            caps.allow_tcp_bind(p);
        }
        Ok(caps)
    }

    /// strace runs inside the sandbox (`nono learn --sandboxed` only).
    pub fn self_trace(&self) -> bool {
        self.learn && self.mode == Mode::Run
    }
}
