//! Blind tunnels relayed in the kernel: `splice(2)` from one socket into a
//! pipe and from the pipe into the other socket, one pipe per direction,
//! so tunnel bytes never enter the proxy's memory.
//!
//! Readiness comes from tokio (`TcpStream::readable`/`writable` and
//! `try_io`) rather than from dedicated relay threads: the sockets are
//! already registered with the runtime's reactor, a tunnel costs no thread
//! and no stack, and the runtime's two workers serve every tunnel. The
//! pipes are never waited on: each direction fills its pipe only when it
//! is empty and drains it completely before reading again, so a splice
//! that would block is always the socket's doing.
//!
//! EOF in one direction shuts down writing on the other socket (half
//! close) and the other direction goes on; an error in either direction
//! ends the tunnel (both sockets are closed when dropped).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::fcntl::{splice, OFlag, SpliceFFlags};
use nix::sys::socket::{shutdown, Shutdown};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Bytes moved per splice call: a pipe's default capacity (16 pages). The
/// pipes are not enlarged: pipe pages count against the user's budget
/// (`fs.pipe-user-pages-soft`), which the agent shares, and 256 KiB pipes
/// measured no faster on loopback.
const CHUNK: usize = 64 * 1024;

/// Relay `a` ⇄ `b` until both directions reached EOF or one failed.
pub async fn tunnel(a: TcpStream, b: TcpStream) -> io::Result<()> {
    let (ab, ba) = (Pipe::new()?, Pipe::new()?);
    tokio::try_join!(one_way(&a, &b, &ab), one_way(&b, &a, &ba))?;
    Ok(())
}

/// Write bytes already read from `to`'s peer (hyper's read-ahead) first.
pub async fn write_pending(to: &mut TcpStream, pending: &[u8]) -> io::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    to.write_all(pending).await
}

/// A non-blocking pipe: `r` is read, `w` is written.
struct Pipe {
    r: OwnedFd,
    w: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let (r, w) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        Ok(Pipe { r, w })
    }
}

fn flags() -> SpliceFFlags {
    SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK
}

/// `from` → `to` through `pipe` until EOF on `from`, then half-close `to`.
async fn one_way(from: &TcpStream, to: &TcpStream, pipe: &Pipe) -> io::Result<()> {
    loop {
        let n = fill(from, pipe).await?;
        if n == 0 {
            // Ignored: the peer may be gone already, which ends nothing more.
            let _ = shutdown(to.as_raw_fd(), Shutdown::Write);
            return Ok(());
        }
        drain(to, pipe, n).await?;
    }
}

/// Move what `from` has (at most a pipe's worth) into the empty `pipe`.
async fn fill(from: &TcpStream, pipe: &Pipe) -> io::Result<usize> {
    loop {
        from.readable().await?;
        match from.try_io(Interest::READABLE, || {
            splice(from, None, &pipe.w, None, CHUNK, flags()).map_err(io::Error::from)
        }) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Move all `n` bytes in `pipe` into `to`.
async fn drain(to: &TcpStream, pipe: &Pipe, mut n: usize) -> io::Result<()> {
    while n > 0 {
        to.writable().await?;
        match to.try_io(Interest::WRITABLE, || {
            splice(&pipe.r, None, to, None, n, flags()).map_err(io::Error::from)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(m) => n -= m,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
