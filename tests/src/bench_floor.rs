//! `bench-notify-floor N`: the kernel's floor for a brokered call — N
//! `getppid` calls, each suspended by a seccomp user-notification filter
//! and answered at once by a supervisor process that does nothing else
//! (synchronous wake-ups on, as the broker asks), as the broker is a
//! process of its own. `bench-notify-floor-thread N`: the same with the
//! supervisor a thread of the caller (no address-space switch). Prints
//! nanoseconds per call. Run bare: it loads its own filter.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc;

const NEW_LISTENER: libc::c_ulong = 1 << 3;
const SYNC_WAKE_UP: libc::c_ulong = 1;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

fn insn(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// Notify for getppid on the native architecture; allow everything else.
fn program() -> Vec<libc::sock_filter> {
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    vec![
        insn(ld, 4, 0, 0),
        insn(jeq, AUDIT_ARCH_X86_64, 0, 3),
        insn(ld, 0, 0, 0),
        insn(jeq, libc::SYS_getppid as u32, 0, 1),
        insn(ret, libc::SECCOMP_RET_USER_NOTIF, 0, 0),
        insn(ret, libc::SECCOMP_RET_ALLOW, 0, 0),
    ]
}

/// Load the filter on the calling thread; its listener.
fn load() -> io::Result<OwnedFd> {
    // SAFETY: prctl with constant arguments; only sets no_new_privs.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let prog = program();
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: fprog points at `prog`, alive for the call; the kernel copies it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            NEW_LISTENER,
            &fprog as *const libc::sock_fprog,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Answer `n` notifications with 0, as soon as each arrives.
fn supervise(fd: RawFd, n: u32) -> io::Result<()> {
    // SAFETY: NOTIF_SET_FLAGS takes the flag value itself; an old kernel refuses it.
    unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, SYNC_WAKE_UP) };
    for _ in 0..n {
        // SAFETY: seccomp_notif is plain data; all-zero is what NOTIF_RECV requires.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: NOTIF_RECV writes one seccomp_notif into `req`, which we own.
        if unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: 0,
            flags: 0,
        };
        // SAFETY: NOTIF_SEND reads one seccomp_notif_resp from `resp`.
        if unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The supervisor a forked child (inheriting the listener and, harmlessly,
/// the filter: it makes no getppid call).
pub fn run_process(n: u32) -> io::Result<String> {
    use std::os::fd::AsRawFd;
    let listener = load()?;
    // SAFETY: the caller is single-threaded here; the child only makes ioctls and exits.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        nix::unistd::ForkResult::Child => {
            let ok = supervise(listener.as_raw_fd(), n).is_ok();
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

fn getppid_loop(n: u32) -> String {
    let start = std::time::Instant::now();
    for _ in 0..n {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    (start.elapsed().as_nanos() / u128::from(n.max(1))).to_string()
}

/// The supervisor a thread of this process.
pub fn run_thread(n: u32) -> io::Result<String> {
    let (tx, rx) = mpsc::channel::<RawFd>();
    // Started before the filter: the supervisor's own calls are not notified.
    let sup = std::thread::spawn(move || match rx.recv() {
        Ok(fd) => supervise(fd, n),
        Err(_) => Ok(()),
    });
    let listener = load()?;
    use std::os::fd::AsRawFd;
    tx.send(listener.as_raw_fd())
        .map_err(|_| io::Error::other("supervisor gone"))?;
    let per = getppid_loop(n);
    sup.join()
        .map_err(|_| io::Error::other("supervisor panicked"))??;
    Ok(per)
}
