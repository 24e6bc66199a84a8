//! The front end's only unsafe code.
#![allow(unsafe_code)]

use nix::unistd::{ForkResult, Pid};

/// Which side of a fork we are on.
pub enum Forked {
    Parent(Pid),
    Child,
}

/// Fork the (single-threaded) front end.
pub fn fork() -> nix::Result<Forked> {
    // SAFETY: the front end never starts threads before launching, so the
    // child inherits a consistent heap and locks; it then confines itself and
    // execs or exits.
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Parent { child } => Ok(Forked::Parent(child)),
        ForkResult::Child => Ok(Forked::Child),
    }
}

/// Leave the process immediately, without running atexit handlers or
/// destructors (a forked child must not remove the parent's temp dir).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes a plain integer and never returns.
    unsafe { libc::_exit(code) }
}
