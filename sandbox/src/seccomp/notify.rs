//! seccomp user notification: a filter that suspends chosen syscalls and
//! hands them to a supervisor through a listener descriptor, and the
//! supervisor's side of that descriptor.
//!
//! The kernel allows one listener per task, so one filter carries every
//! brokered syscall. If the listener is closed (the supervisor died),
//! pending and future notified syscalls fail with `ENOSYS`: fail closed.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};

use super::bpf::{Action, Rule};
use super::table::{ArgCmp, Cmp};
use crate::{notify_sys, Result, SandboxError};

/// A brokered syscall: its name, and its number for a `libc` whose
/// constants predate the name (syscalls from 5.1 on share one number on
/// every architecture).
#[derive(Debug, Clone, Copy)]
pub struct Brokered {
    pub name: &'static str,
    pub generic_nr: Option<i32>,
    /// Notify only when this argument is non-zero (e.g. sendto's address).
    pub when_arg_nonzero: Option<u32>,
    pub why: &'static str,
}

fn resolve(b: &Brokered) -> Result<i64> {
    match (super::names::number(b.name), b.generic_nr) {
        (Some(nr), _) => Ok(nr),
        (None, Some(nr)) => Ok(i64::from(nr)),
        (None, None) => Err(SandboxError::Seccomp {
            stage: "resolve syscall name",
            message: format!("{}: no such syscall", b.name),
        }),
    }
}

/// The number this architecture gives a brokered syscall (as the filter
/// resolves it).
pub fn number(b: &Brokered) -> Result<i32> {
    Ok(resolve(b)? as i32)
}

/// Load a filter that notifies for each of `syscalls` (native architecture
/// only; others are killed) and return the listener. Call after
/// `Sandbox::apply` (no_new_privs is set there), before exec.
///
/// With `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19), once the
/// broker holds a notification only a fatal signal interrupts the wait: a
/// handled signal would otherwise restart the syscall as a second
/// notification while the broker still performs the first (a restarted
/// connect would report EALREADY or EISCONN). Older kernels refuse the
/// flag (EINVAL); the filter is then loaded without it.
pub fn install_listener(syscalls: &[Brokered]) -> Result<OwnedFd> {
    let mut rules = Vec::new();
    for b in syscalls {
        let when = b.when_arg_nonzero.map(|arg| ArgCmp {
            arg,
            cmp: Cmp::Ne(0),
        });
        rules.push(Rule {
            nr: resolve(b)?,
            when: when.into_iter().collect(),
            action: Action::Notify,
        });
    }
    let prog = super::bpf::program(&rules, Action::Allow).map_err(|e| SandboxError::Seccomp {
        stage: "compile notify filter",
        message: format!("{e:?}"),
    })?;
    match notify_sys::load_listener(&prog, true) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => notify_sys::load_listener(&prog, false),
        r => r,
    }
    .map_err(|e| SandboxError::Seccomp {
        stage: "load notify filter",
        message: e.to_string(),
    })
}

/// One suspended syscall.
#[derive(Debug, Clone, Copy)]
pub struct Notification {
    pub id: u64,
    pub pid: u32,
    pub nr: i32,
    pub args: [u64; 6],
}

/// The supervisor's end.
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
}

impl Listener {
    pub fn new(fd: OwnedFd) -> Listener {
        Listener { fd }
    }

    /// Ask for synchronous wake-ups (Linux 6.6): the broker then runs on
    /// the notifying task's CPU. An error means the kernel lacks it; the
    /// caller decides whether that matters.
    pub fn sync_wakeups(&self) -> io::Result<()> {
        notify_sys::sync_wakeup(self.fd.as_fd())
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn recv(&self) -> io::Result<Notification> {
        let n = notify_sys::recv(self.fd.as_fd())?;
        Ok(Notification {
            id: n.id,
            pid: n.pid,
            nr: n.data.nr,
            args: n.data.args,
        })
    }

    /// Still pending? Check after every read of the task's memory.
    pub fn valid(&self, id: u64) -> bool {
        notify_sys::id_valid(self.fd.as_fd(), id)
    }

    /// Fail the syscall with `errno`.
    pub fn deny(&self, id: u64, errno: i32) -> io::Result<()> {
        notify_sys::send(self.fd.as_fd(), id, 0, -errno, 0)
    }

    /// Complete the syscall with return value `val` (done by the supervisor).
    pub fn reply(&self, id: u64, val: i64) -> io::Result<()> {
        notify_sys::send(self.fd.as_fd(), id, val, 0, 0)
    }

    /// Let the kernel run the syscall as made. Only for decisions that do
    /// not depend on the task's memory (its own checks, e.g. Landlock,
    /// still apply to whatever the memory says then).
    pub fn proceed(&self, id: u64) -> io::Result<()> {
        notify_sys::send(
            self.fd.as_fd(),
            id,
            0,
            0,
            libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        )
    }

    /// Complete the syscall by installing `fd` in the task; returns its number.
    pub fn inject(&self, id: u64, fd: RawFd, cloexec: bool) -> io::Result<i32> {
        notify_sys::addfd_send(self.fd.as_fd(), id, fd, cloexec)
    }
}
