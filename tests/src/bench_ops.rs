//! Probe actions for the benchmarks (`bench/broker.sh`): loops of one call,
//! timed inside the process, and the peers that answer them. Bounded by
//! their count arguments.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Instant;

/// `bench-connect-unix PATH N` / `bench-connect-tcp PORT N`: N connects,
/// each read to the peer's close; prints nanoseconds per connect.
/// `bench-accept-unix PATH N` / `bench-accept-tcp PORT N`: accept N and exit.
/// `bench-chmod PATH N`: N chmods of PATH; prints nanoseconds per chmod.
/// `bench-openat DIR N`: N opens (and closes) of DIR's first entry relative
/// to a descriptor of DIR, as `find` walks a tree; nanoseconds per open.
/// `bench-getppid N`: N getppid calls (a syscall that does nothing), and
/// `bench-notify-floor N`: the same, each answered by a seccomp supervisor
/// process doing nothing else (`-thread`: a thread), `bench_floor.rs`;
/// nanoseconds per call.
pub fn run(action: &str, args: &[String]) -> Option<io::Result<String>> {
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let n: u32 = a(3).parse().unwrap_or(1000);
    let r = match action {
        "bench-connect-unix" => per_call(n, || UnixStream::connect(a(2)).and_then(eof)),
        "bench-connect-tcp" => per_call(n, || {
            TcpStream::connect(("127.0.0.1", port(a(2)))).and_then(eof)
        }),
        "bench-chmod" => {
            use std::os::unix::fs::PermissionsExt;
            let mut mode = 0o600;
            per_call(n, || {
                mode ^= 0o040;
                std::fs::set_permissions(a(2), std::fs::Permissions::from_mode(mode))
            })
        }
        "bench-openat" => openat_loop(a(2), n),
        "bench-getppid" => per_call(a(2).parse().unwrap_or(1000), || {
            // SAFETY: getppid takes no arguments and cannot fail.
            unsafe { libc::syscall(libc::SYS_getppid) };
            Ok(())
        }),
        "bench-notify-floor" => crate::bench_floor::run_process(a(2).parse().unwrap_or(1000)),
        "bench-notify-floor-thread" => crate::bench_floor::run_thread(a(2).parse().unwrap_or(1000)),
        "bench-accept-unix" => {
            UnixListener::bind(a(2)).and_then(|l| accept_n(n, || l.accept().map(drop)))
        }
        "bench-accept-tcp" => TcpListener::bind(("127.0.0.1", port(a(2))))
            .and_then(|l| accept_n(n, || l.accept().map(drop))),
        _ => return None,
    };
    Some(r)
}

/// Wait for the peer's close, so each connect is answered before the next
/// (no backlog overflow and SYN retries in the native loop).
fn eof(mut s: impl io::Read) -> io::Result<()> {
    let mut b = [0u8; 1];
    s.read(&mut b).map(drop)
}

fn port(s: &str) -> u16 {
    s.parse().unwrap_or(0)
}

fn per_call(n: u32, mut f: impl FnMut() -> io::Result<()>) -> io::Result<String> {
    let start = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(format!(
        "{}",
        start.elapsed().as_nanos() / u128::from(n.max(1))
    ))
}

fn openat_loop(dir: &str, n: u32) -> io::Result<String> {
    use std::os::fd::AsFd;
    let d = std::fs::File::open(dir)?;
    let name = std::fs::read_dir(dir)?
        .next()
        .ok_or_else(|| io::Error::other("empty directory"))??
        .file_name();
    let flags = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC;
    per_call(n, || {
        nix::fcntl::openat(
            d.as_fd(),
            name.as_os_str(),
            flags,
            nix::sys::stat::Mode::empty(),
        )
        .map(drop)
        .map_err(io::Error::from)
    })
}

fn accept_n(n: u32, mut f: impl FnMut() -> io::Result<()>) -> io::Result<String> {
    for _ in 0..n {
        f()?;
    }
    Ok(format!("accepted {n}"))
}
