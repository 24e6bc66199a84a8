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

/// Fork into a fresh PID namespace (`clone` with `CLONE_NEWPID`, no new
/// stack: fork semantics). `Ok(None)` in the child, which is pid 1 there;
/// the caller's own later children stay in its namespace.
pub(crate) fn fork_into_new_pid_namespace() -> nix::Result<Option<nix::unistd::Pid>> {
    let flags = (libc::CLONE_NEWPID | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: clone with a NULL stack and no CLONE_VM/CLONE_SETTLS behaves as fork; the callers are single-threaded, so the child's copy of every lock is free.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match r {
        -1 => Err(nix::errno::Errno::last()),
        0 => Ok(None),
        pid => Ok(Some(nix::unistd::Pid::from_raw(pid as i32))),
    }
}

/// Run `f` in a throwaway child and return its exit code.
pub(crate) fn probe_in_child(f: impl FnOnce() -> i32) -> Option<i32> {
    // SAFETY: the callers are single-threaded; the child runs `f` and leaves with _exit, never returning into the caller's state.
    match unsafe { libc::fork() } {
        -1 => None,
        0 => {
            let code = f();
            // SAFETY: _exit takes an integer and never returns.
            unsafe { libc::_exit(code) }
        }
        child => match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => Some(code),
            _ => None,
        },
    }
}

/// Leave at once with `code`, after one line on stderr (if not empty).
pub(crate) fn exit_now_with(code: i32, message: &str) -> ! {
    if !message.is_empty() {
        let _ =
            std::io::Write::write_all(&mut std::io::stderr(), format!("{message}\n").as_bytes());
    }
    // SAFETY: _exit takes an integer and never returns.
    unsafe { libc::_exit(code) }
}

/// The relay's whole life (see `pidns`): hold nothing, ignore what can be
/// ignored, wait for the namespace's init and leave as it did.
pub(crate) fn relay(init: nix::unistd::Pid) -> ! {
    use nix::sys::wait::{waitpid, WaitStatus};
    close_range(3);
    // SAFETY: closing stdin and stdout, which nothing in this process uses any more.
    unsafe {
        libc::close(0);
        libc::close(1);
    }
    for sig in 1..=libc::SIGRTMAX() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP && sig != libc::SIGCHLD {
            // SAFETY: SIG_IGN installs no handler code; invalid numbers just fail.
            unsafe { libc::signal(sig, libc::SIG_IGN) };
        }
    }
    loop {
        match waitpid(init, None) {
            Ok(WaitStatus::Exited(_, code)) => exit_now_with(code, ""),
            Ok(WaitStatus::Signaled(_, sig, _)) => exit_now_with(128 + sig as i32, ""),
            Err(nix::errno::Errno::EINTR) | Ok(_) => continue,
            Err(_) => exit_now_with(1, ""),
        }
    }
}
