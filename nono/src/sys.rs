//! The front end's only unsafe code.
#![allow(unsafe_code)]

/// Leave the process immediately, without running atexit handlers or
/// destructors (a forked child must not remove the parent's temp dir).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes a plain integer and never returns.
    unsafe { libc::_exit(code) }
}

/// Start `cmd`'s child in a session of its own, away from the user's
/// terminal: no terminal-generated signal (Ctrl-C, Ctrl-Z, hang-up) reaches
/// it. For the helpers that never use the terminal (proxy, keyholder).
pub fn own_session(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no memory; it only fails for a group leader, which a freshly forked child is not.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Make `cmd`'s child find each descriptor at its target number (and
/// nothing else of ours: every other descriptor of the front end is
/// close-on-exec), with an empty signal mask.
pub fn place_fds(cmd: &mut std::process::Command, fds: Vec<(std::os::fd::OwnedFd, i32)>) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only calls async-signal-safe functions (fcntl, dup2, sigprocmask) on descriptors it owns. Sources are first moved above every target so no dup2 clobbers another source.
    unsafe {
        cmd.pre_exec(move || {
            let mut high = Vec::with_capacity(fds.len());
            for (fd, target) in &fds {
                let h = libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD, 64);
                if h < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                high.push((h, *target));
            }
            for (h, target) in high {
                if libc::dup2(h, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(h);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
}

/// The window size of the terminal at `fd`, if it is one.
pub fn window_size(fd: std::os::fd::BorrowedFd<'_>) -> Option<libc::winsize> {
    use std::os::fd::AsRawFd;
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we own.
    (unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } == 0).then_some(ws)
}

/// Set the window size of the terminal at `fd` (on a pseudo-terminal's
/// master, the kernel then sends SIGWINCH to its foreground group).
pub fn set_window_size(fd: std::os::fd::BorrowedFd<'_>, ws: &libc::winsize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: TIOCSWINSZ only reads the winsize we pass.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Standard input, borrowed for the life of the process.
pub fn stdin_fd() -> std::os::fd::BorrowedFd<'static> {
    std_fd(0)
}

/// Standard descriptor 0, 1 or 2, borrowed for the life of the process.
pub fn std_fd(fd: i32) -> std::os::fd::BorrowedFd<'static> {
    assert!((0..=2).contains(&fd), "not a standard descriptor");
    // SAFETY: fds 0-2 are open for the whole life of nono (std keeps them; nono never closes them).
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

/// Take ownership of an inherited descriptor, if it is open.
pub fn adopt_fd(fd: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_GETFD only queries the descriptor table.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the descriptor is open and nothing else in this process owns it (callers adopt each inherited descriptor once, at start).
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
