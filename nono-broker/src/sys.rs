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
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: ifru_flags is the union member SIOCGIFFLAGS just filled in.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS writes the flags from req to the interface.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn check(r: libc::c_int) -> Result<(), nix::errno::Errno> {
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(())
    }
}

/// chmod of the object `path` (a `/proc/self/fd/N` of a held descriptor).
pub fn chmod(path: &std::ffi::CStr, mode: u32) -> Result<(), nix::errno::Errno> {
    // SAFETY: path is a valid NUL-terminated string for the call's duration.
    check(unsafe { libc::fchmodat(libc::AT_FDCWD, path.as_ptr(), mode, 0) })
}

/// chown of the held descriptor's object itself (AT_EMPTY_PATH).
pub fn chown(fd: std::os::fd::BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: the empty path is a valid C string; fd is open for the call.
    check(unsafe { libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })
}

/// utimensat on `path`; `times` None means "now" for both.
pub fn utimens(
    path: &std::ffi::CStr,
    times: Option<&[libc::timespec; 2]>,
) -> Result<(), nix::errno::Errno> {
    let ptr = times.map(|t| t.as_ptr()).unwrap_or(std::ptr::null());
    // SAFETY: path is a valid C string; ptr is NULL or points to two timespecs we own.
    check(unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), ptr, 0) })
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

/// Own a descriptor received with SCM_RIGHTS.
pub fn own_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: the kernel just installed this descriptor for us (SCM_RIGHTS); nothing else owns it.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

/// A duplicate of descriptor `fd` of process `pid` (pidfd_open + pidfd_getfd).
pub fn borrow_fd(pid: u32, fd: i32) -> Result<std::os::fd::OwnedFd, nix::errno::Errno> {
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if pidfd < 0 {
        return Err(nix::errno::Errno::last());
    }
    let pidfd = own_fd(pidfd as i32);
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

fn sockaddr_un(path: &[u8]) -> Result<(libc::sockaddr_un, libc::socklen_t), nix::errno::Errno> {
    // SAFETY: sockaddr_un is plain old data; all-zero is valid.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if path.len() > a.sun_path.len() {
        return Err(nix::errno::Errno::ENAMETOOLONG);
    }
    for (d, s) in a.sun_path.iter_mut().zip(path) {
        *d = *s as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + path.len();
    Ok((a, len as libc::socklen_t))
}

/// connect/bind/sendto on a unix socket with the address `path` (raw
/// sun_path bytes: a `/proc/self/fd/...` path, or an abstract name).
pub enum SockCall<'a> {
    Connect,
    Bind,
    SendTo(&'a [u8], i32),
}

pub fn unix_call(
    fd: std::os::fd::BorrowedFd<'_>,
    path: &[u8],
    call: SockCall<'_>,
) -> Result<i64, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    let (a, len) = sockaddr_un(path)?;
    let ap = (&a as *const libc::sockaddr_un).cast::<libc::sockaddr>();
    // SAFETY: `a` lives for the call and `len` does not exceed its size; data slices are live for their stated lengths.
    let r = unsafe {
        match call {
            SockCall::Connect => libc::connect(fd.as_raw_fd(), ap, len) as isize,
            SockCall::Bind => libc::bind(fd.as_raw_fd(), ap, len) as isize,
            SockCall::SendTo(data, flags) => libc::sendto(
                fd.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                flags,
                ap,
                len,
            ),
        }
    };
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(r as i64)
    }
}

/// send on a connected socket.
pub fn send(
    fd: std::os::fd::BorrowedFd<'_>,
    data: &[u8],
    flags: i32,
) -> Result<i64, nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: data is a live slice of data.len() bytes.
    let r = unsafe { libc::send(fd.as_raw_fd(), data.as_ptr().cast(), data.len(), flags) };
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(r as i64)
    }
}
