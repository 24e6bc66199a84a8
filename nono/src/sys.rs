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

/// What [`pin_read_only`] mounts, prepared before the fork (the child may
/// only make async-signal-safe calls, so nothing is allocated there).
#[derive(Debug)]
pub struct Pinning {
    /// Path, and the flags of its read-only remount (None: bind only).
    mounts: Vec<(std::ffi::CString, Option<libc::c_ulong>)>,
    uid_map: std::ffi::CString,
    gid_map: std::ffi::CString,
    /// The working directory, entered again once the mounts are made: the
    /// old one is the directory *under* any mount stacked on it, where a
    /// relative path would never meet the pins.
    cwd: Option<std::ffi::CString>,
}

/// The mount flags a remount must keep (locked in a user namespace).
fn kept_flags(st: &libc::statvfs) -> libc::c_ulong {
    let map = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    map.iter()
        .filter(|(st_flag, _)| st.f_flag & st_flag != 0)
        .fold(0, |acc, (_, ms)| acc | ms)
}

/// Prepare `paths` (parents before children; `true`: read-only).
pub fn prepare_pinning(paths: &[(std::path::PathBuf, bool)]) -> std::io::Result<Pinning> {
    use std::os::unix::ffi::OsStrExt;
    let mut mounts = Vec::new();
    for (p, ro) in paths {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        let flags = if *ro {
            let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
            // SAFETY: c is a NUL-terminated path; st is written by statvfs before it is read, and only read on success.
            let st = unsafe {
                if libc::statvfs(c.as_ptr(), st.as_mut_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                st.assume_init()
            };
            Some(libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | kept_flags(&st))
        } else {
            None
        };
        mounts.push((c, flags));
    }
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let cs = |s: String| {
        std::ffi::CString::new(s)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| std::ffi::CString::new(d.as_os_str().as_bytes()).ok());
    Ok(Pinning {
        cwd,
        mounts,
        uid_map: cs(format!("{uid} {uid} 1\n"))?,
        gid_map: cs(format!("{gid} {gid} 1\n"))?,
    })
}

/// `open`+`write` of a /proc/self file; async-signal-safe.
fn write_proc(path: &std::ffi::CStr, text: &std::ffi::CStr) -> std::io::Result<()> {
    let bytes = text.to_bytes();
    // SAFETY: path is NUL-terminated; the buffer is valid for its length; the fd is closed before returning.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if n != bytes.len() as isize {
            return Err(err);
        }
    }
    Ok(())
}

/// A private mount namespace (with a user namespace mapping only our own
/// ids when a plain one is not permitted), mounts made slaves so nothing
/// propagates back, then each pin bound onto itself (read-only where
/// asked). Async-signal-safe: runs between fork and exec.
fn enter_pinning(p: &Pinning) -> std::io::Result<()> {
    let err = std::io::Error::last_os_error;
    // SAFETY: unshare, prctl and mount take plain integers and NUL-terminated strings prepared before the fork; nothing here allocates.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
                return Err(err());
            }
            // A non-dumpable process's /proc/self files belong to root.
            let was = libc::prctl(libc::PR_GET_DUMPABLE);
            libc::prctl(libc::PR_SET_DUMPABLE, 1);
            let written = write_proc(c"/proc/self/setgroups", c"deny")
                .and_then(|()| write_proc(c"/proc/self/uid_map", &p.uid_map))
                .and_then(|()| write_proc(c"/proc/self/gid_map", &p.gid_map));
            libc::prctl(libc::PR_SET_DUMPABLE, was.max(0));
            written?;
        }
        let none = std::ptr::null();
        if libc::mount(
            none,
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_SLAVE,
            none.cast(),
        ) != 0
        {
            return Err(err());
        }
        for (path, ro) in &p.mounts {
            if libc::mount(
                path.as_ptr(),
                path.as_ptr(),
                none,
                libc::MS_BIND,
                none.cast(),
            ) != 0
            {
                return Err(err());
            }
            if let Some(flags) = ro {
                if libc::mount(none, path.as_ptr(), none, *flags, none.cast()) != 0 {
                    return Err(err());
                }
            }
        }
        if let Some(cwd) = &p.cwd {
            if libc::chdir(cwd.as_ptr()) != 0 {
                return Err(err());
            }
        }
    }
    Ok(())
}

/// Make `cmd`'s child (and so everything it starts) see the pins.
pub fn pin_read_only(cmd: &mut std::process::Command, p: Pinning) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure only calls enter_pinning, which makes async-signal-safe system calls on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || enter_pinning(&p));
    }
}

/// `wrap`: this process enters the pinned namespace itself (before it
/// seals itself and execs).
pub fn pin_read_only_now(p: &Pinning) -> std::io::Result<()> {
    enter_pinning(p)
}
