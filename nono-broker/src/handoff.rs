//! Passing the seccomp listener from the agent (which must create it, for
//! its own filter) to the broker. The agent cannot send it with
//! `sendmsg`: that call is already brokered by then and would wait for the
//! broker, which waits for the listener. So the agent writes the
//! descriptor's number on a socketpair made before the fork, the broker
//! takes a duplicate with `pidfd_getfd` and acknowledges, and only then
//! does the agent close its copy and exec.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use crate::error::{BrokerError, Result};

/// Agent side: announce the listener and wait until the broker holds it.
pub fn send(mut sock: &UnixStream, listener: &OwnedFd) -> Result<()> {
    const WHAT: &str = "cannot hand the seccomp listener to the broker";
    sock.write_all(&listener.as_raw_fd().to_ne_bytes())
        .map_err(BrokerError::io(WHAT))?;
    let mut ack = [0u8; 1];
    sock.read_exact(&mut ack).map_err(BrokerError::io(WHAT))?;
    Ok(())
}

/// Broker side: take the agent's listener, then let the agent go on.
pub fn receive(mut sock: &UnixStream, agent: u32) -> Result<OwnedFd> {
    let mut n = [0u8; 4];
    sock.read_exact(&mut n)
        .map_err(|_| BrokerError::AgentDidNotStart)?;
    let fd = crate::sys::borrow_fd(agent, i32::from_ne_bytes(n))
        .map_err(BrokerError::os("cannot take the agent's seccomp listener"))?;
    sock.write_all(b"k")
        .map_err(BrokerError::io("seccomp listener handoff"))?;
    Ok(fd)
}
