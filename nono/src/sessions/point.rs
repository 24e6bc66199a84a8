//! The supervisor's end of `nono attach`: a listening socket in the
//! session's private directory and at most one attached client at a time
//! (another is refused). Output for the client is buffered up to a bound;
//! a client that falls further behind is dropped, never the agent slowed.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use anyhow::{Context, Result};

use super::wire::{self, Frame};

/// Output buffered for a slow client before it is dropped.
const CLIENT_BACKLOG: usize = 4 << 20;

pub struct Point {
    listener: UnixListener,
    client: Option<Client>,
    /// Whether a client may attach (a detached session); otherwise every
    /// attempt is refused with `busy`.
    open: bool,
    busy: &'static str,
}

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
}

/// What a client asked for.
pub enum Request {
    Input(Vec<u8>),
    Size { rows: u16, cols: u16 },
}

impl Point {
    pub fn bind(dir: &Path, open: bool) -> Result<Point> {
        let path = dir.join("attach.sock");
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        listener.set_nonblocking(true)?;
        Ok(Point {
            listener,
            client: None,
            open,
            busy: "the session is attached to its own terminal",
        })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    pub fn attached(&self) -> bool {
        self.client.is_some()
    }

    /// The client's descriptor and whether it has output pending.
    pub fn client_fd(&self) -> Option<(BorrowedFd<'_>, bool)> {
        self.client
            .as_ref()
            .map(|c| (c.stream.as_fd(), !c.outbuf.is_empty()))
    }

    /// Take a waiting client; true when it is now attached.
    pub fn accept(&mut self) -> bool {
        let Ok((stream, _)) = self.listener.accept() else {
            return false;
        };
        let refuse = |mut s: UnixStream, why: &str| {
            let _ = s.write_all(&wire::encode(&Frame::Refused(why.into())));
        };
        if !self.open {
            refuse(stream, self.busy);
            return false;
        }
        if self.client.is_some() {
            refuse(stream, "another terminal is attached to this session");
            return false;
        }
        if stream.set_nonblocking(true).is_err() {
            return false;
        }
        self.client = Some(Client {
            stream,
            inbuf: Vec::new(),
            outbuf: Vec::new(),
        });
        true
    }

    /// Read what the client sent; a hang-up or bad frame detaches it.
    pub fn read(&mut self) -> Vec<Request> {
        let mut out = Vec::new();
        let Some(c) = &mut self.client else {
            return out;
        };
        let mut buf = [0u8; 4096];
        let gone = match c.stream.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                c.inbuf.extend_from_slice(&buf[..n]);
                false
            }
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        };
        loop {
            match wire::decode(&mut c.inbuf) {
                Ok(Some(Frame::Input(b))) => out.push(Request::Input(b)),
                Ok(Some(Frame::Size { rows, cols })) => out.push(Request::Size { rows, cols }),
                Ok(None) => break,
                Ok(Some(_)) | Err(_) => {
                    self.client = None;
                    return out;
                }
            }
        }
        if gone {
            self.client = None;
        }
        out
    }

    /// Queue a frame for the client.
    pub fn send(&mut self, f: &Frame) {
        if let Some(c) = &mut self.client {
            c.outbuf.extend_from_slice(&wire::encode(f));
            if c.outbuf.len() > CLIENT_BACKLOG {
                self.client = None;
            }
        }
    }

    pub fn flush(&mut self) {
        let Some(c) = &mut self.client else { return };
        match c.stream.write(&c.outbuf) {
            Ok(n) => {
                c.outbuf.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => self.client = None,
        }
    }

    /// The session ended: tell the client (blocking, briefly).
    pub fn end(&mut self, code: i32) {
        self.send(&Frame::Ended(code));
        if let Some(c) = &mut self.client {
            let _ = c.stream.set_nonblocking(false);
            let _ = c
                .stream
                .set_write_timeout(Some(std::time::Duration::from_secs(1)));
            let _ = c.stream.write_all(&c.outbuf);
        }
        self.client = None;
    }
}
