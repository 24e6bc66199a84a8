//! `nono run`: a parent stays outside the sandbox, forwards signals to the
//! command and reaps it, then passes its exit status through.

use anyhow::{Context, Result};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{getpgid, getpid, getppid, Pid};

use super::child;
use super::plan::Plan;
use crate::commands::EXIT_NONO_ERROR;
use crate::sys::{self, Forked};
use crate::ui;

/// Signals forwarded to the command (SIGCHLD is watched, not forwarded).
const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGWINCH,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// `si_code` of signals the kernel generated (e.g. the terminal's ^C).
const SI_KERNEL: i32 = 0x80;

fn watched() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set
}

pub fn run(plan: Plan) -> Result<i32> {
    let mask = watched();
    mask.thread_block().context("cannot block signals")?;
    let parent = getpid();
    match sys::fork().context("cannot fork")? {
        Forked::Child => {
            let _ = mask.thread_unblock();
            // The command must not outlive its supervisor.
            if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != parent {
                sys::exit_now(EXIT_NONO_ERROR);
            }
            sys::exit_now(child::seal_and_exec(&plan))
        }
        Forked::Parent(pid) => {
            let code = wait_forwarding(pid, &mask);
            drop(plan); // removes the session's temp dir
            code
        }
    }
}

fn wait_forwarding(child: Pid, mask: &SigSet) -> Result<i32> {
    let sfd =
        SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC).context("cannot create signalfd")?;
    loop {
        let Some(info) = sfd.read_signal().context("cannot read signalfd")? else {
            continue;
        };
        let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
        let Ok(sig) = Signal::try_from(signo) else {
            continue;
        };
        if sig == Signal::SIGCHLD {
            if let Some(code) = reap(child)? {
                return Ok(code);
            }
            continue;
        }
        if info.ssi_code == SI_KERNEL && same_group(child) {
            // The terminal already delivered it to the whole foreground group.
            continue;
        }
        ui::info(format!("forwarding {sig} to the command"));
        let _ = kill(child, sig);
    }
}

fn same_group(child: Pid) -> bool {
    matches!((getpgid(Some(child)), getpgid(None)), (Ok(a), Ok(b)) if a == b)
}

/// The exit code once the command has ended: its own code, or 128 + signal.
fn reap(child: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)).context("waitpid")? {
            WaitStatus::Exited(_, code) => return Ok(Some(code)),
            WaitStatus::Signaled(_, sig, _) => return Ok(Some(128 + sig as i32)),
            WaitStatus::StillAlive => return Ok(None),
            _ => continue,
        }
    }
}
