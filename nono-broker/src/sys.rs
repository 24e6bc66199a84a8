//! The broker's only unsafe code.
#![allow(unsafe_code)]

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
