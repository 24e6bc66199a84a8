//! Passing the seccomp listener from the agent (which must create it, for
//! its own filter) to the broker, over a socketpair made before the fork.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

/// Agent side: send the listener, then the caller drops its copy.
pub fn send(sock: &UnixStream, listener: &OwnedFd) -> Result<(), String> {
    let fds = [listener.as_raw_fd()];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(b"L")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(|_| ())
    .map_err(|e| format!("cannot hand the seccomp listener to the broker: {e}"))
}

/// Broker side: exactly one descriptor, or the agent failed before sending.
pub fn receive(sock: &UnixStream) -> Result<OwnedFd, String> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("seccomp listener handoff: {e}"))?;
    for c in msg
        .cmsgs()
        .map_err(|e| format!("seccomp listener handoff: {e}"))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let [fd] = fds[..] {
                return Ok(crate::sys::own_fd(fd));
            }
            for fd in fds {
                drop(crate::sys::own_fd(fd));
            }
        }
    }
    Err("the agent did not start (no seccomp listener)".into())
}
