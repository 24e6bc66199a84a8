//! A pseudo-terminal harness: run a command as the controlling process of
//! a fresh terminal (as a user's shell would), type into it, resize it,
//! and read what it shows. Every wait is bounded.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::pty::{openpty, Winsize};

pub struct Term {
    master: OwnedFd,
    pub child: Child,
    pub screen: String,
    /// `/dev/pts/N` of this terminal (the "user's" terminal).
    pub path: String,
}

fn size(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl Term {
    /// Start `cmd` on a new 33x101 terminal.
    pub fn spawn(cmd: Command) -> Term {
        Term::spawn_telling(cmd, None)
    }

    /// As `spawn`, with the terminal's path in the environment variable
    /// `var` of the command.
    pub fn spawn_telling(mut cmd: Command, var: Option<&str>) -> Term {
        let pair = openpty(Some(&size(33, 101)), None).unwrap();
        let path = nix::unistd::ttyname(&pair.slave)
            .unwrap()
            .display()
            .to_string();
        if let Some(v) = var {
            cmd.env(v, &path);
        }
        fcntl(&pair.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let io = || Stdio::from(pair.slave.try_clone().unwrap());
        cmd.stdin(io()).stdout(io()).stderr(io());
        // SAFETY: setsid and ioctl(TIOCSCTTY) are async-signal-safe and act on fd 0, which the Stdio setup above made the terminal.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(pair.slave);
        Term {
            master: pair.master,
            child,
            screen: String::new(),
            path,
        }
    }

    fn pump(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        match nix::unistd::read(&self.master, &mut buf) {
            Ok(0) | Err(nix::errno::Errno::EIO) => false,
            Ok(n) => {
                self.screen.push_str(&String::from_utf8_lossy(&buf[..n]));
                true
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                true
            }
        }
    }

    /// Read until the screen shows `text` (panics after `limit`).
    pub fn expect(&mut self, text: &str, limit: Duration) {
        let start = Instant::now();
        while !self.screen.contains(text) {
            assert!(
                start.elapsed() < limit && self.pump(),
                "{text:?} never appeared; screen: {:?}",
                self.screen
            );
        }
    }

    /// Read until `text` shows after the last `after` on the screen.
    pub fn expect_after(&mut self, after: &str, text: &str, limit: Duration) {
        let start = Instant::now();
        let seen = |s: &str| {
            s.rfind(after)
                .is_some_and(|i| s[i + after.len()..].contains(text))
        };
        while !seen(&self.screen) {
            assert!(
                start.elapsed() < limit && self.pump(),
                "{text:?} never appeared after {after:?}; screen: {:?}",
                self.screen
            );
        }
    }

    /// Whether the terminal is in canonical mode with echo (as a shell
    /// leaves it).
    pub fn cooked(&self) -> bool {
        let t = nix::sys::termios::tcgetattr(&self.master).unwrap();
        use nix::sys::termios::LocalFlags as L;
        t.local_flags.contains(L::ICANON | L::ECHO | L::ISIG)
    }

    pub fn type_in(&self, bytes: &[u8]) {
        nix::unistd::write(&self.master, bytes).unwrap();
    }

    /// Change the terminal's size (the kernel signals its foreground group).
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = size(rows, cols);
        let fd = self.master.as_fd().as_raw_fd();
        // SAFETY: TIOCSWINSZ reads the winsize we pass on a descriptor we own.
        let rc = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
        assert_eq!(rc, 0);
    }

    /// Wait for the command (bounded), reading the rest of the screen.
    pub fn finish(mut self, limit: Duration) -> (Option<i32>, String) {
        let start = Instant::now();
        loop {
            while self.pump() && start.elapsed() < limit {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                while self.pump() && start.elapsed() < limit + Duration::from_secs(1) {}
                return (st.code(), self.screen);
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("did not finish; screen: {:?}", self.screen);
            }
        }
    }
}
