//! Entering the agent's private SysV IPC namespace in `wrap` (the decision
//! is `policy/sysv.rs`; in `run` the broker makes the namespace).

use nix::sched::{unshare, CloneFlags};
use sandbox::CapabilitySet;

use crate::policy::sysv::SysvIpc;
use crate::ui;

/// In the process about to seal itself (`wrap`): enter the namespace if
/// planned, and leave the calls open only where they reach nothing outside.
pub fn settle(s: SysvIpc, caps: &mut CapabilitySet) {
    let open = match s {
        SysvIpc::Shared => true,
        SysvIpc::Refused => false,
        SysvIpc::Namespace => match unshare(CloneFlags::CLONE_NEWIPC) {
            Ok(()) => true,
            Err(e) => {
                ui::warn(format!(
                    "cannot create a private IPC namespace ({e}); SysV IPC is refused instead"
                ));
                false
            }
        },
    };
    caps.set_sysv_ipc(open);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_closes_the_calls_and_sharing_opens_them() {
        let mut caps = CapabilitySet::new();
        settle(SysvIpc::Shared, &mut caps);
        assert!(caps.allows_sysv_ipc());
        settle(SysvIpc::Refused, &mut caps);
        assert!(!caps.allows_sysv_ipc());
    }
}
