//! Socket operations of the probe that attack the broker's socket
//! mediation: descriptor-swap races (a second thread `dup2()`s a unix socket
//! onto the descriptor number between the broker's verdict and the kernel's
//! own lookup) and socket calls from threads other than the main one.
//!
//! Each prints `OK …` / `ERR errno …` and exits (0 / 10).

use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{arg, fail, ok};

/// The descriptor number both racing threads fight over.
const RACE_FD: i32 = 200;
/// Upper bound on attempts, whatever the time limit.
const MAX_TRIES: u64 = 50_000_000;

/// Run a socket action; unknown actions exit 2.
pub fn run(action: &str, args: &[String]) -> ! {
    match action {
        "race-connect" => race_connect(arg(args, 2), arg(args, 3), arg(args, 4)),
        "race-sendto" => race_send(Send::To, args),
        "race-sendmsg" => race_send(Send::Msg, args),
        "race-sendmmsg" => race_send(Send::Mmsg, args),
        _ => {
            if let Some(op) = action.strip_prefix("child-thread-") {
                child_thread(op, arg(args, 2))
            }
            if let Some(op) = action.strip_prefix("thread-") {
                thread(op, arg(args, 2))
            }
            eprintln!("nono-probe: unknown action {action}");
            exit(2)
        }
    }
}

fn seconds(s: &str) -> Duration {
    Duration::from_secs(s.parse().unwrap_or_else(|_| exit(2)))
}

/// `(domain, type)` of a socket named on the command line.
fn kind(name: &str) -> (i32, i32) {
    match name {
        "tcp" => (libc::AF_INET, libc::SOCK_STREAM),
        "udp" => (libc::AF_INET, libc::SOCK_DGRAM),
        "unix-stream" => (libc::AF_UNIX, libc::SOCK_STREAM),
        "unix-dgram" => (libc::AF_UNIX, libc::SOCK_DGRAM),
        _ => {
            eprintln!("nono-probe: unknown socket kind {name}");
            exit(2)
        }
    }
}

/// A new non-blocking socket, or -1.
fn new_socket((domain, ty): (i32, i32)) -> i32 {
    // SAFETY: socket takes integers only.
    unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) }
}

/// Put a new socket of `k` at `RACE_FD`; false when the socket is refused.
fn place(k: (i32, i32)) -> bool {
    let s = new_socket(k);
    if s < 0 {
        return false;
    }
    // SAFETY: dup2 and close take descriptor numbers only; s is ours.
    unsafe {
        libc::dup2(s, RACE_FD);
        libc::close(s);
    }
    true
}

fn sockaddr_un(path: &str) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let b = path.as_bytes();
    if b.len() >= a.sun_path.len() {
        eprintln!("nono-probe: socket path too long");
        exit(2)
    }
    for (d, s) in a.sun_path.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + b.len() + 1;
    (a, len as libc::socklen_t)
}

/// Figures of one race.
#[derive(Default)]
struct Tally {
    tries: u64,
    /// The call succeeded: it ran on the unix socket.
    wins: u64,
    /// Refused with EACCES or EPERM: the broker judged the unix socket.
    refused: u64,
}

/// Thread B swaps `real` and `decoy` sockets onto `RACE_FD` while this
/// thread (A) puts a decoy there and calls `attempt` on it, for `limit`.
/// The call is judged (seccomp) at entry and looks the descriptor up again
/// when it runs: a verdict taken on the decoy must not carry over to the
/// unix socket.
fn race(
    limit: Duration,
    decoy: (i32, i32),
    real: (i32, i32),
    attempt: impl Fn() -> libc::c_long,
) -> Tally {
    // Fail early and plainly when the mode refuses either socket.
    for k in [decoy, real] {
        let s = new_socket(k);
        if s < 0 {
            fail(std::io::Error::last_os_error())
        }
        // SAFETY: s is our descriptor.
        unsafe { libc::close(s) };
    }
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && swaps.load(Ordering::Relaxed) < MAX_TRIES * 4 {
                place(real);
                place(decoy);
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let end = Instant::now() + limit;
    let mut t = Tally::default();
    while Instant::now() < end && t.tries < MAX_TRIES {
        // Every other try starts from a decoy; the others take whatever
        // the swapper left (without a sandbox that wins far more often).
        if t.tries % 2 == 0 {
            place(decoy);
        }
        t.tries += 1;
        if attempt() >= 0 {
            t.wins += 1;
        } else if matches!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EACCES | libc::EPERM)
        ) {
            t.refused += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = swapper.join();
    t
}

fn report(t: Tally) -> ! {
    ok(format!(
        "tries={} wins={} refused={}",
        t.tries, t.wins, t.refused
    ))
}

/// `race-connect PATH SECONDS DECOY`: connect() to the unix stream socket at
/// PATH on a descriptor that is a DECOY socket (tcp, udp) when judged.
fn race_connect(path: &str, secs: &str, decoy: &str) -> ! {
    let (sa, len) = sockaddr_un(path);
    let t = race(
        seconds(secs),
        kind(decoy),
        (libc::AF_UNIX, libc::SOCK_STREAM),
        || {
            // SAFETY: sa is a valid sockaddr_un of len bytes.
            unsafe { libc::connect(RACE_FD, (&raw const sa).cast(), len) as libc::c_long }
        },
    );
    report(t)
}

/// Which addressed send a `race-send*` action makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Send {
    To,
    Msg,
    /// sendmmsg with a batch of one message.
    Mmsg,
}

/// `race-sendto PATH SECONDS DECOY PAYLOAD`,
/// `race-sendmsg PATH SECONDS DECOY PAYLOAD [rights]` and `race-sendmmsg`
/// (same arguments): an addressed
/// datagram to the unix datagram socket at PATH on a descriptor that is a
/// DECOY socket (udp, tcp, unix-stream) when judged; with `rights`, sendmsg
/// also passes a descriptor (SCM_RIGHTS).
fn race_send(call: Send, args: &[String]) -> ! {
    let (path, secs, decoy, payload) = (arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5));
    let rights = args.get(6).map(String::as_str) == Some("rights");
    let (sa, len) = sockaddr_un(path);
    let data = payload.as_bytes().to_vec();
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // The descriptor passed along: our own stdin.
    let fd: i32 = 0;
    let t = race(
        seconds(secs),
        kind(decoy),
        (libc::AF_UNIX, libc::SOCK_DGRAM),
        || {
            if call == Send::To {
                // SAFETY: data and sa are valid for the lengths given.
                return unsafe {
                    libc::sendto(
                        RACE_FD,
                        data.as_ptr().cast(),
                        data.len(),
                        flags,
                        (&raw const sa).cast(),
                        len,
                    ) as libc::c_long
                };
            }
            let mut iov = libc::iovec {
                iov_base: data.as_ptr() as *mut libc::c_void,
                iov_len: data.len(),
            };
            // One cmsghdr with one int, 8-aligned: 16 + 4, rounded up.
            let mut control = [0u64; 3];
            // SAFETY: msghdr is plain data; all zeroes is a valid value.
            let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
            m.msg_name = (&raw const sa) as *mut libc::c_void;
            m.msg_namelen = len;
            m.msg_iov = &mut iov;
            m.msg_iovlen = 1;
            if rights {
                // SAFETY: control has room for one cmsghdr and one int; CMSG_FIRSTHDR points into it.
                unsafe {
                    m.msg_control = control.as_mut_ptr().cast();
                    m.msg_controllen = libc::CMSG_SPACE(4) as usize;
                    let c = libc::CMSG_FIRSTHDR(&m);
                    (*c).cmsg_level = libc::SOL_SOCKET;
                    (*c).cmsg_type = libc::SCM_RIGHTS;
                    (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), fd);
                }
            }
            if call == Send::Mmsg {
                let mut batch = libc::mmsghdr {
                    msg_hdr: m,
                    msg_len: 0,
                };
                // SAFETY: batch holds one msghdr pointing at live buffers of the lengths it declares.
                let sent = unsafe { libc::sendmmsg(RACE_FD, &mut batch, 1, flags) };
                // One message sent is a win; none (0) or an error is not.
                return if sent == 1 { 0 } else { -1 };
            }
            // SAFETY: m points at live buffers of the lengths it declares.
            unsafe { libc::sendmsg(RACE_FD, &m, flags) as libc::c_long }
        },
    );
    report(t)
}

/// The one socket call of a `thread-*` action, run on the calling thread.
fn socket_call(op: &str, target: &str) -> std::io::Result<String> {
    match op {
        "connect" => {
            let mut s = UnixStream::connect(target)?;
            s.write_all(b"thread")?;
            Ok("connected".into())
        }
        "bind" => UnixListener::bind(target).map(|_| "bound".into()),
        "sendto" => UnixDatagram::unbound()?
            .send_to(b"thread", target)
            .map(|n| format!("sent {n}")),
        "tcp-connect" => {
            let addr: std::net::SocketAddr = target.parse().unwrap_or_else(|_| exit(2));
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .map(|_| "connected".into())
        }
        _ => {
            eprintln!("nono-probe: unknown thread operation {op}");
            exit(2)
        }
    }
}

/// `thread-OP TARGET`: the call from a second thread of this process.
fn thread(op: &str, target: &str) -> ! {
    let (op, target) = (op.to_string(), target.to_string());
    // SAFETY: gettid takes no arguments.
    let main_tid = unsafe { libc::gettid() };
    let h = std::thread::spawn(move || {
        // SAFETY: gettid takes no arguments.
        let tid = unsafe { libc::gettid() };
        socket_call(&op, &target).map(|d| format!("{d} (thread {tid})"))
    });
    match h.join() {
        Ok(Ok(d)) => ok(format!("{d}, main thread {main_tid}")),
        Ok(Err(e)) => fail(e),
        Err(_) => exit(3),
    }
}

/// `child-thread-OP TARGET`: fork; the child makes the call from a second
/// thread of its own and reports; the parent exits with the child's status.
fn child_thread(op: &str, target: &str) -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: the probe is single-threaded here, so the child may go on running Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        fail(std::io::Error::last_os_error())
    }
    if pid == 0 {
        thread(op, target)
    }
    let mut status = 0;
    // SAFETY: status is a valid int to write the child's status into.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        fail(std::io::Error::last_os_error())
    }
    exit(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        4
    })
}
