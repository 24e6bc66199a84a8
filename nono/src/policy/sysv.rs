//! The agent's SysV IPC (shared memory, message queues, semaphores; POSIX
//! message queues live in the same namespace). Those objects are found by
//! key or name and reach every process of the user; Landlock covers none
//! of them. Where the kernel lets nono make a private IPC namespace (as
//! root, or inside the user namespace of proxy mode's containment) the
//! agent gets one; otherwise seccomp refuses the calls. A profile may opt
//! out (`security.allow_sysv_ipc`), with a warning. Fails closed: if the
//! namespace cannot be made after all, the calls are refused.

use ipc::broker::WireSysvIpc;

use crate::network::{Containment, NetworkPlan};

/// How the agent's SysV IPC is kept from the user's other processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysvIpc {
    /// A private IPC namespace (or refused, if the kernel will not make one).
    Namespace,
    /// The calls are refused by seccomp.
    Refused,
    /// Shared with the user's other processes (profile opt-in).
    Shared,
}

/// Printed at start when a profile opts in.
pub const SHARED_WARNING: &str = "security.allow_sysv_ipc: the agent can reach SysV IPC \
     objects of other processes of this user";

/// Decide for a session (`run`: `nono run`, not `wrap`). `root`: nono runs with euid 0 (it may unshare
/// the IPC namespace itself); in `run` with a network namespace the
/// broker is inside a user namespace of its own and may too.
pub fn plan(allowed_by_profile: bool, run: bool, net: &NetworkPlan, root: bool) -> SysvIpc {
    if allowed_by_profile {
        return SysvIpc::Shared;
    }
    let own_user_ns = run
        && net
            .proxy
            .as_ref()
            .is_some_and(|p| p.containment == Containment::Namespace);
    if root || own_user_ns {
        SysvIpc::Namespace
    } else {
        SysvIpc::Refused
    }
}

/// For `--dry-run` and `setup`.
pub fn describe(s: SysvIpc) -> &'static str {
    match s {
        SysvIpc::Namespace => "private IPC namespace",
        SysvIpc::Refused => "refused by seccomp (no private IPC namespace possible)",
        SysvIpc::Shared => "SHARED with the user's other processes (security.allow_sysv_ipc)",
    }
}

/// For `nono setup`: what sessions of this user get.
pub fn for_setup(root: bool, user_namespaces: bool) -> String {
    let ns = describe(SysvIpc::Namespace);
    match (root, user_namespaces) {
        (true, _) => ns.to_string(),
        (false, true) => format!(
            "{ns} in proxy mode with a network namespace (nono run); {} otherwise",
            describe(SysvIpc::Refused)
        ),
        (false, false) => describe(SysvIpc::Refused).to_string(),
    }
}

/// The broker's instruction (`run`: the broker makes the namespace).
pub fn wire(s: SysvIpc) -> WireSysvIpc {
    match s {
        SysvIpc::Namespace => WireSysvIpc::Private,
        SysvIpc::Refused => WireSysvIpc::Refused,
        SysvIpc::Shared => WireSysvIpc::Shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::ProxyPlan;
    use crate::policy::plan::Mode;

    fn proxied(containment: Containment) -> NetworkPlan {
        NetworkPlan {
            proxy: Some(ProxyPlan {
                hosts: vec![],
                routes: vec![],
                upstream_proxy: None,
                bypass: vec![],
                port: 0,
                listen_ports: vec![],
                containment,
                session_token: String::new(),
                local_ports: false,
                forwards: vec![],
            }),
            open_ports: vec![],
        }
    }

    #[test]
    fn namespace_only_where_nono_can_make_one() {
        let direct = NetworkPlan::default();
        let netns = proxied(Containment::Namespace);
        let landlock = proxied(Containment::Landlock("x".into()));
        for mode in [Mode::Run, Mode::Wrap] {
            assert_eq!(
                plan(false, mode == Mode::Run, &direct, true),
                SysvIpc::Namespace
            );
            assert_eq!(
                plan(false, mode == Mode::Run, &direct, false),
                SysvIpc::Refused
            );
            assert_eq!(
                plan(false, mode == Mode::Run, &landlock, false),
                SysvIpc::Refused
            );
        }
        assert_eq!(plan(false, true, &netns, false), SysvIpc::Namespace);
        assert_eq!(plan(false, false, &netns, false), SysvIpc::Refused);
    }

    #[test]
    fn the_profile_opt_in_shares_whatever_else_holds() {
        for root in [true, false] {
            let s = plan(true, true, &NetworkPlan::default(), root);
            assert_eq!(s, SysvIpc::Shared);
            assert_eq!(wire(s), WireSysvIpc::Shared);
        }
    }
}
