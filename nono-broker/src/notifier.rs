//! The notification thread: it waits in `SECCOMP_IOCTL_NOTIF_RECV` itself
//! and answers each notification, so a brokered call costs no `poll` of
//! the listener beside the front end's channel and the signalfd (the
//! serving thread waits on those two). A tree walk under elevation puts
//! every open to the broker; one fewer syscall each is measurable there.
//!
//! What the two threads share is kept small:
//! - the channel to the front end: this thread sends events and elevation
//!   questions (one `SOCK_SEQPACKET` message each, so sends from both
//!   threads never interleave); only the serving thread receives, and it
//!   hands each elevation answer over through [`Answers`];
//! - a failure: a listener error ends the session (fail closed) — the
//!   agent is killed here and the serving thread, woken by its SIGCHLD,
//!   returns the error instead of the agent's status.
//!
//! The thread is never joined: it may be blocked in RECV, which nothing
//! but a notification ends, when the session ends; the broker exits then.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

use ipc::broker::{BrokerResponse, WireAccess};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::brokered::{self, Broker};
use crate::error::{BrokerError, Result};
use crate::state::Channel;

/// The serving thread's end: elevation answers go in, a failure comes out.
pub struct Handle {
    answers: Sender<bool>,
    failed: Arc<Mutex<Option<BrokerError>>>,
}

impl Handle {
    /// The front end answered the question the notification thread asked.
    pub fn answer(&self, approve: bool) {
        // Ignored: the thread is gone only when the broker is ending.
        let _ = self.answers.send(approve);
    }

    /// The notification thread's error, once it has failed.
    pub fn failure(&self) -> Option<BrokerError> {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Start serving `broker`'s notifications for the agent `agent`.
pub fn spawn(broker: Broker, chan: Arc<Channel>, agent: Pid) -> Result<Handle> {
    let (answers, questions) = channel();
    let failed = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&failed);
    std::thread::Builder::new()
        .name("notifications".into())
        .spawn(move || match serve(&broker, &chan, &questions) {
            // The agent's last task ended: the serving thread reports it.
            BrokerError::ListenerUnused => {}
            e => {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                let _ = kill(agent, Signal::SIGKILL);
            }
        })
        .map_err(BrokerError::io("notification thread"))?;
    Ok(Handle { answers, failed })
}

/// Answer notifications until the listener fails or no task is left to
/// notify ([`BrokerError::ListenerUnused`]); returns why.
fn serve(broker: &Broker, chan: &Channel, answers: &Receiver<bool>) -> BrokerError {
    let mut ask = |path: &str, access: WireAccess| ask_front(chan, answers, path, access);
    loop {
        match brokered::handle(broker, &mut ask) {
            Ok(Some(ev)) => {
                let _ = chan.send(&BrokerResponse::Brokered(ev), &[]);
            }
            Ok(None) => {}
            Err(e) => return e,
        }
    }
}

/// Put an elevation to the front end and wait for the answer the serving
/// thread hands over. Any failure means "no".
fn ask_front(chan: &Channel, answers: &Receiver<bool>, path: &str, access: WireAccess) -> bool {
    // An answer nobody waited for (none is expected) must not answer this.
    while answers.try_recv().is_ok() {}
    let asked = BrokerResponse::Elevation {
        path: path.to_string(),
        access,
    };
    if chan.send(&asked, &[]).is_err() {
        return false;
    }
    answers.recv().unwrap_or(false)
}
