//! The probe's system-call level operations (raw syscalls the standard
//! library does not offer). Each prints `OK …` / `ERR errno …` and exits.

use std::ffi::CString;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::process::exit;

mod elevate;
mod ending;
mod flip;
mod meta;
mod parent;
mod sockets;

fn ok(detail: impl std::fmt::Display) -> ! {
    println!("OK {detail}");
    exit(0)
}

fn fail(e: std::io::Error) -> ! {
    println!("ERR {} {e}", e.raw_os_error().unwrap_or(0));
    exit(10)
}

fn check(r: libc::c_long) -> libc::c_long {
    if r < 0 {
        fail(std::io::Error::last_os_error())
    }
    r
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or_else(|| {
        eprintln!("nono-probe: missing argument {i}");
        exit(2)
    })
}

fn pid_arg(args: &[String]) -> libc::pid_t {
    arg(args, 2).parse().unwrap_or_else(|_| exit(2))
}

fn socket(domain: i32, ty: i32, proto: i32) -> i32 {
    // SAFETY: socket takes integers only.
    check(unsafe { libc::socket(domain, ty, proto) } as libc::c_long) as i32
}

/// Run `action`; unknown actions exit 2.
pub fn run(action: &str, args: &[String]) -> ! {
    match action {
        "kill" => {
            let sig = arg(args, 3).parse().unwrap_or(libc::SIGTERM);
            // SAFETY: kill takes integers only.
            check(unsafe { libc::kill(pid_arg(args), sig) } as libc::c_long);
            ok("signalled")
        }
        "ptrace-attach" => {
            let pid = pid_arg(args);
            // SAFETY: PTRACE_ATTACH takes a pid; addr and data are unused.
            check(unsafe { libc::ptrace(libc::PTRACE_ATTACH, pid, 0usize, 0usize) });
            ok("attached")
        }
        "vm-read" => {
            let pid = pid_arg(args);
            let addr: usize =
                usize::from_str_radix(arg(args, 3).trim_start_matches("0x"), 16).unwrap_or(0);
            let mut buf = [0u8; 64];
            let local = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let remote = libc::iovec {
                iov_base: addr as *mut libc::c_void,
                iov_len: buf.len(),
            };
            // SAFETY: the local iovec points at our own 64-byte buffer.
            let r = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
            let n = check(r as libc::c_long);
            ok(format!("read {n} bytes"))
        }
        "tiocsti" => {
            let text = arg(args, 2);
            for b in text.bytes() {
                // SAFETY: TIOCSTI reads one byte from the pointer we pass.
                check(unsafe { libc::ioctl(0, libc::TIOCSTI, &b as *const u8) } as libc::c_long);
            }
            ok("injected")
        }
        "keyctl-read" => keyctl_read(arg(args, 2)),
        "unshare-user" => {
            // SAFETY: unshare takes flags only.
            check(unsafe { libc::unshare(libc::CLONE_NEWUSER) } as libc::c_long);
            ok("new user namespace")
        }
        "clone-user" => clone_user(),
        "io-uring" => {
            let mut params = [0u8; 120];
            // SAFETY: io_uring_setup writes at most sizeof(io_uring_params) = 120 bytes.
            let fd = check(unsafe {
                libc::syscall(libc::SYS_io_uring_setup, 4u32, params.as_mut_ptr())
            });
            ok(format!("fd {fd}"))
        }
        "bpf" => {
            let mut attr = [0u8; 128];
            // SAFETY: BPF_PROG_LOAD(5) with a zeroed attr of the given size.
            check(unsafe { libc::syscall(libc::SYS_bpf, 5, attr.as_mut_ptr(), attr.len()) });
            ok("bpf")
        }
        "perf" => {
            let mut attr = [0u8; 128];
            attr[4..8].copy_from_slice(&128u32.to_ne_bytes()); // size field
                                                               // SAFETY: perf_event_open reads the attr of the size it declares.
            check(unsafe {
                libc::syscall(libc::SYS_perf_event_open, attr.as_mut_ptr(), 0, -1, -1, 0)
            });
            ok("perf")
        }
        "userfaultfd" => {
            // SAFETY: userfaultfd takes flags only.
            check(unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) });
            ok("uffd")
        }
        "open-tree-attr" => {
            let path = CString::new(arg(args, 2)).unwrap_or_else(|_| exit(2));
            // SAFETY: path is a valid C string; flags 0 and no attributes (NULL, size 0).
            let fd = unsafe {
                libc::syscall(
                    467,
                    libc::AT_FDCWD,
                    path.as_ptr(),
                    0,
                    std::ptr::null::<u8>(),
                    0,
                )
            };
            check(fd);
            ok(format!("fd {fd}"))
        }
        "mount" => {
            let (src, fstype) = (c"none", c"tmpfs");
            let target = CString::new(arg(args, 2)).unwrap_or_else(|_| exit(2));
            // SAFETY: all pointers are valid NUL-terminated strings; data is NULL.
            check(unsafe {
                libc::mount(
                    src.as_ptr(),
                    target.as_ptr(),
                    fstype.as_ptr(),
                    0,
                    std::ptr::null(),
                )
            } as libc::c_long);
            ok("mounted")
        }
        "tcp-connect" => match TcpStream::connect(addr(arg(args, 2))) {
            Ok(mut s) => {
                let _ = s.write_all(b"PROBE-TCP\n");
                ok("connected")
            }
            Err(e) => fail(e),
        },
        "udp-send" => {
            let target = addr(arg(args, 2));
            let bind = if target.is_ipv4() {
                "127.0.0.1:0"
            } else {
                "[::1]:0"
            };
            match UdpSocket::bind(bind).and_then(|s| s.send_to(b"PROBE-UDP", target)) {
                Ok(n) => ok(format!("sent {n}")),
                Err(e) => fail(e),
            }
        }
        "mptcp-connect" => mptcp_connect(addr(arg(args, 2))),
        "socket" => {
            let (d, t, p) = match arg(args, 2) {
                "raw" => (libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP),
                "raw6" => (libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6),
                "packet" => (libc::AF_PACKET, libc::SOCK_RAW, 0),
                "vsock" => (libc::AF_VSOCK, libc::SOCK_STREAM, 0),
                "unix" => (libc::AF_UNIX, libc::SOCK_STREAM, 0),
                "netlink-audit" => (libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT),
                "mptcp" => (libc::AF_INET, libc::SOCK_STREAM, libc::IPPROTO_MPTCP),
                "udp" => (libc::AF_INET, libc::SOCK_DGRAM, 0),
                "icmp" => (libc::AF_INET, libc::SOCK_DGRAM, libc::IPPROTO_ICMP),
                "sctp" => (libc::AF_INET, libc::SOCK_STREAM, libc::IPPROTO_SCTP),
                "sctp-seqpacket" => (libc::AF_INET, libc::SOCK_SEQPACKET, libc::IPPROTO_SCTP),
                "tcp" => (libc::AF_INET, libc::SOCK_STREAM, 0),
                // IPPROTO_SMC (256, Linux 6.11): SMC through an IP socket.
                "smc" => (libc::AF_INET, libc::SOCK_STREAM, 256),
                "smc6" => (libc::AF_INET6, libc::SOCK_STREAM, 256),
                _ => exit(2),
            };
            ok(format!("fd {}", socket(d, t | libc::SOCK_CLOEXEC, p)))
        }
        "socketpair" => match UnixStream::pair() {
            Ok(_) => ok("pair"),
            Err(e) => fail(e),
        },
        "unix-connect" => match UnixStream::connect(arg(args, 2)) {
            Ok(mut s) => {
                let _ = s.write_all(b"PROBE-UNIX\n");
                ok("connected")
            }
            Err(e) => fail(e),
        },
        "unix-abstract" => unix_abstract(arg(args, 2)),
        "foreign-abi" => foreign_abi(arg(args, 2)),
        "attempt-batch" => attempt_batch(arg(args, 2)),
        "race-open" => race_open(arg(args, 2), arg(args, 3), arg(args, 4)),
        "open-loop" => open_loop(arg(args, 2), arg(args, 3)),
        "chmod-loop" => chmod_loop(arg(args, 2), arg(args, 3)),
        _ => {
            if meta::run(action, args).is_some()
                || parent::run(action, args).is_some()
                || elevate::run(action, args).is_some()
                || ending::run(action, args).is_some()
            {
                exit(2)
            }
            // Returns only when the action is not one of its own.
            crate::probe_net_ipc::run(action, args);
            crate::probe_tunnel::run(action, args);
            sockets::run(action, args)
        }
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|_| exit(2))
}

fn keyctl_read(desc: &str) -> ! {
    const KEYCTL_SEARCH: libc::c_long = 10;
    const KEYCTL_READ: libc::c_long = 11;
    const KEY_SPEC_USER_KEYRING: libc::c_long = -4;
    let ty = c"user";
    let d = CString::new(desc).unwrap_or_else(|_| exit(2));
    // SAFETY: both strings are valid and NUL-terminated.
    let id = check(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SEARCH,
            KEY_SPEC_USER_KEYRING,
            ty.as_ptr(),
            d.as_ptr(),
            0,
        )
    });
    let mut buf = [0u8; 256];
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    let n = check(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_READ,
            id,
            buf.as_mut_ptr(),
            buf.len(),
        )
    });
    let n = usize::try_from(n).unwrap_or(0).min(buf.len());
    ok(String::from_utf8_lossy(&buf[..n]))
}

fn clone_user() -> ! {
    // Raw clone(2) with CLONE_NEWUSER; the child exits at once.
    let flags = (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: fork-like clone (no new stack); the child only calls _exit.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    let pid = check(r);
    if pid == 0 {
        // SAFETY: _exit never returns.
        unsafe { libc::_exit(0) }
    }
    ok(format!("child {pid}"))
}

fn mptcp_connect(target: SocketAddr) -> ! {
    let SocketAddr::V4(v4) = target else { exit(2) };
    let fd = socket(
        libc::AF_INET,
        libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
        libc::IPPROTO_MPTCP,
    );
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: sa is a valid sockaddr_in of the given length.
    let r = unsafe { libc::connect(fd, (&sa as *const libc::sockaddr_in).cast(), len) };
    check(r as libc::c_long);
    ok("connected")
}

fn unix_abstract(name: &str) -> ! {
    use std::os::linux::net::SocketAddrExt;
    let a = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .unwrap_or_else(|e| fail(e));
    match UnixStream::connect_addr(&a) {
        Ok(mut s) => {
            let _ = s.write_all(b"PROBE-ABSTRACT\n");
            ok("connected")
        }
        Err(e) => fail(e),
    }
}

/// Make `getpid` through another syscall ABI of this CPU: `i386` (int 0x80)
/// or `x32` (x86_64 numbers with bit 30 set).
#[cfg(target_arch = "x86_64")]
fn foreign_abi(which: &str) -> ! {
    let ret: i64;
    match which {
        // SAFETY: i386 getpid (20) takes no arguments and touches no memory.
        "i386" => unsafe {
            std::arch::asm!("int 0x80", inlateout("rax") 20i64 => ret, options(nostack));
        },
        // SAFETY: x32 getpid (39 | 0x40000000) takes no arguments; syscall clobbers rcx and r11.
        "x32" => unsafe {
            std::arch::asm!("syscall", inlateout("rax") 0x4000_0027i64 => ret,
                out("rcx") _, out("r11") _, options(nostack));
        },
        _ => exit(2),
    }
    if ret < 0 {
        fail(std::io::Error::from_raw_os_error(
            i32::try_from(-ret).unwrap_or(0),
        ))
    }
    ok(format!("pid {ret}"))
}

#[cfg(not(target_arch = "x86_64"))]
fn foreign_abi(_: &str) -> ! {
    exit(3)
}

/// Read `op<TAB>path` lines and attempt each, printing `allowed`, `denied`
/// or `other <errno>` per line. read: list a directory or read a file.
/// write: open an existing file for writing (no truncation), or create and
/// remove a file (in a directory, or at a missing path). connect/bind: a
/// stream unix socket at the path (a bound one is left for the caller).
fn attempt_batch(list: &str) -> ! {
    let text = std::fs::read_to_string(list).unwrap_or_else(|e| fail(e));
    for line in text.lines() {
        let Some((op, path)) = line.split_once('\t') else {
            exit(2)
        };
        let p = std::path::Path::new(path);
        let r = match op {
            "read" => try_read(p),
            "write" => try_write(p),
            "readwrite" => try_read(p).and_then(|_| try_write(p)),
            "connect" => std::os::unix::net::UnixStream::connect(p).map(|_| ()),
            "bind" => std::os::unix::net::UnixListener::bind(p).map(|_| ()),
            _ => exit(2),
        };
        match r {
            Ok(()) => println!("allowed"),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
                println!("denied")
            }
            Err(e) => println!("other {}", e.raw_os_error().unwrap_or(0)),
        }
    }
    exit(0)
}

fn try_read(p: &std::path::Path) -> std::io::Result<()> {
    if p.is_dir() {
        std::fs::read_dir(p)?.next().transpose()?;
        Ok(())
    } else {
        std::fs::read(p).map(|_| ())
    }
}

fn try_write(p: &std::path::Path) -> std::io::Result<()> {
    let created = if p.is_dir() {
        p.join(".nono-probe-new")
    } else {
        p.to_path_buf()
    };
    if created.exists() {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(&created)
            .map(|_| ());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&created)?;
    std::fs::remove_file(&created)
}

/// A thread flips one path buffer between `allowed` and `protected` while
/// the main thread opens through it for `secs` seconds. Prints how many
/// opens succeeded and whether any returned the protected file's content
/// (its first byte differs: the test writes them so).
fn race_open(allowed: &str, protected: &str, secs: &str) -> ! {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STOP: AtomicBool = AtomicBool::new(false);
    let (addr, flipper) = flip::flipping(allowed, protected, &STOP);
    let end =
        std::time::Instant::now() + std::time::Duration::from_secs(secs.parse().unwrap_or(10));
    let (mut opened, mut leaked, mut tries) = (0u64, 0u64, 0u64);
    while std::time::Instant::now() < end {
        tries += 1;
        // SAFETY: addr is the leaked NUL-terminated buffer (both contents fit with room for the terminator).
        let fd = unsafe {
            libc::open(
                addr as *const libc::c_char,
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        if fd >= 0 {
            opened += 1;
            let mut first = [0u8; 1];
            // SAFETY: fd is ours; first is a 1-byte buffer.
            unsafe {
                if libc::read(fd, first.as_mut_ptr().cast(), 1) == 1 && first[0] == b'P' {
                    leaked += 1;
                }
                libc::close(fd);
            }
        }
    }
    STOP.store(true, Ordering::Relaxed);
    let _ = flipper.join();
    println!("OK tries={tries} opened={opened} leaked={leaked}");
    exit(0)
}

/// Open and close `path` `n` times; print nanoseconds per open.
fn open_loop(path: &str, n: &str) -> ! {
    let n: u64 = n.parse().unwrap_or(10000);
    let c = std::ffi::CString::new(path).unwrap_or_default();
    let start = std::time::Instant::now();
    for _ in 0..n {
        // SAFETY: c is a valid C string; the descriptor is closed at once.
        unsafe {
            let fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                println!(
                    "ERR {}",
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
                );
                exit(10);
            }
            libc::close(fd);
        }
    }
    println!("OK {} ns/open", start.elapsed().as_nanos() / n as u128);
    exit(0)
}

/// chmod `path` `n` times (each one a brokered call); report how many failed.
fn chmod_loop(path: &str, n: &str) -> ! {
    use std::os::unix::fs::PermissionsExt;
    let n: u64 = n.parse().unwrap_or_else(|_| exit(2));
    let failed = (0..n)
        .filter(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).is_err())
        .count();
    ok(format!("failed={failed}"))
}
