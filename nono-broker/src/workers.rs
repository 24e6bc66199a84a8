//! Worker threads for brokered calls that may block (a stream connect, a
//! blocking send). The serving thread decides; a worker performs the call
//! on the broker's own duplicate and answers the notification, so one slow
//! peer never stalls the other notifications, signals or the front end.
//!
//! Threads are started on demand up to [`MAX_WORKERS`] and then kept; past
//! that, jobs wait in the queue (only the agent's own calls wait). The
//! broker's syscall allowlist lets it create threads and nothing else.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// Most worker threads (blocked calls served at once).
pub const MAX_WORKERS: usize = 64;

pub type Task = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    tasks: VecDeque<Task>,
    idle: usize,
    started: usize,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

#[derive(Clone, Default)]
pub(crate) struct Workers(Arc<Shared>);

impl Workers {
    pub fn new() -> Workers {
        Workers::default()
    }

    /// Queue `task`; start a thread unless an idle one will take it (up to
    /// the limit).
    /// If a thread cannot be started the task still waits for a running
    /// one; with none running, it runs here (the agent only waits on
    /// itself).
    pub fn submit(&self, task: Task) {
        let mut q = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.tasks.push_back(task);
        // Every queued task needs a thread of its own: idle ones take one each.
        if q.tasks.len() > q.idle && q.started < MAX_WORKERS {
            let shared = Arc::clone(&self.0);
            let spawned = std::thread::Builder::new()
                .name("nono-broker-worker".into())
                .stack_size(256 * 1024)
                .spawn(move || work(&shared));
            if spawned.is_ok() {
                q.started += 1;
            } else if q.started == 0 {
                let t = q.tasks.pop_back();
                drop(q);
                if let Some(t) = t {
                    t();
                }
                return;
            }
        }
        drop(q);
        self.0.ready.notify_one();
    }
}

fn work(shared: &Shared) {
    loop {
        let mut q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let task = loop {
            if let Some(t) = q.tasks.pop_front() {
                break t;
            }
            q.idle += 1;
            q = shared.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            q.idle -= 1;
        };
        drop(q);
        task();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_blocked_task_does_not_hold_up_the_next() {
        let w = Workers::new();
        let (release, blocked) = mpsc::channel::<()>();
        let (done_tx, done) = mpsc::channel();
        w.submit(Box::new(move || {
            let _ = blocked.recv();
        }));
        let tx = done_tx.clone();
        w.submit(Box::new(move || tx.send(1).unwrap()));
        assert_eq!(done.recv_timeout(Duration::from_secs(5)), Ok(1));
        release.send(()).unwrap();
        w.submit(Box::new(move || done_tx.send(2).unwrap()));
        assert_eq!(done.recv_timeout(Duration::from_secs(5)), Ok(2));
    }
}
