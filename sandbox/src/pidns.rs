//! A PID namespace of the session's own, with a `/proc` of its own.
//!
//! The supervisor calls [`enter`] first thing. Where the kernel allows it
//! (root, or inside a user namespace mapping only the caller's ids), the
//! caller forks into a fresh PID namespace and the child goes on as its
//! init (pid 1): every process the session starts lives in that
//! namespace, and when the init dies for any reason — its work done,
//! SIGKILL, or the death of the process that started it (parent-death
//! signal) — the kernel kills every process left in it. Nothing the
//! session started can outlive it, even if nono and its helpers are all
//! killed at once.
//!
//! The original process stays behind as a *relay*: it holds no descriptor
//! beyond stderr and no capability (no_new_privs), ignores every signal it
//! can, and exits as its child did (a signal death as 128+N). Killing the relay kills the init (its
//! parent-death signal), and so the namespace.
//!
//! The init mounts a fresh `/proc` in a private mount namespace (mounts
//! made slaves first, so nothing propagates back to the host): inside,
//! `getpid()` and `/proc/<pid>` agree and other users' and sessions'
//! processes are invisible.
//!
//! Where the kernel refuses (no user namespaces, a `/proc` it will not
//! mount), [`enter`] says why and the caller goes on as before; the
//! subreaper in [`crate::reap`] is then the only line.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use nix::mount::{mount, MsFlags};
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use crate::sys;

/// How the caller goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entered {
    /// This process is pid 1 of a fresh PID namespace with its own `/proc`.
    Init,
    /// The kernel would not make one (the reason); this process goes on,
    /// possibly in a private mount (and user) namespace, still seeing the
    /// host's processes.
    Unavailable(String),
}

/// What the init reports to the relay once its `/proc` is mounted.
const READY: &[u8] = b"ok";

/// Enter a PID namespace of the session's own; see the module header.
/// Call while single-threaded, before taking any descriptor that the
/// relay must not hold (it closes everything but fd 2 anyway).
pub fn enter() -> Entered {
    if let Err(e) = private_mounts() {
        return Entered::Unavailable(e.to_string());
    }
    let (from_init, to_relay) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => return Entered::Unavailable(format!("pipe: {e}")),
    };
    match sys::fork_into_new_pid_namespace() {
        Err(e) => Entered::Unavailable(format!("cannot create a PID namespace: {e}")),
        Ok(None) => {
            drop(from_init);
            become_init(to_relay)
        }
        Ok(Some(init)) => {
            drop(to_relay);
            stay_as_relay(init, from_init)
        }
    }
}

/// Whether [`enter`] would succeed here, tried in a throwaway child;
/// `Err` carries the reason the kernel gave it.
pub fn available() -> crate::Result<()> {
    let (from_probe, to_parent) =
        nix::unistd::pipe().map_err(|e| crate::SandboxError::Syscall {
            call: "pipe",
            source: e.into(),
        })?;
    let code = sys::probe_in_child(move || match enter() {
        Entered::Init => 0,
        Entered::Unavailable(why) => {
            let _ = std::fs::File::from(to_parent).write_all(why.as_bytes());
            1
        }
    });
    let mut why = String::new();
    let _ = std::fs::File::from(from_probe).read_to_string(&mut why);
    match code {
        Some(0) => Ok(()),
        _ if why.is_empty() => Err(crate::SandboxError::PidNamespace(
            "the probe for a PID namespace ended unexpectedly".into(),
        )),
        _ => Err(crate::SandboxError::PidNamespace(why)),
    }
}

/// A private mount namespace (with a user namespace mapping only our own
/// ids when a plain one is not permitted), every mount made a slave.
fn private_mounts() -> crate::Result<()> {
    crate::userns::unshare_as_self(CloneFlags::CLONE_NEWNS)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| crate::SandboxError::PrivateMounts(e.into()))
}

/// In the child, pid 1: die with the relay, mount `/proc`, report.
fn become_init(to_relay: OwnedFd) -> Entered {
    if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL) {
        sys::exit_now_with(1, &format!("prctl(PR_SET_PDEATHSIG): {e}"));
    }
    let mounted = mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    );
    let report = match &mounted {
        Ok(()) => READY.to_vec(),
        Err(e) => format!("cannot mount /proc for the PID namespace: {e}").into_bytes(),
    };
    // Fails (EPIPE) only if the relay is gone: then so is this process.
    if std::fs::File::from(to_relay).write_all(&report).is_err() || mounted.is_err() {
        sys::exit_now_with(1, "");
    }
    Entered::Init
}

/// In the original process: the init's report, then either the relay's
/// life (never returns) or, if the init could not set up, its reason.
fn stay_as_relay(init: Pid, from_init: OwnedFd) -> Entered {
    let mut report = Vec::new();
    let _ = std::fs::File::from(from_init).read_to_end(&mut report);
    if report == READY {
        // It holds nothing and needs nothing but wait4: no privileges
        // either (best effort: the command cannot even name it).
        let _ = crate::privileges::set_no_new_privs();
        let _ = crate::privileges::drop_all();
        sys::relay(init)
    }
    let _ = nix::sys::wait::waitpid(init, None);
    Entered::Unavailable(if report.is_empty() {
        "the PID namespace's init ended before it was ready".into()
    } else {
        String::from_utf8_lossy(&report).into_owned()
    })
}
