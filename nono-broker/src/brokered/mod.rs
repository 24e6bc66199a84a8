//! Answering the agent's seccomp notifications (one listener carries every
//! brokered syscall; the table is `calls.rs`).
//!
//! # The rule
//! The broker never lets the kernel continue a call whose verdict depended
//! on state the agent can still change: its memory (a second thread can
//! rewrite an address or path after the broker read it) or its descriptor
//! table (a second thread can `dup2` another object onto the number the
//! broker inspected). Instead it
//! 1. copies every argument out of the agent's memory once (`decode.rs`),
//!    then checks the notification is still pending;
//! 2. takes its own duplicates of the agent's descriptors (`pidfd_getfd`)
//!    and resolves paths itself (`target.rs`), judging those;
//! 3. performs the call itself on what it judged and returns the result
//!    (or injects a descriptor with ADDFD).
//!
//! CONTINUE is used only where the verdict is "let Landlock decide": an
//! elevation-mode open that the broker found inside the grants (or not
//! elevatable); an open, mkdir, rename, unlink or symlink that is not an
//! expanded directory's to serve, or that the broker cannot do exactly as
//! the kernel would (a link on the way, an entry from launch, `..`, a
//! trailing `/`, openat2 resolve flags; `parent.rs`). There the kernel
//! re-reads the path, and the agent's own Landlock domain decides whatever
//! it says by then: no change of memory can turn that into more access.
//!
//! Calls that may block (stream connects, blocking sends) run on worker
//! threads (`crate::workers`), so one slow peer never stalls the others.
//! Any error refuses. Decisions a user must see (denials, approved
//! elevations) go to the front end; allowed calls are answered only.

mod beneath;
mod decode;
mod dirs;
mod inotify;
mod mem;
mod meta;
mod open;
mod parent;
mod sock;
mod target;
mod unix;

pub use decode::{request, Msg, Request, SockReq};
pub use mem::{AgentMem, ProcMem, SliceMem};
pub use open::Protected;
pub use parent::Parents;

use std::path::{Path, PathBuf};

use ipc::broker::{BrokeredEvent, BrokeredReason, WireAccess};
use nix::errno::Errno;
use sandbox::seccomp::notify::{Listener, Notification};
use sandbox::{CapabilitySet, GrantKind};

use crate::calls::Numbers;
use crate::error::BrokerError;
use crate::workers::Workers;

/// A call to perform off the serving thread; its result is the reply.
pub(crate) type Job = Box<dyn FnOnce() -> Result<i64, Errno> + Send>;

/// What happened, for the kernel and for the front end.
pub(crate) enum Verdict {
    /// Let the kernel run the call (see "The rule" above: elevation opens
    /// that Landlock decides, only).
    Continue,
    Reply(Result<i64, Errno>),
    Judged {
        reply: Result<i64, Errno>,
        op: &'static str,
        path: String,
        allowed: bool,
        /// Why, when denied (the front end adds the grant that allows it).
        why: BrokeredReason,
    },
    /// Complete the call with this descriptor (elevation approved).
    Inject(std::os::fd::OwnedFd, bool, String),
    /// Complete the call with this descriptor the broker opened in an
    /// expanded directory (`parent.rs`); nothing to report.
    Served(std::os::fd::OwnedFd, bool),
    /// Allowed; the broker performs `job` on a worker (it may block) and
    /// replies with its result.
    Deferred {
        job: Job,
    },
}

/// TCP rules the broker itself enforces (listen).
#[derive(Debug, Clone)]
struct NetRules {
    /// Landlock restricts TCP bind/connect in this session.
    restricted: bool,
    /// Ports the agent may bind (and so listen on).
    bind_ports: Vec<u16>,
}

/// Granted paths, by path: (a tree grant there, a file grant there). A
/// path is covered when it holds a file grant or it or an ancestor holds a
/// tree grant — one lookup per ancestor, whatever the policy's size (an
/// expanded home holds thousands of grants, and every metadata call and
/// elevated open asks).
#[derive(Debug, Clone, Default)]
struct PathSet(std::collections::HashMap<PathBuf, (bool, bool)>);

impl PathSet {
    fn insert(&mut self, p: PathBuf, kind: GrantKind) {
        let e = self.0.entry(p).or_default();
        match kind {
            GrantKind::Tree => e.0 = true,
            GrantKind::File => e.1 = true,
        }
    }

    fn covers(&self, p: &Path) -> bool {
        matches!(self.0.get(p), Some((_, true)))
            || p.ancestors()
                .any(|a| matches!(self.0.get(a), Some((true, _))))
    }
}

/// What the agent may do (paths after expansion around protected paths).
#[derive(Debug, Clone)]
pub(crate) struct Grants {
    write: PathSet,
    read: PathSet,
    unix: unix::UnixGrants,
    net: NetRules,
    /// Some: capability elevation is on.
    elevation: Option<Protected>,
}

impl Grants {
    pub fn of(
        caps: &CapabilitySet,
        unix: &[ipc::broker::WireUnixGrant],
        elevation: Option<Protected>,
    ) -> Grants {
        // Merged once (policies reach thousands of grants), then split.
        let (mut read, mut write) = (PathSet::default(), PathSet::default());
        for g in caps.grants() {
            if g.mode.writes() {
                write.insert(g.path.clone(), g.kind);
            }
            if g.mode.reads() {
                read.insert(g.path, g.kind);
            }
        }
        Grants {
            unix: unix::UnixGrants::of(unix),
            net: NetRules {
                restricted: caps.restricts_tcp(),
                bind_ports: caps.tcp_bind_ports().to_vec(),
            },
            elevation,
            read,
            write,
        }
    }

    pub fn readable(&self, p: &Path) -> bool {
        self.read.covers(p)
    }

    pub fn writable(&self, p: &Path) -> bool {
        self.write.covers(p)
    }

    /// Whether the grants already allow this access (lexically).
    pub fn covers(&self, p: &Path, reads: bool, writes: bool) -> bool {
        (!reads || self.read.covers(p)) && (!writes || self.write.covers(p))
    }
}

/// A denial, for the front end: `why` when the call was refused for lack
/// of a grant (EACCES), else the errno the call failed with.
fn denial(
    op: &str,
    path: String,
    reply: &Result<i64, Errno>,
    why: BrokeredReason,
) -> BrokeredEvent {
    BrokeredEvent {
        allowed: false,
        op: op.to_string(),
        path,
        reason: match reply {
            Err(Errno::EACCES) | Ok(_) => why,
            Err(e) => BrokeredReason::Errno(*e as i32),
        },
    }
}

/// Everything the serving thread needs to answer a notification.
pub(crate) struct Broker {
    pub listener: std::sync::Arc<Listener>,
    pub grants: Grants,
    pub numbers: Numbers,
    pub workers: Workers,
    /// Some: the policy has expanded directories (`parent.rs`).
    pub parents: Option<Parents>,
}

/// Decide one notification: decode (copy) the arguments, check the
/// notification is still pending, then judge and act on the copies.
fn decide(
    n: &Notification,
    b: &Broker,
    ask: &mut dyn FnMut(&str, WireAccess) -> bool,
) -> Option<Verdict> {
    // A number outside the table means the filter and the table disagree.
    let call = b.numbers.call(n.nr)?;
    let req = request(call, &n.args, &ProcMem::of(n.pid));
    let valid = || b.listener.valid(n.id);
    // The arguments are copied now; the thread id must still be that task
    // before anything is judged on them. An elevation-mode open is the
    // exception: most of them (every open inside the grants) end in
    // CONTINUE, which needs no check (the kernel re-reads the call and
    // Landlock decides); `open::decide` checks before it asks or opens.
    let elevated_open = matches!(req, Ok(Request::Open { .. })) && b.parents.is_none();
    if !elevated_open && !valid() {
        return None;
    }
    let req = match req {
        Ok(r) => r,
        Err(e) => return Some(Verdict::Reply(Err(e))),
    };
    let g = &b.grants;
    Some(match req {
        Request::Sock(s) => sock::decide(n.pid, s, g, &|| b.listener.valid(n.id)),
        Request::Meta(named, op) => match meta::perform(n.pid, &named, &op, &|p| {
            g.writable(p) || b.parents.as_ref().is_some_and(|x| x.created_writable(p))
        }) {
            meta::Outcome::Done(r) => Verdict::Reply(r.map(|()| 0)),
            meta::Outcome::Refused(e, path) => Verdict::Judged {
                reply: Err(e),
                op: op.name(),
                path,
                allowed: false,
                why: BrokeredReason::OutsideWriteGrants,
            },
        },
        Request::Watch { fd, path, mask } => inotify::decide(n.pid, fd, &path, mask, g),
        // openat2 with resolve flags (RESOLVE_IN_ROOT, RESOLVE_BENEATH,
        // ...): the agent confines its own lookup, which the broker's
        // opens would not honour. The kernel resolves it; Landlock decides.
        Request::Open { resolve, .. } if resolve != 0 => Verdict::Continue,
        Request::Open {
            dirfd,
            path,
            flags,
            mode,
            ..
        } => {
            let served = b
                .parents
                .as_ref()
                .and_then(|p| p.open(n.pid, (dirfd, &path, flags, mode)));
            match (served, g.elevation.as_ref()) {
                (Some(v), _) => v,
                (None, Some(prot)) => open::decide(
                    n.pid,
                    (dirfd, path, flags),
                    g,
                    prot,
                    open::Ask::Front(ask, &valid),
                )?,
                // Not an expanded directory's: Landlock decides.
                (None, None) => Verdict::Continue,
            }
        }
        Request::Mkdir { dirfd, path, mode } => b
            .parents
            .as_ref()
            .and_then(|p| p.mkdir(n.pid, (dirfd, &path, mode)))
            .unwrap_or(Verdict::Continue),
        Request::Rename { from, to, flags } => b
            .parents
            .as_ref()
            .and_then(|p| p.rename(n.pid, (&from, &to, flags), g))
            .unwrap_or(Verdict::Continue),
        Request::Symlink { target, at } => b
            .parents
            .as_ref()
            .and_then(|p| p.symlink(n.pid, &target, &at))
            .unwrap_or(Verdict::Continue),
        Request::Unlink { dirfd, path, flags } => b
            .parents
            .as_ref()
            .and_then(|p| p.unlink(n.pid, (dirfd, &path, flags)))
            .unwrap_or(Verdict::Continue),
    })
}

/// Handle one pending notification. Returns an event for the front end.
pub(crate) fn handle(
    b: &Broker,
    ask: &mut dyn FnMut(&str, WireAccess) -> bool,
    report: &mut dyn FnMut(BrokeredEvent),
) -> Result<(), BrokerError> {
    let n = match b.listener.recv() {
        Ok(n) => n,
        // The task died before we read it, or no task is left: then every
        // RECV fails at once, and waiting tells the two apart.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            if unused(&b.listener) {
                return Err(BrokerError::ListenerUnused);
            }
            return Ok(());
        }
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => return Ok(()),
        Err(e) => return Err(BrokerError::io("seccomp listener")(e)),
    };
    let Some(v) = decide(&n, b, ask) else {
        return Ok(());
    };
    // ENOENT: the task went away meanwhile; ESRCH: it was killed while a
    // descriptor was being put in its table. Nothing to answer either way.
    match answer(b, n.id, v, report) {
        Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => {
            Err(BrokerError::io("seccomp listener")(e))
        }
        _ => Ok(()),
    }
}

/// Wait until the listener has a notification (false) or no task uses
/// its filter any more (true: it hangs up, for good).
fn unused(l: &Listener) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(l.fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::NONE) {
        Ok(_) => fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLHUP) && !r.contains(PollFlags::POLLIN)),
        Err(_) => false,
    }
}

/// Tell the kernel (now, or from a worker). An event goes to `report`
/// before the kernel is told: once the call returns the agent runs on and
/// may end, and its end must never reach the front end before the event.
fn answer(
    b: &Broker,
    id: u64,
    v: Verdict,
    report: &mut dyn FnMut(BrokeredEvent),
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let l = &b.listener;
    let reply = |r: Result<i64, Errno>| match r {
        Ok(v) => l.reply(id, v),
        Err(e) => l.deny(id, e as i32),
    };
    match v {
        Verdict::Continue => l.proceed(id),
        Verdict::Reply(r) => reply(r),
        Verdict::Judged {
            reply: r,
            op,
            path,
            allowed,
            why,
        } => {
            // Only what a user must see goes to the front end: denials.
            // An allowed call is performed and answered, nothing more
            // (an event per allowed chmod doubled the cost of `tar x`).
            if !allowed {
                report(denial(op, path, &r, why));
            }
            reply(r)
        }
        Verdict::Inject(fd, cloexec, path) => {
            report(BrokeredEvent {
                allowed: true,
                op: "open".into(),
                path,
                reason: BrokeredReason::Approved,
            });
            l.inject(id, fd.as_raw_fd(), cloexec).map(|_| ())
        }
        Verdict::Served(fd, cloexec) => l.inject(id, fd.as_raw_fd(), cloexec).map(|_| ()),
        Verdict::Deferred { job } => {
            let listener = std::sync::Arc::clone(l);
            b.workers.submit(Box::new(move || {
                // The result may come long after: the task may be gone (ENOENT).
                let _ = match job() {
                    Ok(v) => listener.reply(id, v),
                    Err(e) => listener.deny(id, e as i32),
                };
            }));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PathSet;
    use sandbox::GrantKind;
    use std::path::Path;

    #[test]
    fn trees_cover_what_is_beneath_and_files_only_themselves() {
        let mut s = PathSet::default();
        s.insert("/a/b".into(), GrantKind::Tree);
        s.insert("/c/f".into(), GrantKind::File);
        for (p, covered) in [
            ("/a/b", true),
            ("/a/b/c/d", true),
            ("/a/bc", false),
            ("/a", false),
            ("/c/f", true),
            ("/c/f/x", false),
            ("/c", false),
            ("/", false),
        ] {
            assert_eq!(s.covers(Path::new(p)), covered, "{p}");
        }
        s.insert("/".into(), GrantKind::Tree);
        assert!(s.covers(Path::new("/anything/at/all")));
    }
}
