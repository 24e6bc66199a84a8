//! The crate's only unsafe code.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Own a descriptor the kernel has just installed for a received
/// `SCM_RIGHTS` message.
pub(crate) fn own_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was created in this process by recvmsg for this message and is referenced nowhere else, so this is its only owner.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
