//! `nono attach <session>`: this terminal becomes the session's terminal
//! (raw mode, window size passed on) until the session ends — nono then
//! exits with its status — or the user detaches with Ctrl-] (the session
//! keeps running). One terminal at a time; a foreground session is
//! attached to its own terminal already and refuses.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::registry;
use super::wire::{self, Frame};
use crate::sys;

/// The detach key.
const DETACH: u8 = 0x1d; // Ctrl-]

fn size_frame() -> Option<Frame> {
    sys::window_size(sys::stdin_fd()).map(|ws| Frame::Size {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

pub fn run(key: &str) -> Result<i32> {
    let r = registry::find(key)?;
    if !r.terminal {
        bail!("session {} has no terminal of its own to attach to", r.id);
    }
    let path = r.dir()?.join("attach.sock");
    let mut sock = UnixStream::connect(&path)
        .with_context(|| format!("cannot reach session {} ({})", r.id, path.display()))?;
    let timeout = std::env::var("NONO_PTY_ATTACH_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000u64);
    sock.set_read_timeout(Some(Duration::from_millis(timeout)))?;
    if let Some(f) = size_frame() {
        sock.write_all(&wire::encode(&f))?;
    }
    // A refusal comes at once; silence means attached.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    if let Ok(n) = sock.read(&mut chunk) {
        buf.extend_from_slice(&chunk[..n]);
        if let Ok(Some(Frame::Refused(why))) = wire::decode(&mut buf.clone()) {
            bail!("cannot attach to session {}: {why}", r.id);
        }
    }
    sock.set_read_timeout(None)?;
    crate::ui::info(format!(
        "attached to {} ({}); detach with Ctrl-]",
        r.id, r.name
    ));
    let mut winch = SigSet::empty();
    winch.add(Signal::SIGWINCH);
    winch.thread_block()?;
    let sfd = SignalFd::with_flags(&winch, SfdFlags::SFD_CLOEXEC)?;
    let raw = crate::launch::RawMode::enter();
    let code = relay(&mut sock, &sfd, buf)?;
    drop(raw);
    match code {
        Some(code) => Ok(code),
        None => {
            crate::ui::info(format!(
                "detached; the session runs on (nono attach {})",
                r.id
            ));
            Ok(0)
        }
    }
}

/// Relay until the session ends (its status) or the user detaches (None).
fn relay(sock: &mut UnixStream, sfd: &SignalFd, mut buf: Vec<u8>) -> Result<Option<i32>> {
    let mut chunk = [0u8; 16384];
    loop {
        while let Some(f) = wire::decode(&mut buf).map_err(anyhow::Error::msg)? {
            match f {
                Frame::Output(b) => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&b).and_then(|()| out.flush());
                }
                Frame::Ended(code) => return Ok(Some(code)),
                Frame::Refused(why) => bail!("{why}"),
                _ => {}
            }
        }
        let mut fds = [
            PollFd::new(sys::stdin_fd(), PollFlags::POLLIN),
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r?,
        };
        let ready = |f: &PollFd| f.any().unwrap_or(false);
        let (stdin, socket, signal) = (ready(&fds[0]), ready(&fds[1]), ready(&fds[2]));
        if signal {
            let _ = sfd.read_signal();
            if let Some(f) = size_frame() {
                sock.write_all(&wire::encode(&f))?;
            }
        }
        if stdin {
            let n = std::io::stdin().lock().read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            if let Some(i) = chunk[..n].iter().position(|b| *b == DETACH) {
                if i > 0 {
                    sock.write_all(&wire::encode(&Frame::Input(chunk[..i].to_vec())))?;
                }
                return Ok(None);
            }
            sock.write_all(&wire::encode(&Frame::Input(chunk[..n].to_vec())))?;
        }
        if socket {
            let n = sock.read(&mut chunk)?;
            if n == 0 {
                bail!("the session's supervisor went away");
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}
