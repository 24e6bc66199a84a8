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
//!   hands each elevation answer over ([`Handle::answer`]) — only while a
//!   question is open: any other answer is a protocol error, as before;
//! - events are sent before the kernel is answered (`brokered::handle`),
//!   so the agent's end, which the serving thread reports, always comes
//!   after the events of its calls;
//! - a failure: a listener error ends the session (fail closed) — the
//!   agent is killed here and the serving thread, woken by its SIGCHLD,
//!   returns the error instead of the agent's status. The listener stays
//!   open meanwhile: the agent's other tasks wait in their notified calls
//!   until they are killed, instead of getting ENOSYS from a closed one.
//!
//! The thread is never joined: it may be blocked in RECV, which nothing
//! but a notification ends, when the session ends; the broker exits then.

use std::sync::atomic::{AtomicBool, Ordering};
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
    asking: Arc<AtomicBool>,
    failed: Arc<Mutex<Option<BrokerError>>>,
}

impl Handle {
    /// The front end answered the question the notification thread asked;
    /// an answer with no question open is refused.
    pub fn answer(&self, approve: bool) -> Result<()> {
        if !self.asking.swap(false, Ordering::SeqCst) {
            return Err(BrokerError::Protocol(
                "an elevation answer nobody asked for",
            ));
        }
        // Ignored: the thread is gone only when the broker is ending.
        let _ = self.answers.send(approve);
        Ok(())
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
    let asking = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(Mutex::new(None));
    let (slot, open) = (Arc::clone(&failed), Arc::clone(&asking));
    std::thread::Builder::new()
        .name("notifications".into())
        .spawn(move || match serve(&broker, &chan, &questions, &open) {
            // The agent's last task ended: the serving thread reports it.
            BrokerError::ListenerUnused => {}
            e => {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                let _ = kill(agent, Signal::SIGKILL);
                // Keep `broker` (its listener) until the broker exits.
                loop {
                    std::thread::park();
                }
            }
        })
        .map_err(BrokerError::io("notification thread"))?;
    Ok(Handle {
        answers,
        asking,
        failed,
    })
}

/// Answer notifications until the listener fails or no task is left to
/// notify ([`BrokerError::ListenerUnused`]); returns why.
fn serve(
    broker: &Broker,
    chan: &Channel,
    answers: &Receiver<bool>,
    asking: &AtomicBool,
) -> BrokerError {
    let mut ask = |path: &str, access: WireAccess| ask_front(chan, answers, asking, path, access);
    let mut report = |ev| {
        // Ignored: a front end that is gone ends the session anyway.
        let _ = chan.send(&BrokerResponse::Brokered(ev), &[]);
    };
    loop {
        if let Err(e) = brokered::handle(broker, &mut ask, &mut report) {
            return e;
        }
    }
}

/// Put an elevation to the front end and wait for the answer the serving
/// thread hands over. Any failure means "no".
fn ask_front(
    chan: &Channel,
    answers: &Receiver<bool>,
    asking: &AtomicBool,
    path: &str,
    access: WireAccess,
) -> bool {
    let asked = BrokerResponse::Elevation {
        path: path.to_string(),
        access,
    };
    // Open before it is sent: the answer may come at once.
    asking.store(true, Ordering::SeqCst);
    if chan.send(&asked, &[]).is_err() {
        asking.store(false, Ordering::SeqCst);
        return false;
    }
    answers.recv().unwrap_or(false)
}
