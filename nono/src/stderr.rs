//! nono's own stderr: never a panic, never a stall.
//!
//! A write that fails (a closed pipe) drops the message. While a session
//! is supervised, messages go through a bounded queue to a writer thread:
//! a stderr nobody reads (`nono run ... 2>&1 | slow`) then cannot stop the
//! supervisor loop, and with it the agent, whose brokered calls wait on
//! that loop. When the queue is full, messages are dropped and counted;
//! at the end nono waits a bounded time for the queue to drain.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow};

/// Messages waiting for a slow stderr before new ones are dropped.
const QUEUE_LEN: usize = 1024;
/// How long the end of a session waits for queued messages to be written.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

struct Queue {
    tx: SyncSender<String>,
    done: Receiver<()>,
}

static QUEUE: Mutex<Option<Queue>> = Mutex::new(None);
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn queue_slot() -> MutexGuard<'static, Option<Queue>> {
    QUEUE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Write one line (a newline is added).
pub fn line(text: &str) {
    let msg = format!("{text}\n");
    let slot = queue_slot();
    match slot.as_ref() {
        Some(q) => {
            if q.tx.try_send(msg).is_err() {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        None => {
            drop(slot);
            let _ = io::stderr().write_all(msg.as_bytes());
        }
    }
}

/// From now on, write through the queue. The writer thread blocks every
/// signal (they stay for the supervisor's signalfd).
pub fn queue() {
    let mut slot = queue_slot();
    if slot.is_some() {
        return;
    }
    let (tx, rx) = sync_channel::<String>(QUEUE_LEN);
    let (done_tx, done) = sync_channel::<()>(1);
    // The new thread inherits the mask in force while it is created.
    let Ok(old) = SigSet::all().thread_swap_mask(SigmaskHow::SIG_BLOCK) else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("nono-stderr".into())
        .spawn(move || {
            write_all(rx);
            let _ = done_tx.send(());
        });
    let _ = old.thread_set_mask();
    if spawned.is_ok() {
        *slot = Some(Queue { tx, done });
    }
}

fn write_all(rx: Receiver<String>) {
    let mut err = io::stderr();
    let mut open = true;
    for msg in rx {
        if !open {
            continue;
        }
        match err.write_all(msg.as_bytes()) {
            Ok(()) => {}
            // Someone set O_NONBLOCK on the shared pipe: drop this one.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => open = false,
        }
    }
}

/// End the queue: say how many messages were dropped, then wait up to
/// [`DRAIN_TIMEOUT`] for the rest to be written. Later lines are direct.
pub fn finish() {
    let Some(q) = queue_slot().take() else {
        return;
    };
    let dropped = DROPPED.load(Ordering::Relaxed);
    if dropped > 0 {
        let _ = q.tx.try_send(format!(
            "nono: warning: {dropped} message(s) were dropped: stderr was not being read\n"
        ));
    }
    drop(q.tx);
    let _ = q.done.recv_timeout(DRAIN_TIMEOUT);
}

/// `eprintln!` that never panics and never blocks the supervisor (see
/// [`line`]).
macro_rules! errln {
    ($($arg:tt)*) => { $crate::stderr::line(&format!($($arg)*)) };
}

pub(crate) use errln;
