//! Raw system calls this crate needs that no safe wrapper offers.
#![allow(unsafe_code)]

use std::io;

use crate::{Result, SandboxError};

const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;

/// The Landlock ABI version the running kernel offers (0 when unavailable).
pub(crate) fn landlock_abi_version() -> u32 {
    // SAFETY: landlock_create_ruleset with a NULL attr, size 0 and the VERSION flag only returns the ABI number; it reads and writes no memory.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(v).unwrap_or(0)
}

/// Mark every descriptor `>= first` close-on-exec, so only `0..first` reach
/// the next program.
pub fn close_fds_from(first: u32) -> Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes flags on this process's descriptor table; no memory is passed.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        Ok(())
    } else {
        Err(SandboxError::Syscall {
            call: "close_range",
            source: io::Error::last_os_error(),
        })
    }
}

/// Whether this process may create a user namespace, tried in a throwaway child.
pub(crate) fn can_unshare_user_namespace() -> bool {
    // SAFETY: fork in the child only calls async-signal-safe functions (unshare, _exit) before exiting; the parent waits for it.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => false,
        0 => {
            // SAFETY: unshare takes only flags; _exit never returns.
            unsafe {
                let r = libc::unshare(libc::CLONE_NEWUSER);
                libc::_exit(if r == 0 { 0 } else { 1 })
            }
        }
        child => {
            let mut status = 0;
            // SAFETY: waitpid writes the status into our local variable.
            let r = unsafe { libc::waitpid(child, &mut status, 0) };
            r == child && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
        }
    }
}

/// The `Seccomp:` mode of this process (0 none, 1 strict, 2 filter), or
/// `None` when the kernel lacks seccomp.
pub(crate) fn seccomp_mode() -> Option<i32> {
    // SAFETY: PR_GET_SECCOMP takes no pointers.
    let r = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    (r >= 0).then_some(r)
}

/// Close every descriptor from `first` up.
pub(crate) fn close_range(first: std::os::fd::RawFd) {
    // SAFETY: close_range only closes this process's descriptors; callers run it before Rust code owns any of them.
    unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
}

/// Own an inherited descriptor, if open.
pub(crate) fn take_inherited(fd: std::os::fd::RawFd) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_GETFD reads only this process's descriptor table.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the descriptor is open (checked above) and was handed to this process by its parent for this purpose; nothing else in it owns it.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Put SIGPIPE and SIGTTOU back to their default actions. Rust's runtime
/// ignores SIGPIPE at start-up, the broker ignores SIGTTOU (it writes
/// messages from a background process group), and an ignored signal stays
/// ignored across `execve`.
pub(crate) fn signals_default() -> nix::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGPIPE, Signal::SIGTTOU] {
        // SAFETY: installing SIG_DFL runs no handler code, so no async-signal-safety requirement arises; the previous action is discarded.
        unsafe { sigaction(sig, &dfl) }?;
    }
    Ok(())
}
