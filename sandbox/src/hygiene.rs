//! Process hygiene for helpers, first thing in `main`: not dumpable (no
//! ptrace or /proc reads by same-user processes, no core files), no stray
//! descriptors, and taking the inherited channel descriptors.

use std::io;
use std::os::fd::{OwnedFd, RawFd};

use crate::{sys, Result, SandboxError};

/// Non-dumpable and `RLIMIT_CORE` 0.
pub fn no_dumps() -> Result<()> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| SandboxError::Syscall {
        call: "prctl(PR_SET_DUMPABLE)",
        source: io::Error::from(e),
    })?;
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0).map_err(|e| {
        SandboxError::Syscall {
            call: "setrlimit(RLIMIT_CORE)",
            source: io::Error::from(e),
        }
    })
}

/// Close every descriptor from `first` up. Call before anything opens files.
pub fn close_from(first: RawFd) {
    sys::close_range(first);
}

/// Own the inherited descriptor `fd`, if it is open.
pub fn take_inherited(fd: RawFd) -> Option<OwnedFd> {
    sys::take_inherited(fd)
}
