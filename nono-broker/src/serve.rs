//! Serving while the agent runs (the serving thread; the agent's
//! notifications are `notifier.rs`'s): forward signals the front end asks
//! for, hand its elevation answers over, reap the agent and report how it
//! ended. Channel errors, the front end going away or a failed
//! notification thread kill the agent (fail closed).

use std::os::fd::AsFd;
use std::sync::Arc;

use ipc::broker::{BrokerRequest, BrokerResponse};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use crate::error::{BrokerError, Result};
use crate::notifier;
use crate::state::{Channel, Running};
use sandbox::reap;

pub fn run(r: Running) -> Result<()> {
    let Running {
        chan,
        agent,
        own_group,
        signal_group,
        signals,
        broker,
    } = r;
    let notifications = notifier::spawn(broker, Arc::clone(&chan), agent)?;
    let s = Serving {
        chan,
        agent,
        own_group,
        signal_group,
        signals,
        notifications,
    };
    let end = s.serve();
    if end.is_err() {
        let _ = kill(s.agent, Signal::SIGKILL);
    }
    end
}

/// The serving thread's part of a running session.
struct Serving {
    chan: Arc<Channel>,
    agent: Pid,
    own_group: bool,
    signal_group: bool,
    signals: SignalFd,
    notifications: notifier::Handle,
}

impl Serving {
    fn serve(&self) -> Result<()> {
        loop {
            let mut fds = [
                PollFd::new(self.chan.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            ];
            poll(&mut fds, PollTimeout::NONE).map_err(BrokerError::os("poll"))?;
            if fds[1].any().unwrap_or(false) {
                if let Some(end) = on_signal(self)? {
                    // Nothing the agent started outlives it.
                    reap::kill_all();
                    if let Some(e) = self.notifications.failure() {
                        return Err(e);
                    }
                    let _ = self.chan.send(&end, &[]);
                    return Ok(());
                }
            }
            if fds[0].any().unwrap_or(false) {
                on_request(self)?;
            }
        }
    }
}

fn on_request(r: &Serving) -> Result<()> {
    match r.chan.recv_plain() {
        Ok(BrokerRequest::Signal { signal }) => {
            let sig = Signal::try_from(signal).map_err(|_| BrokerError::InvalidSignal(signal))?;
            forward(r, sig);
            Ok(())
        }
        Ok(BrokerRequest::Resume) => {
            resume(r);
            Ok(())
        }
        Ok(BrokerRequest::ElevationAnswer { approve }) => r.notifications.answer(approve),
        Ok(
            BrokerRequest::Hello { .. }
            | BrokerRequest::Launch { .. }
            | BrokerRequest::Network { .. }
            | BrokerRequest::Terminal { .. },
        ) => Err(BrokerError::Protocol("unexpected request while running")),
        Err(ipc::IpcError::Closed) => Err(BrokerError::FrontGone),
        Err(e) => Err(e.into()),
    }
}

/// A signal nono asked for: to the agent, or its whole group when it
/// leads a session without a terminal.
fn forward(r: &Serving, sig: Signal) {
    let target = if r.signal_group {
        Pid::from_raw(-r.agent.as_raw())
    } else {
        r.agent
    };
    let _ = kill(target, sig);
}

/// Continue the stopped agent: its whole group when it leads one (every
/// process of a pipeline stopped by Ctrl-Z).
fn resume(r: &Serving) {
    let target = if r.own_group {
        Pid::from_raw(-r.agent.as_raw())
    } else {
        r.agent
    };
    let _ = kill(target, Signal::SIGCONT);
}

/// Drain the signalfd; `Some(final message)` once the agent has ended.
fn on_signal(r: &Serving) -> Result<Option<BrokerResponse>> {
    let Some(info) = r
        .signals
        .read_signal()
        .map_err(BrokerError::os("signalfd"))?
    else {
        return Ok(None);
    };
    if info.ssi_signo != Signal::SIGCHLD as u32 {
        return Ok(None);
    }
    // Orphans re-parented to the broker are reaped here too.
    Ok(match reap::reap_orphans(r.agent)? {
        Some(WaitStatus::Exited(_, code)) => Some(BrokerResponse::Exited { code }),
        Some(WaitStatus::Signaled(_, sig, _)) => {
            Some(BrokerResponse::Signaled { signal: sig as i32 })
        }
        Some(WaitStatus::Stopped(_, sig)) => {
            // Not the end: tell the front end, which suspends itself alike.
            let _ = r
                .chan
                .send(&BrokerResponse::Stopped { signal: sig as i32 }, &[]);
            None
        }
        _ => None,
    })
}
