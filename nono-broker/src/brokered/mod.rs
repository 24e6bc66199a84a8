//! Answering the agent's seccomp notifications (one listener carries every
//! brokered syscall). The rule: the broker acts on its own copies — it
//! reads arguments once, checks the notification is still valid, resolves
//! and opens objects itself, and performs the call or refuses it. Any
//! error refuses. Each decision is reported to the front end.

mod mem;
mod meta;
mod target;

use std::path::{Path, PathBuf};

use ipc::broker::BrokeredEvent;
use nix::errno::Errno;
use sandbox::seccomp::notify::{Brokered, Listener, Notification};
use sandbox::{CapabilitySet, GrantKind};

use mem::Mem;

/// Every syscall the agent's notify filter hands to the broker.
pub fn syscalls() -> Vec<Brokered> {
    meta::SYSCALLS.to_vec()
}

/// Where the agent may write (after expansion around protected paths).
#[derive(Debug, Clone)]
pub struct Grants {
    write: Vec<(PathBuf, GrantKind)>,
}

impl Grants {
    pub fn of(caps: &CapabilitySet) -> Grants {
        Grants {
            write: caps
                .grants()
                .into_iter()
                .filter(|g| g.mode.writes())
                .map(|g| (g.path, g.kind))
                .collect(),
        }
    }

    pub fn writable(&self, p: &Path) -> bool {
        self.write.iter().any(|(g, kind)| match kind {
            GrantKind::Tree => p.starts_with(g),
            GrantKind::File => p == g,
        })
    }
}

/// What to tell the kernel, and what to tell the front end.
struct Decision {
    reply: Result<i64, Errno>,
    event: Option<BrokeredEvent>,
}

fn decide(n: &Notification, grants: &Grants, listener: &Listener) -> Option<Decision> {
    let mem = match Mem::open(n.pid) {
        Ok(m) => m,
        Err(e) => {
            return Some(Decision {
                reply: Err(e),
                event: None,
            })
        }
    };
    let decoded = meta::decode(n.nr as i64, &n.args, &mem);
    // The arguments are copied now; the pid must still be that task.
    if !listener.valid(n.id) {
        return None;
    }
    let Some(decoded) = decoded else {
        return Some(Decision {
            reply: Err(Errno::ENOSYS),
            event: None,
        });
    };
    let (named, op) = match decoded {
        Ok(x) => x,
        Err(e) => {
            return Some(Decision {
                reply: Err(e),
                event: None,
            })
        }
    };
    let (reply, path, allowed) = match meta::perform(n.pid, &named, &op, grants) {
        Ok(p) => (Ok(0), p, true),
        Err((e, p)) => (Err(e), p, false),
    };
    let event = (!path.is_empty()).then(|| BrokeredEvent {
        allowed,
        op: op.name().to_string(),
        path,
        reason: if allowed {
            "inside a write grant".into()
        } else {
            match reply {
                Err(Errno::EACCES) => {
                    "outside the write grants (--allow or --write grants it)".into()
                }
                Err(e) => e.desc().to_string(),
                Ok(_) => String::new(),
            }
        },
    });
    Some(Decision { reply, event })
}

/// Handle one pending notification. Returns an event for the front end.
pub fn handle(listener: &Listener, grants: &Grants) -> Result<Option<BrokeredEvent>, String> {
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
    let Some(d) = decide(&n, grants, listener) else {
        return Ok(None);
    };
    let sent = match d.reply {
        Ok(v) => listener.reply(n.id, v),
        Err(e) => listener.deny(n.id, e as i32),
    };
    // ENOENT: the task went away meanwhile; nothing to answer.
    if let Err(e) = sent {
        if e.raw_os_error() != Some(libc::ENOENT) {
            return Err(format!("seccomp listener: {e}"));
        }
    }
    Ok(d.event)
}
