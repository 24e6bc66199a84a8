//! The agent's SysV IPC: a private IPC namespace, entered by the broker
//! before it confines itself (while it still holds the capability, as
//! root or inside the user namespace of `netns.rs`; the agent it forks
//! shares it), or the calls refused by seccomp. Fails closed: when the
//! namespace cannot be made, the calls are refused, never shared.

use ipc::broker::WireSysvIpc;
use nix::sched::{unshare, CloneFlags};
use sandbox::CapabilitySet;

/// Settle `wanted` and open the calls in `caps` only where they reach
/// nothing they should not.
pub fn settle(caps: &mut CapabilitySet, wanted: WireSysvIpc) {
    let open = match wanted {
        WireSysvIpc::Shared => true,
        WireSysvIpc::Refused => false,
        WireSysvIpc::Private => match unshare(CloneFlags::CLONE_NEWIPC) {
            Ok(()) => true,
            Err(e) => {
                say!(
                    "nono-broker: cannot create a private IPC namespace ({e}); \
                     SysV IPC is refused instead"
                );
                false
            }
        },
    };
    caps.set_sysv_ipc(open);
}
