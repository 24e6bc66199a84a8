//! Serving while the agent runs: forward signals the front end asks for,
//! reap the agent and report how it ended. Channel errors or the front end
//! going away kill the agent (fail closed).

use std::os::fd::AsFd;

use ipc::broker::{BrokerRequest, BrokerResponse, WireAccess};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use crate::brokered;
use crate::error::{BrokerError, Result};
use crate::state::Running;
use sandbox::reap;

pub fn run(r: Running) -> Result<()> {
    loop {
        let mut fds = [
            PollFd::new(r.chan.as_fd(), PollFlags::POLLIN),
            PollFd::new(r.signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(r.broker.listener.fd(), PollFlags::POLLIN),
        ];
        poll(&mut fds, PollTimeout::NONE).map_err(BrokerError::os("poll"))?;
        let chan_ready = fds[0].any().unwrap_or(false);
        let sig_ready = fds[1].any().unwrap_or(false);
        let notif_ready = fds[2]
            .revents()
            .is_some_and(|e| e.contains(PollFlags::POLLIN));
        if notif_ready {
            let mut ask = |path: &str, access: WireAccess| ask_front(&r, path, access);
            match brokered::handle(&r.broker, &mut ask) {
                Ok(Some(ev)) => {
                    let _ = r.chan.send(&BrokerResponse::Brokered(ev), &[]);
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = kill(r.agent, Signal::SIGKILL);
                    return Err(e);
                }
            }
        }
        if sig_ready {
            if let Some(end) = on_signal(&r)? {
                // Nothing the agent started outlives it.
                reap::kill_all();
                let _ = r.chan.send(&end, &[]);
                return Ok(());
            }
        }
        if chan_ready {
            if let Err(e) = on_request(&r) {
                let _ = kill(r.agent, Signal::SIGKILL);
                return Err(e);
            }
        }
    }
}

fn on_request(r: &Running) -> Result<()> {
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
        Ok(
            BrokerRequest::Hello { .. }
            | BrokerRequest::Launch { .. }
            | BrokerRequest::Network { .. }
            | BrokerRequest::Terminal { .. }
            | BrokerRequest::ElevationAnswer { .. },
        ) => Err(BrokerError::Protocol("unexpected request while running")),
        Err(ipc::IpcError::Closed) => Err(BrokerError::FrontGone),
        Err(e) => Err(e.into()),
    }
}

/// A signal nono asked for: to the agent, or its whole group when it
/// leads a session without a terminal.
fn forward(r: &Running, sig: Signal) {
    let target = if r.signal_group {
        Pid::from_raw(-r.agent.as_raw())
    } else {
        r.agent
    };
    let _ = kill(target, sig);
}

/// Continue the stopped agent: its whole group when it leads one (every
/// process of a pipeline stopped by Ctrl-Z).
fn resume(r: &Running) {
    let target = if r.own_group {
        Pid::from_raw(-r.agent.as_raw())
    } else {
        r.agent
    };
    let _ = kill(target, Signal::SIGCONT);
}

/// Drain the signalfd; `Some(final message)` once the agent has ended.
fn on_signal(r: &Running) -> Result<Option<BrokerResponse>> {
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

/// Put an elevation to the front end and wait for its answer (signals it
/// asks for meanwhile are still forwarded). Any failure means "no".
fn ask_front(r: &Running, path: &str, access: WireAccess) -> bool {
    let asked = BrokerResponse::Elevation {
        path: path.to_string(),
        access,
    };
    if r.chan.send(&asked, &[]).is_err() {
        return false;
    }
    loop {
        match r.chan.recv_plain() {
            Ok(BrokerRequest::ElevationAnswer { approve }) => return approve,
            Ok(BrokerRequest::Signal { signal }) => {
                if let Ok(sig) = Signal::try_from(signal) {
                    forward(r, sig);
                }
            }
            Ok(BrokerRequest::Resume) => resume(r),
            _ => return false,
        }
    }
}
