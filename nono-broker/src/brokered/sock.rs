//! Socket calls: connect, bind, listen, sendto, sendmsg, sendmmsg. The
//! broker never lets the kernel continue one of them: the verdict depends
//! on the descriptor (a second agent thread could `dup2` another socket
//! onto the number) and on the address in memory. So it takes its own
//! duplicate of the open file description (`pidfd_getfd`), reads the
//! family and type from the kernel, judges its own copy of the address and
//! makes the call itself, on the duplicate, with that copy.
//!
//! - Pathname AF_UNIX addresses: only granted sockets (`unix.rs`), reached
//!   through `/proc/self/fd/N` of the object the broker resolved.
//! - Everything else is performed as asked, under the broker's Landlock
//!   domain, which has the agent's own network rules.
//! - `listen` on an unbound TCP socket would autobind a random port past
//!   Landlock's bind rule: refused where TCP is restricted.
//! - TCP Fast Open (`MSG_FASTOPEN`) would bypass the connect rule: refused
//!   where TCP is restricted.
//! - Calls that may block (a stream connect; a send on a blocking socket
//!   that cannot complete at once) run on a worker thread, so the broker
//!   keeps serving; the socket's own timeouts apply.
//! - SCM_RIGHTS descriptors are duplicated from the agent and sent as the
//!   broker's duplicates.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use ipc::broker::BrokeredReason;
use nix::errno::Errno;

use super::decode::{Msg, SockReq, MMSGHDR_SIZE, MMSG_LEN_OFFSET};
use super::unix::{self, Resolved};
use super::{Grants, Verdict};
use crate::sys;

/// A duplicate of the agent's socket, with what the kernel says it is.
struct Sock {
    fd: Arc<OwnedFd>,
    domain: i32,
    ty: i32,
}

/// The notifying thread: its id (for `/proc/<tid>` paths and its memory)
/// and one pidfd, opened once per notification, for every descriptor the
/// call names (the socket, SCM_RIGHTS descriptors).
struct Task {
    tid: u32,
    pidfd: OwnedFd,
}

impl Task {
    fn open(tid: u32) -> Result<Task, Errno> {
        Ok(Task {
            tid,
            pidfd: sys::thread_pidfd(tid)?,
        })
    }

    /// A duplicate of the task's descriptor `fd`.
    fn dup(&self, fd: i32) -> Result<OwnedFd, Errno> {
        sys::getfd(self.pidfd.as_fd(), fd)
    }
}

fn borrow(t: &Task, fd: i32) -> Result<Sock, Errno> {
    let dup = t.dup(fd)?;
    let domain = sys::sockopt_int(dup.as_fd(), libc::SO_DOMAIN);
    let ty = sys::sockopt_int(dup.as_fd(), libc::SO_TYPE);
    let (Ok(domain), Ok(ty)) = (domain, ty) else {
        return Err(Errno::ENOTSOCK);
    };
    Ok(Sock {
        fd: Arc::new(dup),
        domain,
        ty,
    })
}

/// An address made ready for the broker's own call.
struct Target {
    /// Raw address bytes for the kernel (translated for unix pathnames).
    addr: Vec<u8>,
    /// What keeps a translated address valid (the resolved object).
    hold: Option<OwnedFd>,
    /// The judged path, for events.
    shown: Option<String>,
}

/// Judge `addr` for a call on `s`; Err is the verdict to answer with.
fn target(
    t: &Task,
    s: &Sock,
    addr: &[u8],
    bind: bool,
    op: &'static str,
    g: &Grants,
) -> Result<Target, Verdict> {
    let plain = || Target {
        addr: addr.to_vec(),
        hold: None,
        shown: None,
    };
    if s.domain != libc::AF_UNIX {
        return Ok(plain());
    }
    match unix::resolve(t.tid, addr, bind, &g.unix) {
        Resolved::NotAPath => Ok(plain()),
        Resolved::Granted { addr, hold, shown } => Ok(Target {
            addr,
            hold: Some(hold),
            shown: Some(shown),
        }),
        Resolved::Refused { errno, shown, why } => Err(Verdict::Judged {
            reply: Err(errno),
            op,
            path: shown,
            allowed: false,
            why,
        }),
    }
}

/// The verdict for a call performed now.
fn done(reply: Result<i64, Errno>, op: &'static str, t: &Target) -> Verdict {
    match &t.shown {
        Some(path) => Verdict::Judged {
            reply,
            op,
            path: path.clone(),
            allowed: true,
            why: BrokeredReason::Other(String::new()),
        },
        None => Verdict::Reply(reply),
    }
}

/// `pending`: whether the notification is still pending, checked once the
/// pidfd is open, so the pidfd names the very task that made the call (not
/// a later task that reused its thread id).
pub fn decide(tid: u32, req: SockReq, g: &Grants, pending: &dyn Fn() -> bool) -> Verdict {
    let fd = match &req {
        SockReq::Connect { fd, .. }
        | SockReq::Bind { fd, .. }
        | SockReq::Listen { fd, .. }
        | SockReq::Send { fd, .. }
        | SockReq::Batch { fd, .. } => *fd,
    };
    let t = match Task::open(tid) {
        Ok(t) if pending() => t,
        Ok(_) => return Verdict::Reply(Err(Errno::ESRCH)),
        Err(e) => return Verdict::Reply(Err(e)),
    };
    let s = match borrow(&t, fd) {
        Ok(s) => s,
        Err(e) => return Verdict::Reply(Err(e)),
    };
    match req {
        SockReq::Connect { addr, .. } => connect(&t, s, &addr, g),
        SockReq::Bind { addr, .. } => match target(&t, &s, &addr, true, "bind", g) {
            Ok(t) => done(sys::bind(s.fd.as_fd(), &t.addr), "bind", &t),
            Err(v) => v,
        },
        SockReq::Listen { backlog, .. } => listen(&s, backlog, g),
        SockReq::Send { msg, flags, .. } => send(&t, s, msg, flags, g),
        SockReq::Batch {
            msgs, flags, vec, ..
        } => batch(&t, s, msgs, flags, vec, g),
    }
}

fn connect(task: &Task, s: Sock, addr: &[u8], g: &Grants) -> Verdict {
    let t = match target(task, &s, addr, false, "connect", g) {
        Ok(t) => t,
        Err(v) => return v,
    };
    // A datagram connect only sets the default peer: it never blocks.
    if s.ty == libc::SOCK_DGRAM {
        return done(sys::connect(s.fd.as_fd(), &t.addr), "connect", &t);
    }
    let Target { addr, hold, .. } = t;
    let fd = s.fd;
    Verdict::Deferred {
        job: Box::new(move || {
            let r = sys::connect(fd.as_fd(), &addr);
            drop(hold);
            r
        }),
    }
}

fn listen(s: &Sock, backlog: i32, g: &Grants) -> Verdict {
    let tcp = matches!(s.domain, libc::AF_INET | libc::AF_INET6) && s.ty == libc::SOCK_STREAM;
    if tcp && g.net.restricted {
        let refuse = |why: BrokeredReason, port: u16| Verdict::Judged {
            reply: Err(Errno::EACCES),
            op: "listen",
            path: format!("TCP port {port}"),
            allowed: false,
            why,
        };
        match sys::local_port(s.fd.as_fd()) {
            Ok(Some(0)) => return refuse(BrokeredReason::UnboundListen, 0),
            Ok(Some(p)) if !g.net.bind_ports.contains(&p) => {
                return refuse(BrokeredReason::PortNotGranted, p)
            }
            Ok(_) => {}
            Err(e) => return Verdict::Reply(Err(e)),
        }
    }
    Verdict::Reply(sys::listen(s.fd.as_fd(), backlog))
}

/// A message judged and ready to send with the broker's own objects.
struct Ready {
    name: Target,
    data: Vec<u8>,
    control: Vec<u8>,
    /// The broker's duplicates of SCM_RIGHTS descriptors (kept open until sent).
    _rights: Vec<OwnedFd>,
}

fn ready(
    task: &Task,
    s: &Sock,
    msg: Msg,
    flags: i32,
    op: &'static str,
    g: &Grants,
) -> Result<Ready, Verdict> {
    // Where Landlock's TCP rules are the boundary (the agent's filter
    // refuses it there too, with the same errno).
    if flags & libc::MSG_FASTOPEN != 0 && g.net.restricted {
        return Err(Verdict::Judged {
            reply: Err(Errno::EOPNOTSUPP),
            op,
            path: "(TCP Fast Open)".into(),
            allowed: false,
            why: BrokeredReason::TcpFastOpen,
        });
    }
    // A payload cut at the copy limit: a short stream send is allowed, a
    // cut datagram or record is not.
    if msg.declared > msg.data.len() as u64 && s.ty != libc::SOCK_STREAM {
        return Err(Verdict::Reply(Err(Errno::EMSGSIZE)));
    }
    let name = if msg.name.is_empty() {
        Target {
            addr: Vec::new(),
            hold: None,
            shown: None,
        }
    } else {
        target(task, s, &msg.name, false, op, g)?
    };
    let mut rights = Vec::new();
    let control = if s.domain == libc::AF_UNIX && !msg.control.is_empty() {
        let mut swap = |theirs: i32| {
            let ours = task.dup(theirs)?;
            let n = std::os::fd::AsRawFd::as_raw_fd(&ours);
            rights.push(ours);
            Ok(n)
        };
        super::decode::rights(&msg.control, &mut swap).map_err(|e| Verdict::Reply(Err(e)))?
    } else {
        msg.control
    };
    Ok(Ready {
        name,
        data: msg.data,
        control,
        _rights: rights,
    })
}

fn send_ready(fd: &OwnedFd, r: &Ready, from: usize, flags: i32) -> Result<i64, Errno> {
    let control = if from == 0 { &r.control[..] } else { &[] };
    sys::sendmsg(fd.as_fd(), &r.name.addr, &r.data[from..], control, flags)
}

/// Whether the agent asked not to block (flag or socket status).
fn nonblocking(s: &Sock, flags: i32) -> bool {
    flags & libc::MSG_DONTWAIT != 0
        || sys::status_flags(s.fd.as_fd()).is_ok_and(|f| f & libc::O_NONBLOCK != 0)
}

fn send(task: &Task, s: Sock, msg: Msg, flags: i32, g: &Grants) -> Verdict {
    let op = "send";
    let r = match ready(task, &s, msg, flags, op, g) {
        Ok(r) => r,
        Err(v) => return v,
    };
    // First try without blocking, always: the serving thread must not wait.
    let first = send_ready(&s.fd, &r, 0, flags | libc::MSG_DONTWAIT);
    let len = r.data.len();
    let rest = match first {
        Ok(n) if n as usize >= len => return done(Ok(n), op, &r.name),
        Ok(n) => n as usize,
        Err(Errno::EAGAIN) => 0,
        Err(e) => return done(Err(e), op, &r.name),
    };
    if nonblocking(&s, flags) {
        return done(
            if rest > 0 {
                Ok(rest as i64)
            } else {
                Err(Errno::EAGAIN)
            },
            op,
            &r.name,
        );
    }
    // A blocking send that could not complete: finish it on a worker.
    let fd = s.fd;
    Verdict::Deferred {
        job: Box::new(move || match send_ready(&fd, &r, rest, flags) {
            Ok(n) => Ok(rest as i64 + n),
            Err(_) if rest > 0 => Ok(rest as i64),
            Err(e) => Err(e),
        }),
    }
}

fn batch(task: &Task, s: Sock, msgs: Vec<Msg>, flags: i32, vec: u64, g: &Grants) -> Verdict {
    let op = "sendmmsg";
    let mut all = Vec::with_capacity(msgs.len());
    let mut refused = None;
    for m in msgs {
        match ready(task, &s, m, flags, op, g) {
            Ok(r) => all.push(r),
            Err(v) => {
                refused = Some(v);
                break;
            }
        }
    }
    if all.is_empty() {
        return refused.unwrap_or(Verdict::Reply(Ok(0)));
    }
    let tid = task.tid;
    let send_all = move |fd: &OwnedFd, flags: i32| -> Result<i64, Errno> {
        let mut sent = 0u64;
        for (i, r) in all.iter().enumerate() {
            match send_ready(fd, r, 0, flags) {
                Ok(n) => {
                    let at = vec + MMSGHDR_SIZE * i as u64 + MMSG_LEN_OFFSET;
                    let _ = sys::write_agent(tid, at, &(n as u32).to_ne_bytes());
                    sent += 1;
                }
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent as i64)
    };
    if nonblocking(&s, flags) {
        return Verdict::Reply(send_all(&s.fd, flags | libc::MSG_DONTWAIT));
    }
    let fd = s.fd;
    Verdict::Deferred {
        job: Box::new(move || send_all(&fd, flags)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixListener;

    fn sun(path: &std::path::Path) -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt;
        let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(path.as_os_str().as_bytes());
        v.push(0);
        v
    }

    /// The rule, shown on this process's own descriptor table: the broker
    /// judges and acts on its duplicate, so a second thread swapping a
    /// unix socket onto the judged number changes nothing it does; what a
    /// CONTINUE would do (the kernel looks the number up again) reaches
    /// the swapped-in socket. The end-to-end race is in the e2e tests.
    #[test]
    fn a_swapped_descriptor_number_does_not_change_what_was_judged() {
        let dir = std::env::temp_dir().join(format!("nono-broker-swap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("outside.sock");
        let l = UnixListener::bind(&path).unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = sun(&path);
        let mut judged_number = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        let n = judged_number.as_raw_fd();
        let t = Task::open(nix::unistd::gettid().as_raw() as u32).unwrap();
        let s = borrow(&t, n).unwrap();
        assert_eq!((s.domain, s.ty), (libc::AF_INET, libc::SOCK_STREAM));
        // The racing thread's move: a unix socket now sits at that number.
        let ux = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        nix::unistd::dup2(&ux, &mut judged_number).unwrap();
        // Acting on what was judged: a TCP socket cannot reach a unix path.
        assert!(sys::connect(s.fd.as_fd(), &addr).is_err());
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(l.accept().is_err(), "the judged socket reached nothing");
        // What CONTINUE would have let the kernel do: the racer wins.
        assert_eq!(sys::connect(judged_number.as_fd(), &addr), Ok(0));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(l.accept().is_ok(), "continuing would have connected");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fast_open_is_refused_before_anything_is_sent() {
        let tcp = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        let t = Task::open(nix::unistd::gettid().as_raw() as u32).unwrap();
        let s = borrow(&t, tcp.as_raw_fd()).unwrap();
        let mut caps = sandbox::CapabilitySet::new();
        caps.set_network(sandbox::NetworkPolicy::TcpPorts);
        let g = Grants::of(&caps, &[], None);
        let msg = Msg {
            name: Vec::new(),
            data: b"x".to_vec(),
            declared: 1,
            control: Vec::new(),
        };
        let v = ready(&t, &s, msg, libc::MSG_FASTOPEN, "send", &g);
        assert!(matches!(
            v,
            Err(Verdict::Judged {
                reply: Err(Errno::EOPNOTSUPP),
                ..
            })
        ));
    }
}
