//! The broker's only unsafe code.
#![allow(unsafe_code)]

pub enum Forked {
    Parent(nix::unistd::Pid),
    Child,
}

/// Fork the single-threaded broker.
pub fn fork() -> nix::Result<Forked> {
    // SAFETY: the broker never starts threads; the child only confines itself and execs (or exits).
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// Exit at once, without running destructors.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer and never returns.
    unsafe { libc::_exit(code) }
}

/// Set IFF_UP on `lo` (in the broker's fresh network namespace).
pub fn loopback_up() -> std::io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain socket(2); the result is checked and owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the flags of the named interface into req.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: ifru_flags is the union member SIOCGIFFLAGS just filled in.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS writes the flags from req to the interface.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn check(r: libc::c_int) -> Result<(), nix::errno::Errno> {
    ret(r as isize).map(drop)
}

/// chmod of the object `name` in `dir` (the broker's own `/proc/self/fd`
/// and a held descriptor's number).
pub fn chmod(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::CStr,
    mode: u32,
) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: name is a valid NUL-terminated string; dir is open for the call.
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode, 0) })
}

/// chmod of a held descriptor's object itself: `fchmodat2(fd, "",
/// AT_EMPTY_PATH)` (Linux 6.6), which also takes `O_PATH` descriptors
/// and costs one lookup less than the `/proc/self/fd` entry. `ENOSYS` on
/// older kernels: the caller then goes through [`chmod`].
pub fn chmod_held(fd: std::os::fd::BorrowedFd<'_>, mode: u32) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: fchmodat2 takes a descriptor, a valid C string (empty), a mode and flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            fd.as_raw_fd(),
            c"".as_ptr(),
            mode,
            libc::AT_EMPTY_PATH,
        )
    };
    ret(r as isize).map(drop)
}

/// utimensat of a held descriptor's object itself (AT_EMPTY_PATH, which
/// also takes `O_PATH` descriptors); `times` None means "now" for both.
pub fn utimens_held(
    fd: std::os::fd::BorrowedFd<'_>,
    times: Option<&[libc::timespec; 2]>,
) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    let ptr = times.map(|t| t.as_ptr()).unwrap_or(std::ptr::null());
    // SAFETY: the empty path is a valid C string; fd is open; ptr is NULL or points to two timespecs we own.
    check(unsafe { libc::utimensat(fd.as_raw_fd(), c"".as_ptr(), ptr, libc::AT_EMPTY_PATH) })
}

/// chown of the held descriptor's object itself (AT_EMPTY_PATH).
pub fn chown(fd: std::os::fd::BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: the empty path is a valid C string; fd is open for the call.
    check(unsafe { libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })
}

/// utimensat on `name` in `dir` (as for [`chmod`]); `times` None means
/// "now" for both.
pub fn utimens(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::CStr,
    times: Option<&[libc::timespec; 2]>,
) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    let ptr = times.map(|t| t.as_ptr()).unwrap_or(std::ptr::null());
    // SAFETY: name is a valid C string; dir is open; ptr is NULL or points to two timespecs we own.
    check(unsafe { libc::utimensat(dir.as_raw_fd(), name.as_ptr(), ptr, 0) })
}

pub fn setxattr(
    path: &std::ffi::CStr,
    name: &std::ffi::CStr,
    value: &[u8],
    flags: i32,
) -> Result<(), nix::errno::Errno> {
    // SAFETY: path and name are valid C strings; value is a live slice of value.len() bytes.
    check(unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    })
}

pub fn removexattr(path: &std::ffi::CStr, name: &std::ffi::CStr) -> Result<(), nix::errno::Errno> {
    // SAFETY: path and name are valid C strings.
    check(unsafe { libc::removexattr(path.as_ptr(), name.as_ptr()) })
}

/// A descriptor number as a C string, formatted on the stack.
pub struct Decimal {
    buf: [u8; 12],
    len: usize,
}

impl Decimal {
    pub fn of(n: i32) -> Decimal {
        use std::io::Write;
        let mut buf = [0u8; 12];
        // The last byte stays NUL. Cannot fail: an i32 has at most 11
        // characters.
        let mut rest = &mut buf[..11];
        let _ = write!(rest, "{n}");
        let len = 11 - rest.len();
        Decimal { buf, len }
    }

    pub fn as_cstr(&self) -> &std::ffi::CStr {
        std::ffi::CStr::from_bytes_with_nul(&self.buf[..=self.len]).unwrap_or_default()
    }
}

/// readlinkat(2) into a stack buffer: one allocation, the size of the
/// link, for the result (a tree walk under elevation reads one per open).
pub fn readlink_at(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::CStr,
) -> Result<std::ffi::OsString, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = [0u8; libc::PATH_MAX as usize];
    // SAFETY: name is a valid C string; the kernel writes at most buf.len() bytes into buf.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(ret(n)?).map_err(|_| nix::errno::Errno::EINVAL)?;
    // A link as long as the buffer may have been cut short.
    if n >= buf.len() {
        return Err(nix::errno::Errno::ENAMETOOLONG);
    }
    Ok(std::ffi::OsStr::from_bytes(&buf[..n]).to_os_string())
}

/// renameat2(2) of `from` in `from_dir` to `to` in `to_dir` (the syscall
/// itself: nix offers it with glibc only, and the broker also builds
/// against musl, whose older releases lack the wrapper).
pub fn renameat2(
    from_dir: std::os::fd::BorrowedFd<'_>,
    from: &std::path::Path,
    to_dir: std::os::fd::BorrowedFd<'_>,
    to: &std::path::Path,
    flags: u32,
) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| nix::errno::Errno::EINVAL)
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both names are valid C strings and both descriptors are open for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            flags,
        )
    };
    ret(r as isize).map(drop)
}

/// Own a descriptor received with SCM_RIGHTS.
pub fn own_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: the kernel just installed this descriptor for us (SCM_RIGHTS); nothing else owns it.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

/// PIDFD_THREAD (Linux 6.9): a pidfd for one thread (== O_EXCL).
const PIDFD_THREAD: libc::c_uint = libc::O_EXCL as libc::c_uint;

/// A pidfd for thread `tid` of the agent (notifications carry thread ids).
/// Kernels before 6.9 refuse PIDFD_THREAD: then the thread's group leader.
pub fn thread_pidfd(tid: u32) -> Result<std::os::fd::OwnedFd, nix::errno::Errno> {
    thread_pidfd_kind(tid).map(|(fd, _)| fd)
}

/// [`thread_pidfd`], and whether it is the thread's own (PIDFD_THREAD)
/// rather than its thread group's.
fn thread_pidfd_kind(tid: u32) -> Result<(std::os::fd::OwnedFd, bool), nix::errno::Errno> {
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, tid as libc::pid_t, PIDFD_THREAD) };
    if fd >= 0 {
        return Ok((own_fd(fd as i32), true));
    }
    if nix::errno::Errno::last() != nix::errno::Errno::EINVAL {
        return Err(nix::errno::Errno::last());
    }
    let tgid = thread_group(tid)?;
    // SAFETY: as above, for the thread group leader.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, tgid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok((own_fd(fd as i32), false))
}

/// The thread group (process) of thread `tid`, from /proc.
fn thread_group(tid: u32) -> Result<u32, nix::errno::Errno> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status"))
        .map_err(|_| nix::errno::Errno::ESRCH)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(nix::errno::Errno::ESRCH)
}

/// A duplicate of descriptor `fd` of thread `tid` (pidfd_getfd on the
/// thread's pidfd, kept between calls: see [`pidfds`]).
pub fn borrow_fd(tid: u32, fd: i32) -> Result<std::os::fd::OwnedFd, nix::errno::Errno> {
    pidfds::borrow(tid, fd)
}

/// Thread pidfds kept between notifications, so a brokered call on a
/// descriptor costs one `pidfd_getfd`, not a `pidfd_open` as well.
///
/// Only pidfds of one thread (PIDFD_THREAD, Linux 6.9) are kept: such a
/// pidfd refers to that thread and no other for as long as it is open.
/// Once the thread has ended, `pidfd_getfd` on it fails (ESRCH), even if
/// its id was given to a new thread since; the entry is then dropped and
/// a pidfd for the thread that now has the id is opened. A kept pidfd
/// never names a different task than a fresh `pidfd_open` would.
/// Without PIDFD_THREAD the pidfd is the thread group's, whose id says
/// nothing about which process a later thread with the same id belongs
/// to: those are opened per call, never kept.
mod pidfds {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::os::fd::{AsFd, OwnedFd};

    use nix::errno::Errno;

    /// Entries per serving thread before the table is emptied (a bound
    /// on descriptors held, whatever the agent's thread count).
    const KEEP: usize = 64;

    thread_local! {
        // Not a HashMap: its keys are random per thread, drawn with getrandom,
        // which the confined broker is not allowed (threads start after).
        static KEPT: RefCell<BTreeMap<u32, OwnedFd>> = const { RefCell::new(BTreeMap::new()) };
    }

    pub fn borrow(tid: u32, fd: i32) -> Result<OwnedFd, Errno> {
        let kept = KEPT.with(|k| k.borrow().get(&tid).map(|p| super::getfd(p.as_fd(), fd)));
        match kept {
            Some(Err(Errno::ESRCH)) => {
                KEPT.with(|k| k.borrow_mut().remove(&tid));
            }
            Some(r) => return r,
            None => {}
        }
        let (pidfd, one_thread) = super::thread_pidfd_kind(tid)?;
        let dup = super::getfd(pidfd.as_fd(), fd);
        if one_thread {
            KEPT.with(|k| {
                let mut k = k.borrow_mut();
                if k.len() >= KEEP {
                    k.clear();
                }
                k.insert(tid, pidfd);
            });
        }
        dup
    }
}

/// A duplicate of descriptor `fd` of the task behind `pidfd` (pidfd_getfd).
pub fn getfd(
    pidfd: std::os::fd::BorrowedFd<'_>,
    fd: i32,
) -> Result<std::os::fd::OwnedFd, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_getfd takes a pidfd, a descriptor number and flags.
    let dup = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if dup < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(own_fd(dup as i32))
}

/// An integer socket option (SO_DOMAIN, SO_TYPE).
pub fn sockopt_int(fd: std::os::fd::BorrowedFd<'_>, opt: i32) -> Result<i32, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are live locals of the sizes passed.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    check(r).map(|()| v)
}

fn ret(r: isize) -> Result<i64, nix::errno::Errno> {
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(r as i64)
    }
}

/// connect(2) with raw address bytes (at most sockaddr_storage).
pub fn connect(fd: std::os::fd::BorrowedFd<'_>, addr: &[u8]) -> Result<i64, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    let (ptr, len) = raw_addr(addr);
    // SAFETY: ptr is NULL or points to `len` live bytes of `addr`.
    ret(unsafe { libc::connect(fd.as_raw_fd(), ptr, len) } as isize)
}

/// bind(2) with raw address bytes.
pub fn bind(fd: std::os::fd::BorrowedFd<'_>, addr: &[u8]) -> Result<i64, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    let (ptr, len) = raw_addr(addr);
    // SAFETY: ptr is NULL or points to `len` live bytes of `addr`.
    ret(unsafe { libc::bind(fd.as_raw_fd(), ptr, len) } as isize)
}

fn raw_addr(addr: &[u8]) -> (*const libc::sockaddr, libc::socklen_t) {
    if addr.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (addr.as_ptr().cast(), addr.len() as libc::socklen_t)
    }
}

pub fn listen(fd: std::os::fd::BorrowedFd<'_>, backlog: i32) -> Result<i64, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: listen takes a descriptor and an integer.
    ret(unsafe { libc::listen(fd.as_raw_fd(), backlog) } as isize)
}

/// sendmsg(2) of one buffer with a raw name and raw control bytes.
pub fn sendmsg(
    fd: std::os::fd::BorrowedFd<'_>,
    name: &[u8],
    data: &[u8],
    control: &[u8],
    flags: i32,
) -> Result<i64, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero is valid (no name, no control).
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    if !name.is_empty() {
        m.msg_name = name.as_ptr() as *mut libc::c_void;
        m.msg_namelen = name.len() as libc::socklen_t;
    }
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    if !control.is_empty() {
        m.msg_control = control.as_ptr() as *mut libc::c_void;
        // size_t with glibc, socklen_t with musl.
        m.msg_controllen = control.len() as _;
    }
    // SAFETY: every pointer in `m` refers to a live local or slice of the stated length; sendmsg only reads them.
    ret(unsafe { libc::sendmsg(fd.as_raw_fd(), &m, flags) })
}

/// The local port of an IP socket (0 when unbound), None for other families.
pub fn local_port(fd: std::os::fd::BorrowedFd<'_>) -> Result<Option<u16>, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: ss and len are live locals of the sizes passed.
    let r = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    check(r)?;
    // sin_port and sin6_port both sit right after the family, big-endian.
    let b: &[u8] = {
        // SAFETY: ss is a live local; viewing its bytes is always valid.
        unsafe {
            std::slice::from_raw_parts((&ss as *const libc::sockaddr_storage).cast::<u8>(), 4)
        }
    };
    Ok(match ss.ss_family as i32 {
        libc::AF_INET | libc::AF_INET6 => Some(u16::from_be_bytes([b[2], b[3]])),
        _ => None,
    })
}

/// The file status flags of a descriptor (O_NONBLOCK, ...).
pub fn status_flags(fd: std::os::fd::BorrowedFd<'_>) -> Result<i32, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GETFL takes no argument.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    check(r).map(|()| r)
}

/// inotify_add_watch on the broker's duplicate of the agent's inotify fd.
pub fn inotify_add_watch(
    fd: std::os::fd::BorrowedFd<'_>,
    path: &std::ffi::CStr,
    mask: u32,
) -> Result<i64, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: path is a valid NUL-terminated string for the call's duration.
    ret(unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) } as isize)
}

/// Copy up to `buf.len()` bytes of thread `tid`'s memory at `addr` (one
/// syscall; it stops at the first unmapped page). Landlock lets the broker
/// read only its nested domain: the agent.
pub fn read_agent(tid: u32, addr: u64, buf: &mut [u8]) -> Result<usize, nix::errno::Errno> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: local points to `buf` (live, writable, its length); the remote iovec is only interpreted by the kernel in the target.
    let n = unsafe { libc::process_vm_readv(tid as libc::pid_t, &local, 1, &remote, 1, 0) };
    if n < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(n as usize)
}

/// Write `bytes` into thread `tid`'s memory at `addr` (results of a
/// batched call). Landlock lets the broker do this only to its nested
/// domain: the agent.
pub fn write_agent(tid: u32, addr: u64, bytes: &[u8]) -> Result<(), nix::errno::Errno> {
    let local = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: local points to `bytes` (live, read only); the remote iovec is only interpreted by the kernel in the target.
    let n = unsafe { libc::process_vm_writev(tid as libc::pid_t, &local, 1, &remote, 1, 0) };
    match n {
        n if n < 0 => Err(nix::errno::Errno::last()),
        n if n as usize != bytes.len() => Err(nix::errno::Errno::EFAULT),
        _ => Ok(()),
    }
}

/// Make the broker the session leader of the agent's pseudo-terminal
/// (before forking the agent): the agent then runs in a process group of
/// its own in that session, whose parent is in the same session, so the
/// terminal's Ctrl-Z stops it (a session leader's own group would be
/// orphaned, and the kernel discards terminal stop signals for those).
/// The broker takes its own terminal signals through its signalfd only.
pub fn lead_terminal(tty: std::os::fd::BorrowedFd<'_>) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    nix::unistd::setsid()?;
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal) and `tty` is an open terminal descriptor.
    if unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

/// Without a terminal of the agent's own: move the broker into a process
/// group of its own and return nono's, which the agent joins. A signal to
/// nono's job (`kill -9 %1`) then never reaches the broker, which ends the
/// session's every process when nono goes away. SIGTTOU is ignored: the
/// broker writes its messages from a background group.
pub fn leave_group() -> Result<nix::unistd::Pid, nix::errno::Errno> {
    use nix::sys::signal::{signal, SigHandler, Signal};
    let front = nix::unistd::getpgrp();
    // SAFETY: SIG_IGN installs no handler code; the broker is single-threaded here.
    unsafe { signal(Signal::SIGTTOU, SigHandler::SigIgn) }?;
    nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))?;
    Ok(front)
}

/// In the forked agent without a terminal of its own: back into nono's
/// process group, the user's job.
pub fn join_group(group: nix::unistd::Pid) -> Result<(), nix::errno::Errno> {
    nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), group)
}

/// In the forked agent: a process group of its own, in the foreground of
/// the terminal the broker leads, and the terminal as each of fds 0-2
/// marked in `replace`.
pub fn take_terminal(
    tty: std::os::fd::OwnedFd,
    replace: [bool; 3],
) -> Result<(), nix::errno::Errno> {
    use nix::sys::signal::{signal, SigHandler, Signal};
    use std::os::fd::AsRawFd;
    nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))?;
    // Taking the foreground from a background group raises SIGTTOU.
    // SAFETY: SIG_IGN/SIG_DFL install no handler code; this child is single-threaded.
    unsafe { signal(Signal::SIGTTOU, SigHandler::SigIgn) }?;
    nix::unistd::tcsetpgrp(&tty, nix::unistd::getpgrp())?;
    // SAFETY: as above.
    unsafe { signal(Signal::SIGTTOU, SigHandler::SigDfl) }?;
    let raw = tty.as_raw_fd();
    for (fd, _) in (0..=2).zip(replace).filter(|(_, r)| *r) {
        // SAFETY: dup2 takes plain integers; `raw` stays open until `tty` drops below.
        if unsafe { libc::dup2(raw, fd) } < 0 {
            return Err(nix::errno::Errno::last());
        }
    }
    drop(tty);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{readlink_at, Decimal};

    #[test]
    fn decimals_as_c_strings() {
        for n in [0, 7, 42, 1_000_000, i32::MAX, -1, i32::MIN] {
            assert_eq!(Decimal::of(n).as_cstr().to_str().unwrap(), n.to_string());
        }
    }

    #[test]
    fn readlink_at_reads_the_link() {
        use std::os::fd::AsFd;
        let d = std::env::temp_dir().join(format!("nono-readlink-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let _ = std::fs::remove_file(d.join("l"));
        std::os::unix::fs::symlink("/some/where", d.join("l")).unwrap();
        let dir = std::fs::File::open(&d).unwrap();
        let got = readlink_at(dir.as_fd(), c"l").unwrap();
        assert_eq!(got, "/some/where");
        assert!(readlink_at(dir.as_fd(), c"missing").is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
