//! The agent's own pseudo-terminal (`nono run` with a terminal on stdin
//! and stdout). The agent gets the slave side as its controlling terminal
//! in a session the broker leads, as that terminal's foreground process
//! group (so Ctrl-Z stops it, see `suspend.rs`); the user's terminal
//! stays with nono, in raw mode, and nono relays bytes both ways. So the
//! agent never holds the user's terminal: it cannot inject input into it
//! (TIOCSTI), take its foreground (TIOCSPGRP) or read what the user types
//! after the session; Ctrl-C and the other special keys are interpreted by
//! the agent's terminal and signal the agent's foreground group only
//! (never nono or its helpers); window size changes are passed on.
//! Leaving restores the user's terminal exactly as it was.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags};
use nix::sys::termios::{self, SetArg, Termios};

use crate::sessions::output::Output;
use crate::sessions::point::{Point, Request};
use crate::sessions::wire::Frame;
use crate::sys;

/// Most bytes buffered towards the agent before nono stops reading the
/// user's keyboard (the agent is not reading its input).
const INPUT_MAX: usize = 64 * 1024;

/// A pseudo-terminal for the agent, before the session starts.
#[derive(Debug)]
pub struct Pty {
    master: OwnedFd,
    slave: Option<OwnedFd>,
    /// `/dev/pts/N`, granted to the agent instead of the user's terminal.
    pub slave_path: PathBuf,
}

/// Whether the agent gets a pseudo-terminal: the user's stdin and stdout
/// are terminals.
pub fn wanted() -> bool {
    nix::unistd::isatty(io::stdin().as_fd()).unwrap_or(false)
        && nix::unistd::isatty(io::stdout().as_fd()).unwrap_or(false)
}

/// Open one with the user's terminal settings and window size.
pub fn open() -> Result<Pty> {
    let stdin = io::stdin();
    let settings = termios::tcgetattr(stdin.as_fd()).ok();
    let size = sys::window_size(stdin.as_fd()).or(Some(libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }));
    let pair = nix::pty::openpty(size.as_ref(), settings.as_ref())
        .context("cannot open a pseudo-terminal for the command")?;
    let slave_path =
        nix::unistd::ttyname(&pair.slave).context("cannot name the command's pseudo-terminal")?;
    fcntl(&pair.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .context("pseudo-terminal: non-blocking")?;
    Ok(Pty {
        master: pair.master,
        slave: Some(pair.slave),
        slave_path,
    })
}

impl Pty {
    /// The slave side, handed to the broker once (nono keeps no copy, so
    /// the master reports the end once the agent's side is closed).
    pub fn take_slave(&mut self) -> Option<OwnedFd> {
        self.slave.take()
    }
}

/// The user's terminal in raw mode, relayed to the agent's; restored on
/// drop.
pub struct Relay {
    pty: Pty,
    /// A detached session: no user terminal, only attach clients.
    headless: bool,
    /// The session's kept output and its attach socket.
    log: Option<Output>,
    point: Option<Point>,
    user: RawMode,
    to_agent: Vec<u8>,
    input_open: bool,
    output_open: bool,
    /// Whether the agent switched to the alternate screen (a full-screen
    /// interface), and the last bytes seen, for sequences split by reads.
    alt_screen: bool,
    tail: Vec<u8>,
}

/// Escape sequences that switch to the alternate screen.
const ALT_SCREEN: [&[u8]; 3] = [b"\x1b[?1049h", b"\x1b[?1047h", b"\x1b[?47h"];

impl Relay {
    /// Relay between the agent's terminal and the user's (unless
    /// `headless`), keeping output in and taking attach clients on the
    /// session's directory.
    pub fn start(pty: Pty, headless: bool, session: Option<&Path>) -> Result<Relay> {
        let user = if headless {
            RawMode::none()
        } else {
            RawMode::enter()
        };
        let point = match session {
            Some(dir) => Some(Point::bind(dir, headless)?),
            None => None,
        };
        Ok(Relay {
            pty,
            headless,
            log: session.map(Output::new),
            point,
            user,
            to_agent: Vec::new(),
            input_open: true,
            output_open: true,
            alt_screen: false,
            tail: Vec::new(),
        })
    }

    /// Run `f` with the user's terminal in its own mode (a prompt of nono's).
    pub fn cooked<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.user.leave();
        let out = f();
        self.user.resume();
        out
    }

    /// A detached session (no user terminal).
    pub fn is_headless(&self) -> bool {
        self.headless
    }

    /// The user's terminal changed size: pass it on.
    pub fn resize(&self) {
        if let Some(ws) = sys::window_size(io::stdin().as_fd()) {
            let _ = sys::set_window_size(self.pty.master.as_fd(), &ws);
        }
    }

    /// What to poll, always four entries: the user's stdin, the master,
    /// the attach socket, an attached client (absent ones wait for nothing).
    pub fn poll_fds(&self) -> Vec<PollFd<'_>> {
        let none = |fd| PollFd::new(fd, PollFlags::empty());
        let mut master = PollFlags::empty();
        if self.output_open {
            master |= PollFlags::POLLIN;
        }
        if !self.to_agent.is_empty() {
            master |= PollFlags::POLLOUT;
        }
        let master_fd = self.pty.master.as_fd();
        let stdin_fd: BorrowedFd<'static> = sys::stdin_fd();
        let reading = !self.headless && self.input_open && self.to_agent.len() < INPUT_MAX;
        let mut out = vec![
            if reading {
                PollFd::new(stdin_fd, PollFlags::POLLIN)
            } else {
                none(stdin_fd)
            },
            PollFd::new(master_fd, master),
        ];
        match &self.point {
            Some(p) => {
                out.push(PollFd::new(p.listener_fd(), PollFlags::POLLIN));
                out.push(match p.client_fd() {
                    Some((fd, pending)) => {
                        let mut f = PollFlags::POLLIN;
                        if pending {
                            f |= PollFlags::POLLOUT;
                        }
                        PollFd::new(fd, f)
                    }
                    None => none(master_fd),
                });
            }
            None => out.extend([none(master_fd), none(master_fd)]),
        }
        out
    }

    /// Handle what `poll` reported for the four entries of `poll_fds`.
    pub fn on_ready(&mut self, ev: [PollFlags; 4]) {
        let any_in = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
        if ev[0].intersects(any_in) {
            self.read_input();
        }
        if ev[2].contains(PollFlags::POLLIN) {
            self.accept();
        }
        if ev[3].intersects(any_in) {
            self.serve_client();
        }
        if ev[1].contains(PollFlags::POLLOUT) {
            self.write_input();
        }
        if ev[1].intersects(any_in) {
            self.copy_output();
        }
        if ev[3].contains(PollFlags::POLLOUT) {
            if let Some(p) = &mut self.point {
                p.flush();
            }
        }
    }

    fn accept(&mut self) {
        let Some(p) = &mut self.point else { return };
        if p.accept() {
            // The recent screen (and an acknowledgement when empty).
            let recent = self.log.as_ref().map(Output::recent).unwrap_or_default();
            p.send(&Frame::Output(recent));
        }
    }

    fn serve_client(&mut self) {
        let Some(p) = &mut self.point else { return };
        for req in p.read() {
            match req {
                Request::Input(b) => self.to_agent.extend_from_slice(&b),
                Request::Size { rows, cols } => {
                    let ws = libc::winsize {
                        ws_row: rows,
                        ws_col: cols,
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    let _ = sys::set_window_size(self.pty.master.as_fd(), &ws);
                }
            }
        }
    }

    /// The session ended with `code`: tell an attached client.
    pub fn end(&mut self, code: i32) {
        if let Some(p) = &mut self.point {
            p.end(code);
        }
    }

    fn read_input(&mut self) {
        let mut buf = [0u8; 4096];
        match io::stdin().lock().read(&mut buf) {
            Ok(0) => self.input_open = false,
            Ok(n) => self.to_agent.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.input_open = false,
        }
    }

    fn write_input(&mut self) {
        match nix::unistd::write(&self.pty.master, &self.to_agent) {
            Ok(n) => {
                self.to_agent.drain(..n);
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(_) => self.to_agent.clear(),
        }
    }

    /// Copy what the agent wrote to the user's terminal; false once the
    /// agent's side is closed (EIO) or nothing is pending.
    fn copy_output(&mut self) -> bool {
        let mut buf = [0u8; 16384];
        match nix::unistd::read(&self.pty.master, &mut buf) {
            Ok(0) | Err(Errno::EIO) => {
                self.output_open = false;
                false
            }
            Ok(n) => {
                let bytes = &buf[..n];
                self.watch(bytes);
                if !self.headless {
                    let mut out = io::stdout().lock();
                    let _ = out.write_all(bytes).and_then(|()| out.flush());
                }
                if let Some(log) = &mut self.log {
                    log.append(bytes);
                }
                if let Some(p) = self.point.as_mut().filter(|p| p.attached()) {
                    p.send(&Frame::Output(bytes.to_vec()));
                }
                true
            }
            Err(_) => false,
        }
    }

    fn watch(&mut self, bytes: &[u8]) {
        if self.alt_screen {
            return;
        }
        self.tail.extend_from_slice(bytes);
        self.alt_screen = ALT_SCREEN
            .iter()
            .any(|seq| self.tail.windows(seq.len()).any(|w| w == *seq));
        let keep = self.tail.len().saturating_sub(8);
        self.tail.drain(..keep);
    }

    /// Whether the agent has entered a full-screen interface.
    pub fn in_alt_screen(&self) -> bool {
        self.alt_screen
    }

    /// After the agent ended: copy what it wrote last (bounded in time,
    /// for descendants that still hold the terminal).
    pub fn drain(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
        while self.output_open && std::time::Instant::now() < deadline {
            let mut fds = [PollFd::new(self.pty.master.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(50u16)) {
                Ok(n) if n > 0 => {
                    if !self.copy_output() {
                        break;
                    }
                }
                _ => break,
            }
        }
    }
}

/// The user's terminal (stdin) in raw mode while this lives; its own
/// settings come back on drop (or for a while with `leave`).
pub struct RawMode(Option<Termios>);

impl RawMode {
    /// Raw mode, if stdin is a terminal.
    pub fn enter() -> RawMode {
        let mode = RawMode(termios::tcgetattr(io::stdin().as_fd()).ok());
        mode.resume();
        mode
    }

    /// No terminal to manage (a detached session).
    pub fn none() -> RawMode {
        RawMode(None)
    }

    pub fn resume(&self) {
        if let Some(saved) = &self.0 {
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &raw);
        }
    }

    pub fn leave(&self) {
        if let Some(saved) = &self.0 {
            let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, saved);
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.leave();
    }
}
