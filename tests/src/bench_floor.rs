//! `bench-notify-floor N`: the kernel's floor for a brokered call — N
//! `getppid` calls, each suspended by the notify filter nono installs for
//! its agents (`sandbox::seccomp::notify`) and answered at once by a
//! supervisor process that does nothing else (synchronous wake-ups on, as
//! the broker asks), as the broker is a process of its own.
//! `bench-notify-floor-thread N`: the same with the supervisor a thread of
//! the caller (no address-space switch). Prints nanoseconds per call. Run
//! bare: it loads its own filter, on the calling thread only.

use std::io;
use std::os::fd::OwnedFd;

use sandbox::seccomp::notify::{install_listener, Brokered, Listener};

/// Set no_new_privs and notify for getppid on the calling thread.
fn load() -> io::Result<OwnedFd> {
    // SAFETY: prctl with constant arguments; only sets no_new_privs.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let getppid = Brokered {
        name: "getppid",
        generic_nr: None,
        when_arg_nonzero: None,
        why: "the floor benchmark",
    };
    install_listener(&[getppid]).map_err(io::Error::other)
}

/// Answer `n` notifications with 0, as soon as each arrives.
fn supervise(listener: OwnedFd, n: u32) -> io::Result<()> {
    let l = Listener::new(listener);
    l.sync_wakeups()?;
    for _ in 0..n {
        let req = l.recv()?;
        l.reply(req.id, 0)?;
    }
    Ok(())
}

fn getppid_loop(n: u32) -> String {
    let start = std::time::Instant::now();
    for _ in 0..n {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    (start.elapsed().as_nanos() / u128::from(n.max(1))).to_string()
}

/// The supervisor a forked child (inheriting the listener and, harmlessly,
/// the filter: it makes no getppid call).
pub fn run_process(n: u32) -> io::Result<String> {
    let listener = load()?;
    // SAFETY: the caller is single-threaded here; the child only answers notifications and exits.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        nix::unistd::ForkResult::Child => {
            let ok = supervise(listener, n).is_ok();
            // SAFETY: _exit ends the child at once, running nothing of the parent's.
            unsafe { libc::_exit(i32::from(!ok)) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(listener);
            let per = getppid_loop(n);
            match nix::sys::wait::waitpid(child, None).map_err(io::Error::from)? {
                nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(per),
                other => Err(io::Error::other(format!("supervisor: {other:?}"))),
            }
        }
    }
}

/// The supervisor a thread of this process.
pub fn run_thread(n: u32) -> io::Result<String> {
    let (tx, rx) = std::sync::mpsc::channel::<OwnedFd>();
    // Started before the filter: the supervisor's own calls are not notified.
    let sup = std::thread::spawn(move || match rx.recv() {
        Ok(fd) => supervise(fd, n),
        Err(_) => Ok(()),
    });
    let listener = load()?;
    tx.send(listener)
        .map_err(|_| io::Error::other("supervisor gone"))?;
    let per = getppid_loop(n);
    sup.join()
        .map_err(|_| io::Error::other("supervisor panicked"))??;
    Ok(per)
}
