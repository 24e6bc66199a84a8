//! The broker's only unsafe code.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Close every descriptor from `first` up.
pub fn close_from(first: RawFd) {
    // SAFETY: close_range only closes descriptors of this process; nothing
    // above `first` is owned by Rust code yet (called first thing in main).
    unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
}

/// Own an inherited descriptor, if it is open.
pub fn take_fd(fd: RawFd) -> Option<OwnedFd> {
    nix::fcntl::fcntl(
        // SAFETY: borrowed only for the F_GETFD probe below, while open.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .ok()?;
    // SAFETY: the descriptor is open (checked above) and was handed to this
    // process by its parent as the channel; nothing else in it owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub enum Forked {
    Parent(nix::unistd::Pid),
    Child,
}

/// Fork the single-threaded broker.
pub fn fork() -> nix::Result<Forked> {
    // SAFETY: the broker never starts threads; the child only confines
    // itself and execs (or exits).
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// Exit at once, without running destructors.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer and never returns.
    unsafe { libc::_exit(code) }
}
