//! The forked child that becomes the agent: seal a nested sandbox, install
//! the notify filter and hand its listener to the broker, keep only fds
//! 0-2, exec. Returns only on failure, with the exit code.

use nix::sys::signal::Signal;
use nix::unistd::{getppid, Pid};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use sandbox::seccomp::notify::install_listener;
use sandbox::{close_fds_from, CapabilitySet, Sandbox};

use crate::wire::Exec;

/// Where the agent runs: in nono's process group (the user's job), in a
/// session of its own without a terminal, or as the foreground group of
/// its own terminal (which of fds 0-2 it replaces).
pub enum Group {
    Join(Pid),
    Session,
    Terminal(Option<(OwnedFd, [bool; 3])>),
}

pub fn seal_and_exec(
    caps: &CapabilitySet,
    exec: &Exec,
    parent: Pid,
    handoff: UnixStream,
    notified: &[sandbox::seccomp::notify::Brokered],
    group: Group,
) -> i32 {
    // As a shell leaves them: SIGPIPE and SIGTTOU default (the broker
    // ignores them), nothing blocked (the broker blocks its signalfd's).
    if sandbox::exec::default_signals().is_err() {
        return 1;
    }
    // The agent must not outlive the broker.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != parent {
        return 1;
    }
    match group {
        Group::Terminal(Some((tty, replace))) => {
            if let Err(e) = crate::sys::take_terminal(tty, replace) {
                say!("nono: cannot give the command its terminal: {e}");
                return 1;
            }
        }
        Group::Terminal(None) => {}
        Group::Session => {
            if let Err(e) = nix::unistd::setsid() {
                say!("nono: cannot give the command a session of its own: {e}");
                return 1;
            }
        }
        Group::Join(front) => {
            if let Err(e) = crate::sys::join_group(front) {
                say!("nono: cannot put the command in nono's process group: {e}");
                return 1;
            }
        }
    }
    // A second, nested Landlock domain: the agent cannot signal or trace
    // the broker, which stays in the parent domain.
    if let Err(e) = Sandbox::apply(caps) {
        say!("nono: cannot apply the sandbox: {e}");
        return 1;
    }
    // Last filter: the brokered syscalls go to the broker. Its listener
    // leaves this process before exec.
    match install_listener(notified) {
        Ok(listener) => {
            // The broker takes the listener with pidfd_getfd, which needs
            // this child dumpable (as it will be after exec anyway; fork
            // inherited the broker's non-dumpable flag).
            if nix::sys::prctl::set_dumpable(true).is_err() {
                return 1;
            }
            if let Err(e) = crate::handoff::send(&handoff, &listener) {
                say!("nono: {e}");
                return 1;
            }
        }
        Err(e) => {
            say!("nono: cannot install the broker's seccomp filter: {e}");
            return 1;
        }
    }
    drop(handoff);
    if let Err(e) = close_fds_from(3) {
        say!("nono: {e}");
        return 1;
    }
    let Err(errno) = nix::unistd::execve(&exec.program, &exec.argv, &exec.env);
    let failure = sandbox::exec::failure(&exec.program, errno);
    // Printed by the agent itself, before nono could hear of it: the one
    // place the broker names nono's flag (the grant that fixes it).
    match failure.dir_to_grant() {
        Some(dir) => say!("nono: {failure}; grant its directory with --read {dir}"),
        None => say!("nono: {failure}"),
    }
    failure.code()
}
