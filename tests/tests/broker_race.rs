//! The broker's socket mediation against a multi-threaded agent: a second
//! thread `dup2()`s a unix socket onto the descriptor number between the
//! broker's verdict and the kernel's own lookup (connect, sendto, sendmsg
//! with a passed descriptor), and socket calls from threads other than the
//! main one, in the agent and in its children. What arrives is counted
//! from outside, on sockets the agent was never granted.
//!
//! Run with `--nocapture` to see the race figures.

use std::io::{ErrorKind, IoSliceMut};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nono_e2e::{canary, run, unsandboxed, Ran, Scratch, EACCES};

/// Each race inside the sandbox runs this long.
const RACE_SECS: &str = "10";
/// The unsandboxed control runs this long.
const CONTROL_SECS: &str = "2";
/// A race that tried fewer times than this did not really race.
const MIN_TRIES: u64 = 500;

/// A short account of a run: its status, stdout and the start of stderr
/// (a race can log thousands of denials).
fn brief(r: &Ran) -> String {
    let lines: Vec<&str> = r.stderr.lines().collect();
    format!(
        "code {:?}, stdout {:?}, stderr ({} lines) {:?}",
        r.code,
        r.stdout.trim(),
        lines.len(),
        &lines[..lines.len().min(3)]
    )
}

fn field(r: &Ran, k: &str) -> u64 {
    r.stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{k}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{k}= in {}", brief(r)))
}

/// What reaches a unix socket outside the sandbox, counted on a thread.
struct Outside {
    stop: Arc<AtomicBool>,
    /// Connections accepted, or datagrams carrying the canary.
    arrived: Arc<AtomicU64>,
    /// Descriptors received with those datagrams (SCM_RIGHTS).
    fds: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Outside {
    fn start(work: impl FnOnce(&AtomicBool, &AtomicU64, &AtomicU64) + Send + 'static) -> Outside {
        let (stop, arrived, fds) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let thread = {
            let (stop, arrived, fds) = (stop.clone(), arrived.clone(), fds.clone());
            std::thread::spawn(move || work(&stop, &arrived, &fds))
        };
        Outside {
            stop,
            arrived,
            fds,
            thread: Some(thread),
        }
    }

    /// A listening stream socket at `path`; counts connections.
    fn stream(path: &Path) -> Outside {
        let l = UnixListener::bind(path).unwrap();
        l.set_nonblocking(true).unwrap();
        // The latest connections stay open, so a client's first write
        // does not meet a closed peer; older ones are closed (a race
        // without a sandbox makes thousands).
        let mut open = std::collections::VecDeque::new();
        Outside::start(move |stop, arrived, _| loop {
            match l.accept() {
                Ok((c, _)) => {
                    arrived.fetch_add(1, Ordering::Relaxed);
                    open.push_back(c);
                    if open.len() > 64 {
                        open.pop_front();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("accept: {e}"),
            }
        })
    }

    /// A datagram socket at `path`; counts datagrams carrying `canary` and
    /// the descriptors passed with them.
    fn datagrams(path: &Path, canary: &str) -> Outside {
        let s = UnixDatagram::bind(path).unwrap();
        let canary = canary.as_bytes().to_vec();
        Outside::start(move |stop, arrived, fds| loop {
            let mut buf = [0u8; 512];
            let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 8]);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let got = recvmsg::<()>(
                s.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
            );
            match got {
                Ok(m) => {
                    for c in m.cmsgs().into_iter().flatten() {
                        if let ControlMessageOwned::ScmRights(passed) = c {
                            fds.fetch_add(passed.len() as u64, Ordering::Relaxed);
                            for fd in passed {
                                // SAFETY: the kernel just installed fd in this process for us; nothing else owns it.
                                drop(unsafe { OwnedFd::from_raw_fd(fd) });
                            }
                        }
                    }
                    let n = m.bytes;
                    if buf[..n].windows(canary.len()).any(|w| w == canary) {
                        arrived.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(nix::errno::Errno::EAGAIN) => {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("recvmsg: {e}"),
            }
        })
    }

    /// Everything that arrived so far (after a moment for stragglers).
    fn arrived(&self) -> (u64, u64) {
        std::thread::sleep(Duration::from_millis(100));
        (
            self.arrived.load(Ordering::Relaxed),
            self.fds.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Race `probe_args` (whose seconds argument is at index 2) first without
/// a sandbox for `CONTROL_SECS`, where it must get through (the racer
/// works, so the test can fail), then in `nono run FLAGS` for `RACE_SECS`
/// with no unix-socket grants, where nothing may arrive.
fn race(name: &str, flags: &[&str], probe_args: &[&str], outside: &Outside) {
    let mut args = probe_args.to_vec();
    args[2] = CONTROL_SECS;
    let r = unsandboxed(&args);
    let (arrived, fds) = outside.arrived();
    eprintln!(
        "{name}, unsandboxed {CONTROL_SECS} s: {} arrived={arrived} fds={fds}",
        r.stdout.trim()
    );
    assert!(r.is_ok(), "{}", brief(&r));
    assert!(
        field(&r, "wins") > 0 && arrived > 0,
        "the racer must get through without a sandbox: {}",
        brief(&r)
    );

    args[2] = RACE_SECS;
    let r = run(flags, &args);
    let (total, total_fds) = outside.arrived();
    let (arrived, fds) = (total - arrived, total_fds - fds);
    eprintln!(
        "{name}, nono run {flags:?} {RACE_SECS} s: {} arrived={arrived} fds={fds}",
        r.stdout.trim()
    );
    assert!(r.is_ok(), "{}", brief(&r));
    assert_eq!(
        (arrived, fds),
        (0, 0),
        "nothing may reach the socket outside the grants: {}",
        brief(&r)
    );
    assert_eq!(field(&r, "wins"), 0, "{}", brief(&r));
    assert!(
        field(&r, "tries") > MIN_TRIES,
        "the race must race: {}",
        brief(&r)
    );
    assert!(
        field(&r, "refused") > 0,
        "the swapped-in unix socket must have been judged sometimes: {}",
        brief(&r)
    );
}

#[test]
fn connect_descriptor_swap_race_reaches_no_socket_outside_the_grants() {
    let dir = Scratch::new();
    let sock = dir.join("outside.sock");
    let outside = Outside::stream(&sock);
    let p = sock.display().to_string();
    // A TCP socket when judged (network allowed), a unix one when run.
    race("connect", &[], &["race-connect", &p, "", "tcp"], &outside);
}

#[test]
fn sendto_descriptor_swap_race_delivers_no_datagram_outside_the_grants() {
    let dir = Scratch::new();
    let sock = dir.join("outside.dgram");
    let c = canary("sendto-race");
    let outside = Outside::datagrams(&sock, &c);
    let p = sock.display().to_string();
    // A UDP socket when judged, a unix datagram socket when run.
    race("sendto", &[], &["race-sendto", &p, "", "udp", &c], &outside);
}

#[test]
fn sendmsg_descriptor_swap_race_passes_no_descriptor_outside_the_grants() {
    let dir = Scratch::new();
    let sock = dir.join("outside.dgram");
    let c = canary("sendmsg-race");
    let outside = Outside::datagrams(&sock, &c);
    let p = sock.display().to_string();
    // No network at all: an unconnected unix stream socket when judged
    // (its addressed sends fail in the kernel), a unix datagram socket
    // carrying a descriptor when run.
    race(
        "sendmsg",
        &["--block-net"],
        &["race-sendmsg", &p, "", "unix-stream", &c, "rights"],
        &outside,
    );
}

/// Run `op` on a second thread of the agent, and on a second thread of a
/// child of the agent.
fn both_threads(flags: &[&str], op: &str, target: &str) -> [Ran; 2] {
    [
        run(flags, &[&format!("thread-{op}"), target]),
        run(flags, &[&format!("child-thread-{op}"), target]),
    ]
}

#[test]
fn unix_calls_from_other_threads_and_child_threads_reach_granted_sockets() {
    let dir = Scratch::new();
    let (stream, dgram) = (dir.join("granted.sock"), dir.join("granted.dgram"));
    let listener = Outside::stream(&stream);
    let receiver = UnixDatagram::bind(&dgram).unwrap();
    receiver.set_nonblocking(true).unwrap();
    let (s, d) = (stream.display().to_string(), dgram.display().to_string());

    let flags = ["--allow-unix-socket", &s];
    for r in both_threads(&flags, "connect", &s) {
        assert!(r.is_ok(), "connect from a thread: {r:?}");
    }
    assert_eq!(listener.arrived().0, 2, "both connections arrive");

    let flags = ["--allow-unix-socket", &d];
    for r in both_threads(&flags, "sendto", &d) {
        assert!(r.is_ok(), "sendto from a thread: {r:?}");
        let mut b = [0u8; 16];
        let n = receiver.recv(&mut b).expect("the datagram arrives");
        assert_eq!(&b[..n], b"thread");
    }

    for (i, r) in ["a", "b"].iter().enumerate() {
        let bound = dir.join(&format!("bound-{r}.sock"));
        let b = bound.display().to_string();
        let flags = ["--read", &dir.s(), "--allow-unix-socket-bind", &b];
        let op = if i == 0 {
            "thread-bind"
        } else {
            "child-thread-bind"
        };
        let ran = run(&flags, &[op, &b]);
        assert!(ran.is_ok(), "{op}: {ran:?}");
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::symlink_metadata(&bound)
                .unwrap()
                .file_type()
                .is_socket(),
            "{op}: the socket exists, seen from outside"
        );
    }
}

#[test]
fn unix_calls_from_other_threads_and_child_threads_to_other_sockets_are_refused() {
    let dir = Scratch::new();
    let (granted, stream, dgram) = (
        dir.join("granted.sock"),
        dir.join("outside.sock"),
        dir.join("outside.dgram"),
    );
    let listener = Outside::stream(&stream);
    let receiver = UnixDatagram::bind(&dgram).unwrap();
    receiver.set_nonblocking(true).unwrap();
    let g = granted.display().to_string();
    // Another socket is granted (connect and bind); these are not.
    let flags = ["--read", &dir.s(), "--allow-unix-socket-bind", &g];
    let (s, d) = (stream.display().to_string(), dgram.display().to_string());
    let bound = dir.join("bound.sock");
    let b = bound.display().to_string();
    for (op, target) in [("connect", &s), ("sendto", &d), ("bind", &b)] {
        for r in both_threads(&flags, op, target) {
            assert!(r.is_err(Some(EACCES)), "{op} from a thread: {r:?}");
        }
    }
    assert_eq!(listener.arrived().0, 0, "no connection arrives");
    assert!(
        receiver.recv(&mut [0u8; 16]).is_err(),
        "no datagram arrives"
    );
    assert!(!bound.exists(), "nothing was bound");
}

#[test]
fn tcp_connect_from_worker_threads_reaches_loopback() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let a = l.local_addr().unwrap().to_string();
    for r in both_threads(&[], "tcp-connect", &a) {
        assert!(r.is_ok(), "TCP connect from a thread: {r:?}");
        std::thread::sleep(Duration::from_millis(50));
        assert!(l.accept().is_ok(), "the connection arrives: {r:?}");
    }
}

#[test]
fn sendmmsg_descriptor_swap_race_delivers_no_datagram_outside_the_grants() {
    let dir = Scratch::new();
    let sock = dir.join("outside.dgram");
    let c = canary("sendmmsg-race");
    let outside = Outside::datagrams(&sock, &c);
    let p = sock.display().to_string();
    // A UDP socket when judged, a unix datagram socket when run; the
    // batch's address lives in the agent's memory like sendmsg's.
    race(
        "sendmmsg",
        &[],
        &["race-sendmmsg", &p, "", "udp", &c],
        &outside,
    );
}
