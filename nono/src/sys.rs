//! The front end's only unsafe code.
#![allow(unsafe_code)]

/// Leave the process immediately, without running atexit handlers or
/// destructors (a forked child must not remove the parent's temp dir).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes a plain integer and never returns.
    unsafe { libc::_exit(code) }
}

/// Make `cmd`'s child find `fd` at `target` (and nothing else of ours:
/// every other descriptor of the front end is close-on-exec), with an
/// empty signal mask.
pub fn place_fd_at(cmd: &mut std::process::Command, fd: std::os::fd::OwnedFd, target: i32) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only calls async-signal-safe
    // functions (dup2, fcntl, sigprocmask) on descriptors it owns.
    unsafe {
        cmd.pre_exec(move || {
            let src = fd.as_raw_fd();
            if src == target {
                libc::fcntl(src, libc::F_SETFD, 0);
            } else if libc::dup2(src, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
}
