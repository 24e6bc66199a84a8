//! The signals the broker takes through its signalfd (blocked before the
//! fork, read while serving).

use nix::sys::signal::{SigSet, Signal};

/// Signals the broker takes through its signalfd. Terminal signals reach
/// the agent directly (same process group, or the agent's own terminal);
/// the broker ignores them. Terminal stop signals never stop the broker:
/// on the agent's terminal it leads an orphaned group, whose stop signals
/// the kernel discards.
pub fn watched() -> SigSet {
    let mut s = SigSet::empty();
    for sig in [
        Signal::SIGCHLD,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
        Signal::SIGTERM,
        Signal::SIGWINCH,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        s.add(sig);
    }
    s
}
