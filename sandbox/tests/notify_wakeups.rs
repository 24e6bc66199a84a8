//! The broker's synchronous wake-up request on the real kernel: the flag
//! is accepted on a fresh listener, and the kernel does check the value it
//! is given (an unknown flag, or a pointer passed where the flag belongs,
//! is refused), so an accepted request means the flag is in effect.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::os::fd::AsRawFd;

use sandbox::seccomp::notify::{install_listener, Brokered, Listener};

/// Run `f` in a forked child (the filter stays there); true if it returned true.
fn in_child(f: impl FnOnce() -> bool) -> bool {
    // SAFETY: the child only loads a filter, runs `f` and calls _exit; the parent waits for it.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            // SAFETY: prctl with constant arguments.
            let nnp = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } == 0;
            let ok = nnp && f();
            // SAFETY: _exit never returns and runs no destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => matches!(
            nix::sys::wait::waitpid(child, None).unwrap(),
            nix::sys::wait::WaitStatus::Exited(_, 0)
        ),
    }
}

fn listener() -> Option<Listener> {
    let getppid = Brokered {
        name: "getppid",
        generic_nr: None,
        when_arg_nonzero: None,
        why: "test",
    };
    install_listener(&[getppid]).ok().map(Listener::new)
}

fn set_flags(l: &Listener, arg: libc::c_ulong) -> i32 {
    // SAFETY: NOTIF_SET_FLAGS reads its argument as a value; any value is safe to pass.
    let r = unsafe { libc::ioctl(l.fd().as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, arg) };
    if r == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
    }
}

#[test]
fn synchronous_wakeups_are_accepted() {
    assert!(in_child(
        || listener().is_some_and(|l| l.sync_wakeups().is_ok())
    ));
}

#[test]
fn the_kernel_checks_the_flag_value() {
    assert!(in_child(|| {
        let Some(l) = listener() else { return false };
        let flag: u64 = 1;
        let pointer = &flag as *const u64 as libc::c_ulong;
        set_flags(&l, 2) == libc::EINVAL && set_flags(&l, pointer) == libc::EINVAL
    }));
}
