//! `nono-broker`: the agent's parent in `nono run`.
//!
//! # Security
//! - First forks into the session's own PID namespace where the kernel
//!   allows one (`sandbox::pidns`) and goes on as its init: when it ends,
//!   the kernel ends every process the agent started. The process nono
//!   started only relays its exit.
//! - Trusts: the front end, over the channel at fd 3 (`ipc::broker`).
//!   Distrusts: everything the agent passes in a notified syscall.
//! - Holds: that channel; a signalfd; the agent's pid; the seccomp
//!   listener of the agent's notify filter (`handoff.rs`).
//! - Confines itself with the agent's own capability set (plus `/proc`
//!   read, `pidfd_getfd`, with elevation everything but the protected
//!   paths, and a rule on each expanded directory) *before* forking the agent, so the agent's Landlock domain nests
//!   inside the broker's (the broker may read its memory; the agent can
//!   never signal, trace or read the broker). After the fork it loads a
//!   strict syscall allowlist (`syscalls.rs`) that the agent does not inherit.
//! - Answers the agent's notifications (`brokered/`): metadata changes only
//!   inside write grants, unix sockets only when granted, elevated opens only
//!   when approved, expanded directories listed and new non-protected
//!   entries created in them — acting on its own copies and descriptors.
//! - In proxy mode, first moves into a fresh network namespace with only
//!   loopback (the agent inherits it) and hands the front end a listening
//!   socket there, for the proxy (`netns.rs`).
//! - Gives the agent a private IPC namespace when asked, or refuses its
//!   SysV IPC calls if the kernel will not make one (`ipcns.rs`).
//! - Never: execs anything itself, continues a call whose outcome the
//!   agent's memory could still change, or outlives the front end or the
//!   agent. Malformed or out-of-order input ends the session.

/// `eprintln!` that never panics: a closed stderr (EPIPE) drops the line
/// instead of aborting the broker or the agent-to-be.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!("{}\n", format_args!($($arg)*)),
        );
    }};
}

mod agent;
pub mod brokered;
pub mod calls;
mod credentials;
mod error;
mod handoff;
mod harden;
mod ipcns;
mod netns;
mod notifier;
mod serve;
mod signals;
mod state;
mod sys;
mod syscalls;
mod wire;
mod workers;

use std::process::ExitCode;

pub use error::BrokerError;

/// The broker's whole life: harden, take the launch, confine, start the
/// agent, serve it.
pub fn run() -> ExitCode {
    let unconfined = match harden::harden_and_take_channel() {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let launching = match unconfined.receive_launch() {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    let confined = match launching.confine() {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    match confined.start_agent().and_then(serve::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The front end went away or serving failed: end the session's
            // every process, not just the agent.
            sandbox::reap::kill_all();
            fatal(&e)
        }
    }
}

/// Last words, unless the front end was told already.
fn fatal(e: &BrokerError) -> ExitCode {
    sandbox::hygiene::fatal("nono-broker", e)
}
