//! Answering the agent's seccomp notifications (one listener carries every
//! brokered syscall). The rule: the broker acts on its own copies — it
//! reads arguments once, checks the notification is still valid, resolves
//! and opens objects itself, and performs the call or refuses it. Any
//! error refuses. Each decision is reported to the front end.

mod mem;
mod meta;
mod open;
mod target;
mod unix;

pub use open::Protected;

use std::path::{Path, PathBuf};

use ipc::broker::BrokeredEvent;
use nix::errno::Errno;
use sandbox::seccomp::notify::{Brokered, Listener, Notification};
use sandbox::{CapabilitySet, GrantKind};

use mem::Mem;

/// Every syscall the agent's notify filter hands to the broker.
pub fn syscalls(elevation: bool) -> Vec<Brokered> {
    let mut v = meta::SYSCALLS.to_vec();
    v.extend_from_slice(unix::SYSCALLS);
    if elevation {
        v.extend_from_slice(open::SYSCALLS);
    }
    v
}

/// What happened, for the kernel and for the front end.
pub enum Verdict {
    Continue,
    Reply(Result<i64, Errno>),
    Judged {
        reply: Result<i64, Errno>,
        op: &'static str,
        path: String,
        allowed: bool,
        /// Why, when denied (the grant that would allow it).
        why: String,
    },
    /// Complete the call with this descriptor (elevation approved).
    Inject(std::os::fd::OwnedFd, bool, String),
}

/// Where the agent may write (after expansion around protected paths).
#[derive(Debug, Clone)]
pub struct Grants {
    write: Vec<(PathBuf, GrantKind)>,
    read: Vec<(PathBuf, GrantKind)>,
    unix: unix::UnixGrants,
    /// Some: capability elevation is on.
    elevation: Option<Protected>,
}

impl Grants {
    pub fn of(
        caps: &CapabilitySet,
        unix: &[ipc::broker::WireUnixGrant],
        elevation: Option<Protected>,
    ) -> Grants {
        Grants {
            unix: unix::UnixGrants::of(unix),
            elevation,
            read: caps
                .grants()
                .into_iter()
                .filter(|g| g.mode.reads())
                .map(|g| (g.path, g.kind))
                .collect(),
            write: caps
                .grants()
                .into_iter()
                .filter(|g| g.mode.writes())
                .map(|g| (g.path, g.kind))
                .collect(),
        }
    }

    pub fn writable(&self, p: &Path) -> bool {
        Self::any(&self.write, p)
    }

    fn any(list: &[(PathBuf, GrantKind)], p: &Path) -> bool {
        list.iter().any(|(g, kind)| match kind {
            GrantKind::Tree => p.starts_with(g),
            GrantKind::File => p == g,
        })
    }

    /// Whether the grants already allow this access (lexically).
    pub fn covers(&self, p: &Path, reads: bool, writes: bool) -> bool {
        (!reads || Self::any(&self.read, p)) && (!writes || Self::any(&self.write, p))
    }
}

/// What to tell the kernel, and what to tell the front end.
struct Decision {
    reply: Reply,
    event: Option<BrokeredEvent>,
}

enum Reply {
    /// Let the kernel run the call as made (only where the agent's memory
    /// cannot change the outcome: see `unix.rs` and `open.rs`).
    Continue,
    Done(Result<i64, Errno>),
    Inject(std::os::fd::OwnedFd, bool),
}

fn done(r: Result<i64, Errno>) -> Option<Decision> {
    Some(Decision {
        reply: Reply::Done(r),
        event: None,
    })
}

fn event(
    allowed: bool,
    op: &str,
    path: String,
    reply: &Result<i64, Errno>,
    grant_hint: &str,
) -> BrokeredEvent {
    BrokeredEvent {
        allowed,
        op: op.to_string(),
        path,
        reason: match (allowed, reply) {
            (true, _) => "granted".into(),
            (false, Err(Errno::EACCES)) => grant_hint.into(),
            (false, Err(e)) => e.desc().to_string(),
            (false, Ok(_)) => String::new(),
        },
    }
}

fn verdict(v: Verdict) -> Decision {
    match v {
        Verdict::Continue => Decision {
            reply: Reply::Continue,
            event: None,
        },
        Verdict::Reply(r) => Decision {
            reply: Reply::Done(r),
            event: None,
        },
        Verdict::Judged {
            reply,
            op,
            path,
            allowed,
            why,
        } => Decision {
            event: Some(event(allowed, op, path, &reply, &why)),
            reply: Reply::Done(reply),
        },
        Verdict::Inject(fd, cloexec, path) => Decision {
            reply: Reply::Inject(fd, cloexec),
            event: Some(BrokeredEvent {
                allowed: true,
                op: "open".into(),
                path,
                reason: "approved (capability elevation)".into(),
            }),
        },
    }
}

fn decide(
    n: &Notification,
    grants: &Grants,
    listener: &Listener,
    ask: &mut dyn FnMut(&str, &str) -> bool,
) -> Option<Decision> {
    let mem = match Mem::open(n.pid) {
        Ok(m) => m,
        Err(e) => return done(Err(e)),
    };
    let valid = || listener.valid(n.id);
    let nr = n.nr as i64;
    let v = unix::decide(nr, n.pid, &n.args, &mem, &grants.unix, &valid).or_else(|| {
        let prot = grants.elevation.as_ref()?;
        open::decide(n, &mem, grants, prot, open::Ask::Front(ask), &valid)
    });
    if let Some(v) = v {
        // The deciders checked validity right after reading the memory.
        return Some(verdict(v));
    }
    let decoded = meta::decode(n.nr as i64, &n.args, &mem);
    // The arguments are copied now; the pid must still be that task.
    if !valid() {
        return None;
    }
    let (named, op) = match decoded {
        None => return done(Err(Errno::ENOSYS)),
        Some(Err(e)) => return done(Err(e)),
        Some(Ok(x)) => x,
    };
    let (reply, path, allowed) = match meta::perform(n.pid, &named, &op, grants) {
        Ok(p) => (Ok(0), p, true),
        Err((e, p)) => (Err(e), p, false),
    };
    let ev = (!path.is_empty()).then(|| {
        event(
            allowed,
            op.name(),
            path,
            &reply,
            "outside the write grants (--allow or --write grants it)",
        )
    });
    Some(Decision {
        reply: Reply::Done(reply),
        event: ev,
    })
}

/// Handle one pending notification. Returns an event for the front end.
pub fn handle(
    listener: &Listener,
    grants: &Grants,
    ask: &mut dyn FnMut(&str, &str) -> bool,
) -> Result<Option<BrokeredEvent>, String> {
    let n = match listener.recv() {
        Ok(n) => n,
        // The task was interrupted or died before we read it.
        Err(e)
            if e.raw_os_error() == Some(libc::ENOENT) || e.raw_os_error() == Some(libc::EINTR) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(format!("seccomp listener: {e}")),
    };
    let Some(d) = decide(&n, grants, listener, ask) else {
        return Ok(None);
    };
    let sent = match d.reply {
        Reply::Continue => listener.proceed(n.id),
        Reply::Done(Ok(v)) => listener.reply(n.id, v),
        Reply::Done(Err(e)) => listener.deny(n.id, e as i32),
        Reply::Inject(fd, cloexec) => {
            use std::os::fd::AsRawFd;
            listener.inject(n.id, fd.as_raw_fd(), cloexec).map(|_| ())
        }
    };
    // ENOENT: the task went away meanwhile; nothing to answer.
    if let Err(e) = sent {
        if e.raw_os_error() != Some(libc::ENOENT) {
            return Err(format!("seccomp listener: {e}"));
        }
    }
    Ok(d.event)
}
