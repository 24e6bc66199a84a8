//! Raw seccomp calls: loading a filter, and the user-notification ioctls
//! (libc has the structures and request numbers; no safe wrapper offers
//! them all, ADDFD in particular).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Receive one notification (blocks until one is pending).
pub(crate) fn recv(fd: BorrowedFd<'_>) -> io::Result<libc::seccomp_notif> {
    // SAFETY: seccomp_notif is plain old data; all-zero is valid and is what NOTIF_RECV requires on entry.
    let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: NOTIF_RECV writes one seccomp_notif into `n`, which we own.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut n) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n)
}

/// Answer a notification: `error` (negative errno) or `val`, or continue.
pub(crate) fn send(
    fd: BorrowedFd<'_>,
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
) -> io::Result<()> {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: NOTIF_SEND reads one seccomp_notif_resp from `resp`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether notification `id` is still pending (its task still waits in
/// that very syscall).
pub(crate) fn id_valid(fd: BorrowedFd<'_>, id: u64) -> bool {
    let mut id = id;
    // SAFETY: NOTIF_ID_VALID reads one u64 from `id`.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &mut id) == 0 }
}

/// Install `src` in the notifying task and complete its syscall with the
/// new descriptor number (SECCOMP_ADDFD_FLAG_SEND): atomic.
pub(crate) fn addfd_send(
    fd: BorrowedFd<'_>,
    id: u64,
    src: RawFd,
    cloexec: bool,
) -> io::Result<i32> {
    let mut a = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
        srcfd: src as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: NOTIF_ADDFD reads one seccomp_notif_addfd from `a`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ADDFD, &mut a) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// Own the listener descriptor the kernel returned.
pub(crate) fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel just returned this descriptor for our filter; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Ask for synchronous wake-ups (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, Linux
/// 6.6): the supervisor runs on the notifying task's CPU, saving a
/// migration per call.
pub(crate) fn sync_wakeup(fd: BorrowedFd<'_>) -> io::Result<()> {
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: libc::c_ulong = 1;
    // SAFETY: NOTIF_SET_FLAGS takes the flag value itself as its argument (no pointer).
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Load a classic-BPF program as a filter with a new listener, optionally
/// with killable waits; returns the listener. no_new_privs must be set.
pub(crate) fn load_listener(
    prog: &[libc::sock_filter],
    wait_killable: bool,
) -> io::Result<OwnedFd> {
    const NEW_LISTENER: libc::c_ulong = 1 << 3;
    const WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;
    let flags = NEW_LISTENER | if wait_killable { WAIT_KILLABLE_RECV } else { 0 };
    load_filter(prog, flags).map(|r| own(r as RawFd))
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)` for the calling thread;
/// the kernel's return value. no_new_privs must be set.
pub(crate) fn load_filter(prog: &[libc::sock_filter], flags: libc::c_ulong) -> io::Result<i64> {
    let len = u16::try_from(prog.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: fprog points at `prog`, alive for the call; the kernel copies the program and never writes through the pointer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}
