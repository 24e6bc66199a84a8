//! Ctrl-Z on the agent's terminal. The agent runs as the foreground
//! process group of its own pseudo-terminal, so the key stops the agent,
//! not nono. nono then follows it as a bare command's job would: the
//! user's terminal gets its own settings back and nono stops itself, so
//! the user's shell reports the job stopped; `fg` (or `bg`, or SIGCONT)
//! continues nono, which takes the terminal again, passes the window size
//! on and has the broker continue the agent's group.

use nix::sys::signal::{raise, Signal};

use super::pty::Relay;

/// The agent was stopped by `signal`; `true`: continue it now.
/// `forwarded`: nono forwarded the user's Ctrl-Z (as SIGSTOP) to an agent
/// that leads a session of its own, without a terminal (the session's PID
/// namespace).
pub fn follow(relay: Option<&mut Relay>, signal: i32, forwarded: bool) -> bool {
    match relay {
        // Stop as the job, continue the agent when continued.
        None if forwarded => {
            stop_as_the_job();
            true
        }
        // No terminal of its own: the agent shares nono's process group,
        // so a stop from the user's terminal stopped nono as well; a stop
        // aimed at the agent alone is for its sender to undo.
        None => false,
        // A detached session: nobody could bring it back, so a terminal
        // stop is ignored, as the kernel does for a group without a
        // job-control parent.
        Some(r) if r.is_headless() => terminal_stop(signal),
        Some(r) => {
            // With SIGTSTP ignored (started without job control) this
            // returns at once and the agent simply continues.
            let _ = r.cooked(|| raise(Signal::SIGTSTP));
            r.resize();
            true
        }
    }
}

/// Stop nono by SIGTSTP's default action (the shell reports 128+20, as
/// for the bare command), although nono takes SIGTSTP through its
/// signalfd: raised while blocked it is pending, and delivered the moment
/// it is unblocked; blocked again once nono is continued.
fn stop_as_the_job() {
    let mut tstp = nix::sys::signal::SigSet::empty();
    tstp.add(Signal::SIGTSTP);
    if raise(Signal::SIGTSTP).is_ok() {
        let _ = tstp.thread_unblock();
        let _ = tstp.thread_block();
    }
}

/// A stop the terminal generates (Ctrl-Z, background reads and writes),
/// not SIGSTOP sent on purpose.
fn terminal_stop(signal: i32) -> bool {
    [Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU]
        .iter()
        .any(|s| *s as i32 == signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_terminal_stops_are_undone_for_a_detached_session() {
        assert!(terminal_stop(Signal::SIGTSTP as i32));
        assert!(terminal_stop(Signal::SIGTTIN as i32));
        assert!(!terminal_stop(Signal::SIGSTOP as i32));
        assert!(!follow(None, Signal::SIGTSTP as i32, false));
    }
}
