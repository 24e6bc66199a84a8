//! Probe operations against the edges of the network and IPC boundary:
//! TCP Fast Open, unix socket pairs, SysV IPC. Each prints `OK …` /
//! `ERR errno …` and exits (`ERR` names the step that failed on stderr).

use std::ffi::c_void;
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::process::exit;

/// The bytes every probe here sends, so a listener can tell it arrived.
pub const PAYLOAD: &[u8] = b"PROBE-EDGE\n";

fn ok(detail: impl std::fmt::Display) -> ! {
    println!("OK {detail}");
    exit(0)
}

/// Print the last OS error for `step` and exit 10.
fn fail_at(step: &str) -> ! {
    let e = std::io::Error::last_os_error();
    eprintln!("nono-probe: {step} failed");
    println!("ERR {} {step}: {e}", e.raw_os_error().unwrap_or(0));
    exit(10)
}

fn check(r: libc::c_long, step: &str) -> libc::c_long {
    if r < 0 {
        fail_at(step)
    }
    r
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or_else(|| exit(2))
}

/// Run `action`; returns only when it is not one of these.
pub fn run(action: &str, args: &[String]) {
    match action {
        "tfo-sendto" => tfo_sendto(sockaddr(arg(args, 2))),
        "tfo-connect" => tfo_connect(sockaddr(arg(args, 2))),
        "mptcp-socket-high-bits" => mptcp_socket_high_bits(),
        "socketpair-type" => socketpair_type(arg(args, 2)),
        "unix-dgram-pair" => unix_dgram_pair(arg(args, 2), arg(args, 3)),
        "shm-read" => shm_read(key(arg(args, 2))),
        "shm-create" => shm_create(key(arg(args, 2)), arg(args, 3)),
        "msg-read" => msg_read(key(arg(args, 2))),
        _ => {}
    }
}

fn key(s: &str) -> libc::key_t {
    s.parse().unwrap_or_else(|_| exit(2))
}

/// An IPv4 `host:port` as a `sockaddr_in`.
fn sockaddr(s: &str) -> libc::sockaddr_in {
    let Ok(SocketAddr::V4(v4)) = s.parse::<SocketAddr>() else {
        exit(2)
    };
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

const SIN_LEN: libc::socklen_t = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

fn tcp_socket() -> i32 {
    // SAFETY: socket takes integers only.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    check(fd as libc::c_long, "socket") as i32
}

/// `sendto(MSG_FASTOPEN)` on a fresh TCP socket: connect and send in one call.
fn tfo_sendto(sa: libc::sockaddr_in) -> ! {
    let fd = tcp_socket();
    // SAFETY: PAYLOAD and sa are valid for the lengths given.
    let n = unsafe {
        libc::sendto(
            fd,
            PAYLOAD.as_ptr().cast::<c_void>(),
            PAYLOAD.len(),
            libc::MSG_FASTOPEN,
            (&sa as *const libc::sockaddr_in).cast(),
            SIN_LEN,
        )
    };
    check(n as libc::c_long, "sendto(MSG_FASTOPEN)");
    linger_for_delivery();
    ok(format!("sent {n}"))
}

/// `TCP_FASTOPEN_CONNECT`, then `connect` (deferred) and the first `write`.
fn tfo_connect(sa: libc::sockaddr_in) -> ! {
    let fd = tcp_socket();
    let on: libc::c_int = 1;
    // SAFETY: on is a c_int of the length given.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN_CONNECT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(r as libc::c_long, "setsockopt(TCP_FASTOPEN_CONNECT)");
    // SAFETY: sa is a valid sockaddr_in of the given length.
    let r = unsafe { libc::connect(fd, (&sa as *const libc::sockaddr_in).cast(), SIN_LEN) };
    check(r as libc::c_long, "connect");
    // SAFETY: PAYLOAD is valid for its length.
    let n = unsafe { libc::write(fd, PAYLOAD.as_ptr().cast::<c_void>(), PAYLOAD.len()) };
    check(n as libc::c_long, "write");
    linger_for_delivery();
    ok(format!("sent {n}"))
}

/// Give the handshake (and, without a cookie, the data after it) time to
/// reach the listener before the process exits.
fn linger_for_delivery() {
    std::thread::sleep(std::time::Duration::from_millis(200));
}

/// `socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)` with garbage above the
/// protocol's 32 bits (the kernel reads an `int` and drops them).
fn mptcp_socket_high_bits() -> ! {
    let proto = (1i64 << 32) | i64::from(libc::IPPROTO_MPTCP);
    let ty = i64::from(libc::SOCK_STREAM | libc::SOCK_CLOEXEC);
    // SAFETY: socket takes integers only.
    let fd = unsafe { libc::syscall(libc::SYS_socket, i64::from(libc::AF_INET), ty, proto) };
    check(fd, "socket");
    ok(format!("fd {fd}"))
}

/// `socketpair(AF_UNIX, TYPE)`.
fn socketpair_type(ty: &str) -> ! {
    let ty = match ty {
        "stream" => libc::SOCK_STREAM,
        "seqpacket" => libc::SOCK_SEQPACKET,
        "dgram" => libc::SOCK_DGRAM,
        "raw" => libc::SOCK_RAW,
        _ => exit(2),
    };
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors socketpair writes.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
            fds.as_mut_ptr(),
        )
    };
    check(r as libc::c_long, "socketpair");
    ok(format!("pair {} {}", fds[0], fds[1]))
}

/// One end of a unix datagram pair addresses the socket at `path`, by
/// `sendto` or by `connect` and `send`.
fn unix_dgram_pair(path: &str, how: &str) -> ! {
    let (a, _b) = UnixDatagram::pair().unwrap_or_else(|_| fail_at("socketpair(SOCK_DGRAM)"));
    let sent = match how {
        "sendto" => a.send_to(PAYLOAD, path),
        "connect" => a.connect(path).and_then(|()| a.send(PAYLOAD)),
        _ => exit(2),
    };
    match sent {
        Ok(n) => ok(format!("sent {n}")),
        Err(e) => {
            println!("ERR {} {how}: {e}", e.raw_os_error().unwrap_or(0));
            exit(10)
        }
    }
}

/// Attach the existing segment `key` read-only and print its text.
fn shm_read(key: libc::key_t) -> ! {
    // SAFETY: shmget takes integers only.
    let id = check(unsafe { libc::shmget(key, 0, 0) } as libc::c_long, "shmget") as i32;
    // SAFETY: attach read-only wherever the kernel chooses.
    let at = unsafe { libc::shmat(id, std::ptr::null(), libc::SHM_RDONLY) };
    if at as isize == -1 {
        fail_at("shmat")
    }
    // SAFETY: the segment is at least one page; read up to 256 bytes of it.
    let bytes = unsafe { std::slice::from_raw_parts(at.cast::<u8>(), 256) };
    let text: Vec<u8> = bytes.iter().copied().take_while(|b| *b != 0).collect();
    ok(String::from_utf8_lossy(&text))
}

/// Create segment `key` and write `text` into it (left for the test to look for).
fn shm_create(key: libc::key_t, text: &str) -> ! {
    let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;
    // SAFETY: shmget takes integers only.
    let r = unsafe { libc::shmget(key, 4096, flags) };
    let id = check(r as libc::c_long, "shmget") as i32;
    // SAFETY: attach read-write wherever the kernel chooses.
    let at = unsafe { libc::shmat(id, std::ptr::null(), 0) };
    if at as isize == -1 {
        fail_at("shmat")
    }
    let len = text.len().min(4095);
    // SAFETY: the segment is 4096 bytes; len + 1 fits.
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), at.cast::<u8>(), len) };
    ok(format!("created {id}"))
}

/// Receive (without waiting) from the existing message queue `key`.
fn msg_read(key: libc::key_t) -> ! {
    // SAFETY: msgget takes integers only.
    let id = check(unsafe { libc::msgget(key, 0) } as libc::c_long, "msgget") as i32;
    let mut buf = [0u8; 8 + 256];
    // SAFETY: buf holds a long mtype followed by 256 bytes of text.
    let n = unsafe { libc::msgrcv(id, buf.as_mut_ptr().cast(), 256, 0, libc::IPC_NOWAIT) };
    let n = check(n as libc::c_long, "msgrcv") as usize;
    ok(String::from_utf8_lossy(&buf[8..8 + n.min(256)]))
}
