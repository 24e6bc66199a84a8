//! Typed endpoints over `SOCK_SEQPACKET` socketpairs.

use std::io::IoSlice;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use sendfd::{RecvWithFd, SendWithFd};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{codec, IpcError, Result, MAX_FDS, MAX_FRAME};

/// One side of a channel: sends `S`, receives `R`.
#[derive(Debug)]
pub struct Endpoint<S, R> {
    sock: UnixStream,
    _family: PhantomData<fn(S) -> R>,
}

/// A connected pair: `(a, b)` where `a` sends `S`/receives `R` and `b` the reverse.
pub fn socketpair<S, R>() -> Result<(Endpoint<S, R>, Endpoint<R, S>)>
where
    S: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned,
{
    use nix::sys::socket::{socketpair as sp, AddressFamily, SockFlag, SockType};
    let (a, b) = sp(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| IpcError::Io(e.into()))?;
    Ok((Endpoint::from_fd(a), Endpoint::from_fd(b)))
}

impl<S: Serialize, R: DeserializeOwned> Endpoint<S, R> {
    /// Wrap an inherited channel descriptor (a helper's fixed fd).
    pub fn from_fd(fd: OwnedFd) -> Self {
        Endpoint {
            sock: UnixStream::from(fd),
            _family: PhantomData,
        }
    }

    /// Send one message with up to [`MAX_FDS`] descriptors.
    pub fn send(&self, msg: &S, fds: &[BorrowedFd<'_>]) -> Result<()> {
        if fds.len() > MAX_FDS {
            return Err(IpcError::TooManyFds(fds.len()));
        }
        let frame = codec::encode(msg)?;
        let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let n = if raw.is_empty() {
            std::io::Write::write_vectored(&mut &self.sock, &[IoSlice::new(&frame)])?
        } else {
            self.sock.send_with_fd(&frame, &raw)?
        };
        if n != frame.len() {
            return Err(IpcError::Io(std::io::Error::other(
                "short send on a packet socket",
            )));
        }
        Ok(())
    }

    /// Receive one message and the descriptors sent with it (close-on-exec).
    pub fn recv(&self) -> Result<(R, Vec<OwnedFd>)> {
        // One byte more than the limit: a longer packet shows up as oversized
        // instead of being silently truncated.
        let mut buf = vec![0u8; MAX_FRAME + 1];
        let mut raw = [-1 as RawFd; MAX_FDS];
        let (n, nfds) = self.sock.recv_with_fd(&mut buf, &mut raw)?;
        let fds: Vec<OwnedFd> = raw[..nfds]
            .iter()
            .map(|&fd| adopt(fd))
            .collect::<Result<_>>()?;
        if n == 0 && nfds == 0 {
            return Err(IpcError::Closed);
        }
        if n > MAX_FRAME {
            return Err(IpcError::FrameTooLarge(n));
        }
        Ok((codec::decode(&buf[..n])?, fds))
    }

    /// Send nothing more: the peer's next receive, once it has read
    /// everything sent before, reports [`IpcError::Closed`]. Receiving
    /// keeps working (the peer can still answer).
    pub fn close_send(&self) -> Result<()> {
        self.sock.shutdown(std::net::Shutdown::Write)?;
        Ok(())
    }

    /// Receive a message that must come without descriptors.
    pub fn recv_plain(&self) -> Result<R> {
        let (msg, fds) = self.recv()?;
        if !fds.is_empty() {
            return Err(IpcError::Unexpected(
                "descriptors with a message that takes none",
            ));
        }
        Ok(msg)
    }

    /// The socket, for polling.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Give up the descriptor (to place it at a helper's fixed number).
    pub fn into_fd(self) -> OwnedFd {
        OwnedFd::from(self.sock)
    }
}

/// Take ownership of a received descriptor and mark it close-on-exec.
fn adopt(fd: RawFd) -> Result<OwnedFd> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    let owned = crate::sys::own_received_fd(fd);
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| IpcError::Io(e.into()))?;
    Ok(owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{BrokerRequest, BrokerResponse};

    #[test]
    fn messages_and_descriptors_cross() {
        let (front, broker) = socketpair::<BrokerRequest, BrokerResponse>().unwrap();
        let f = std::fs::File::open("/dev/null").unwrap();
        front
            .send(&BrokerRequest::Signal { signal: 15 }, &[f.as_fd()])
            .unwrap();
        let (msg, fds) = broker.recv().unwrap();
        assert_eq!(msg, BrokerRequest::Signal { signal: 15 });
        assert_eq!(fds.len(), 1);
        broker
            .send(&BrokerResponse::Exited { code: 3 }, &[])
            .unwrap();
        assert_eq!(
            front.recv_plain().unwrap(),
            BrokerResponse::Exited { code: 3 }
        );
    }

    #[test]
    fn too_many_fds_are_refused_on_send() {
        let (front, _b) = socketpair::<BrokerRequest, BrokerResponse>().unwrap();
        let f = std::fs::File::open("/dev/null").unwrap();
        let fds = vec![f.as_fd(); MAX_FDS + 1];
        assert!(matches!(
            front.send(&BrokerRequest::Signal { signal: 1 }, &fds),
            Err(IpcError::TooManyFds(_))
        ));
    }

    #[test]
    fn garbage_and_oversized_packets_are_errors() {
        use std::io::Write;
        let (a, b) = socketpair::<BrokerRequest, BrokerResponse>().unwrap();
        let raw = UnixStream::from(a.into_fd());
        (&raw).write_all(&[0xff; 7]).unwrap();
        assert!(b.recv().is_err());
        (&raw).write_all(&vec![0u8; MAX_FRAME + 10]).unwrap();
        assert!(matches!(b.recv(), Err(IpcError::FrameTooLarge(_))));
        drop(raw);
        assert!(matches!(b.recv(), Err(IpcError::Closed)));
    }
}
