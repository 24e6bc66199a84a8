//! seccomp filter builders.
//!
//! [`rules_for`] turns a capability set into the list of denials (pure data,
//! unit-tested); [`compile`] turns that list into a classic-BPF program
//! (`bpf.rs`) with the native architecture only and *kill process* for any
//! other.

mod bpf;
mod names;
pub mod notify;
mod socket;
pub mod table;

use crate::capability::CapabilitySet;
use crate::{Result, SandboxError};
use bpf::{Action, Rule};
pub use socket::{allowed_socket_families, fastopen_rules, socket_rules, AF_MAX};
pub use table::{ArgCmp, ArgRule, Cmp, Denied, DENIED, SYSV_IPC};

/// The complete rule list for a capability set: unconditional denials
/// (SysV IPC unless allowed), the baseline argument rules, the
/// socket-family policy, and TCP Fast Open where Landlock restricts TCP.
pub fn rules_for(caps: &CapabilitySet) -> (Vec<&'static Denied>, Vec<ArgRule>) {
    let mut arg_rules = table::baseline_arg_rules();
    arg_rules.extend(socket_rules(caps.network(), caps.allows_unix_sockets()));
    if caps.restricts_tcp() {
        arg_rules.extend(fastopen_rules());
    }
    let keyring = ["keyctl", "add_key", "request_key"];
    let sysv: &[Denied] = if caps.allows_sysv_ipc() {
        &[]
    } else {
        SYSV_IPC
    };
    let denied = DENIED
        .iter()
        .filter(|d| !(caps.allows_kernel_keyring() && keyring.contains(&d.name)))
        // A supervisor borrows the agent's descriptors, copies its syscall
        // arguments and writes results of batched calls into its memory;
        // the agent's own filter (stacked after this one) still denies all
        // three.
        .filter(|d| {
            !(caps.is_supervisor()
                && matches!(
                    d.name,
                    "pidfd_getfd" | "process_vm_readv" | "process_vm_writev"
                ))
        })
        // `nono learn --sandboxed`: strace inside the sandbox traces the
        // command (Landlock limits ptrace to the sandbox's own domain).
        .filter(|d| !(caps.allows_self_trace() && d.name == "ptrace"))
        .chain(sysv)
        .collect();
    (denied, arg_rules)
}

/// A compiled filter: classic BPF, ready to load.
#[derive(Debug, Clone)]
pub struct Filter(Vec<libc::sock_filter>);

impl Filter {
    /// Instructions in the program.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: every program ends in its default action.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The instructions themselves (for tests and dumps).
    pub fn instructions(&self) -> &[libc::sock_filter] {
        &self.0
    }

    /// What the program answers (a `SECCOMP_RET_*` value) for syscall
    /// `name` of this architecture with `args`, as the kernel would run
    /// it; None for a name this architecture does not have.
    pub fn answer(&self, name: &str, args: [u64; 6]) -> Option<u32> {
        let nr = names::number(name)?;
        Some(bpf::run(&self.0, nr as u32, names::AUDIT_ARCH, &args))
    }
}

fn seccomp_err(stage: &'static str, message: impl ToString) -> SandboxError {
    SandboxError::Seccomp {
        stage,
        message: message.to_string(),
    }
}

/// The number of syscall `name`; None for another architecture's call
/// (which no task here can make), an error for a name no table knows.
fn syscall(name: &str) -> Result<Option<i64>> {
    match names::number(name) {
        Some(nr) => Ok(Some(nr)),
        None if names::ABSENT.contains(&name) => Ok(None),
        None => Err(seccomp_err(
            "resolve syscall name",
            format!("{name}: no such syscall"),
        )),
    }
}

/// A rule for `name` (nothing for another architecture's call).
fn rule(name: &str, when: &[ArgCmp], action: Action) -> Result<Option<Rule>> {
    Ok(syscall(name)?.map(|nr| Rule {
        nr,
        when: when.to_vec(),
        action,
    }))
}

fn build(rules: Vec<Option<Rule>>, default: Action) -> Result<Filter> {
    let rules: Vec<Rule> = rules.into_iter().flatten().collect();
    bpf::program(&rules, default)
        .map(Filter)
        .map_err(|e| seccomp_err("compile filter", format!("{e:?}")))
}

/// The rules for `caps`, in the order they are matched.
fn deny_rules(caps: &CapabilitySet) -> Result<Vec<Option<Rule>>> {
    let (denied, arg_rules) = rules_for(caps);
    let mut rules = Vec::new();
    for d in denied {
        rules.push(rule(d.name, &[], Action::Errno(d.errno))?);
    }
    for r in &arg_rules {
        rules.push(rule(r.name, &r.when, Action::Errno(r.errno))?);
    }
    Ok(rules)
}

/// Compile the rules for `caps` into a filter ready to load: default
/// *allow*, the native architecture only (any other kills).
pub fn compile(caps: &CapabilitySet) -> Result<Filter> {
    build(deny_rules(caps)?, Action::Allow)
}

/// Load a compiled filter into the calling thread (no_new_privs must be
/// set, as `Sandbox::apply` does first).
pub(crate) fn load(filter: &Filter) -> Result<()> {
    crate::notify_sys::load_filter(&filter.0, 0)
        .map(|_| ())
        .map_err(|e| seccomp_err("load filter", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_on_this_arch() {
        let caps = CapabilitySet::new();
        let (denied, rules) = rules_for(&caps);
        for d in denied {
            syscall(d.name).unwrap();
        }
        for r in rules {
            syscall(r.name).unwrap();
        }
    }

    #[test]
    fn baseline_closes_the_design_classes() {
        let names: Vec<&str> = DENIED.iter().map(|d| d.name).collect();
        for n in [
            "ptrace",
            "process_vm_readv",
            "io_uring_setup",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "keyctl",
            "add_key",
            "request_key",
            "kexec_load",
            "init_module",
            "finit_module",
            "mount",
            "fsopen",
            "open_tree",
            "open_tree_attr",
            "file_setattr",
        ] {
            assert!(names.contains(&n), "{n} must be denied");
        }
        let arg_names: Vec<&str> = table::baseline_arg_rules().iter().map(|r| r.name).collect();
        assert!(arg_names.contains(&"unshare") && arg_names.contains(&"clone"));
        assert_eq!(arg_names.iter().filter(|n| **n == "ioctl").count(), 5);
        for open in ["open", "openat"] {
            assert!(arg_names.contains(&open), "{open}: access mode 3");
        }
    }

    #[test]
    fn kernel_keyring_opens_only_on_request() {
        let mut caps = CapabilitySet::new();
        let names = |c: &CapabilitySet| rules_for(c).0.iter().map(|d| d.name).collect::<Vec<_>>();
        assert!(names(&caps).contains(&"keyctl"));
        caps.set_kernel_keyring(true);
        assert!(!names(&caps).contains(&"keyctl") && names(&caps).contains(&"ptrace"));
    }

    #[test]
    fn self_trace_opens_ptrace_alone() {
        let mut caps = CapabilitySet::new();
        assert!(denied_names(&caps).contains(&"ptrace"));
        caps.set_self_trace(true);
        let open = denied_names(&caps);
        assert!(!open.contains(&"ptrace"));
        for n in [
            "process_vm_readv",
            "process_vm_writev",
            "pidfd_getfd",
            "kcmp",
        ] {
            assert!(open.contains(&n), "{n} stays denied");
        }
        compile(&caps).unwrap();
    }

    #[test]
    fn only_a_supervisor_may_inspect_its_agent() {
        let inspect = ["pidfd_getfd", "process_vm_readv", "process_vm_writev"];
        let agent = denied_names(&CapabilitySet::new());
        assert!(inspect.iter().all(|n| agent.contains(n)), "agents: denied");
        let mut caps = CapabilitySet::new();
        caps.set_supervisor(true);
        let sup = denied_names(&caps);
        assert!(inspect.iter().all(|n| !sup.contains(n)), "supervisor: open");
        for n in ["ptrace", "kcmp"] {
            assert!(sup.contains(&n), "{n} stays denied");
        }
        assert_eq!(agent.len() - sup.len(), inspect.len(), "nothing else opens");
    }

    #[test]
    fn every_entry_has_a_reason() {
        assert!(DENIED.iter().chain(SYSV_IPC).all(|d| !d.why.is_empty()));
    }

    fn denied_names(caps: &CapabilitySet) -> Vec<&'static str> {
        rules_for(caps).0.iter().map(|d| d.name).collect()
    }

    #[test]
    fn sysv_ipc_is_refused_unless_allowed() {
        let mut caps = CapabilitySet::new();
        let sysv = [
            "shmget",
            "shmat",
            "shmctl",
            "shmdt",
            "msgget",
            "msgsnd",
            "msgrcv",
            "msgctl",
            "semget",
            "semop",
            "semtimedop",
            "semctl",
            "mq_open",
        ];
        for n in sysv {
            assert!(denied_names(&caps).contains(&n), "{n} must be refused");
        }
        caps.set_sysv_ipc(true);
        let open = denied_names(&caps);
        assert!(sysv.iter().all(|n| !open.contains(n)));
        assert!(open.contains(&"ptrace"), "only the SysV entries open");
        assert!(SYSV_IPC.iter().all(|d| d.errno == libc::EPERM));
    }

    fn arg_names(caps: &CapabilitySet) -> Vec<&'static str> {
        rules_for(caps).1.iter().map(|r| r.name).collect()
    }

    #[test]
    fn fastopen_is_refused_exactly_where_landlock_restricts_tcp() {
        let mut caps = CapabilitySet::new();
        assert!(
            !arg_names(&caps).contains(&"sendto"),
            "unrestricted network"
        );
        for policy in [
            crate::NetworkPolicy::Blocked,
            crate::NetworkPolicy::TcpPorts,
        ] {
            caps.set_network(policy);
            let names = arg_names(&caps);
            for n in ["sendto", "sendmsg", "sendmmsg", "setsockopt"] {
                assert!(names.contains(&n), "{policy:?}: {n}");
            }
        }
        let mut ports = CapabilitySet::new();
        ports.allow_tcp_connect(443);
        assert!(arg_names(&ports).contains(&"sendto"), "port rules alone");
    }

    #[test]
    fn filter_compiles_with_and_without_sysv_ipc() {
        let mut caps = CapabilitySet::new();
        caps.set_network(crate::NetworkPolicy::TcpPorts);
        compile(&caps).unwrap();
        caps.set_sysv_ipc(true);
        compile(&caps).unwrap();
    }

    #[test]
    fn filter_compiles_for_both_network_policies() {
        let mut caps = CapabilitySet::new();
        compile(&caps).unwrap();
        caps.set_network(crate::NetworkPolicy::Blocked);
        let blocked = compile(&caps).unwrap();
        caps.set_network(crate::NetworkPolicy::Allowed);
        let allowed = compile(&caps).unwrap();
        assert!(!blocked.is_empty() && blocked.len() != allowed.len());
    }
}

/// One syscall a helper may make, with the reason.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    /// The syscall name, as the kernel headers spell it (`SYS_<name>`).
    pub name: &'static str,
    /// Why the helper needs it.
    pub why: &'static str,
}

/// What an unlisted syscall gets from an allowlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlisted {
    /// Kill the process.
    Kill,
    /// Fail with `EPERM` (the caller reports the failure).
    Deny,
}

/// Load a strict allowlist into the calling thread: every syscall not
/// listed is killed or denied; every foreign architecture kills. For
/// helpers, whose whole behaviour is known; never for agents.
pub fn load_allowlist(allowed: &[Allowed], unlisted: Unlisted) -> Result<()> {
    load_allowlist_with(allowed, &[], &[], unlisted)
}

/// A syscall a helper may make only with matching arguments.
#[derive(Debug, Clone, Copy)]
pub struct AllowedIf {
    pub name: &'static str,
    /// Every comparison must hold.
    pub when: &'static [ArgCmp],
    pub why: &'static str,
}

/// A syscall that fails with `errno` instead of killing (e.g. ENOSYS for
/// `clone3`, so libc falls back to `clone`, whose flags seccomp can read).
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    pub name: &'static str,
    pub errno: i32,
    pub why: &'static str,
}

/// [`load_allowlist`] with argument-checked entries and soft refusals.
pub fn load_allowlist_with(
    allowed: &[Allowed],
    allowed_if: &[AllowedIf],
    refused: &[Refused],
    unlisted: Unlisted,
) -> Result<()> {
    let filter = allowlist(allowed, allowed_if, refused, unlisted)?;
    crate::notify_sys::load_filter(&filter.0, 0)
        .map(|_| ())
        .map_err(|e| seccomp_err("load allowlist", e))
}

/// The program [`load_allowlist_with`] loads, without loading it (helpers'
/// tests check their own lists through it with [`Filter::answer`]).
pub fn allowlist(
    allowed: &[Allowed],
    allowed_if: &[AllowedIf],
    refused: &[Refused],
    unlisted: Unlisted,
) -> Result<Filter> {
    let default = match unlisted {
        Unlisted::Kill => Action::KillProcess,
        Unlisted::Deny => Action::Errno(libc::EPERM),
    };
    build(allowlist_rules(allowed, allowed_if, refused)?, default)
}

fn allowlist_rules(
    allowed: &[Allowed],
    allowed_if: &[AllowedIf],
    refused: &[Refused],
) -> Result<Vec<Option<Rule>>> {
    let mut rules = Vec::new();
    for a in allowed {
        rules.push(rule(a.name, &[], Action::Allow)?);
    }
    for a in allowed_if {
        rules.push(rule(a.name, a.when, Action::Allow)?);
    }
    for r in refused {
        rules.push(rule(r.name, &[], Action::Errno(r.errno))?);
    }
    Ok(rules)
}
