//! `nono-keyholder`: the only process that reads keystores.
//!
//! # Security
//! - Trusts: the front end, over the channel at fd 3 (`ipc::keyholder`).
//! - Holds: that channel and the credentials channel to the consumer at
//!   fd 4 (`ipc::credentials`; the broker in `nono run`, nono in `wrap`).
//! - Environment: cleared by nono except what a backend needs (the D-Bus
//!   session address, `XDG_RUNTIME_DIR`, the variables named by `env://`
//!   references, and `HOME`/`OP_*` for the 1Password CLI).
//! - Confines itself after the request is known (Landlock: read-only system
//!   libraries, the `file://` paths and the `op` binary; no TCP; signals
//!   scoped; seccomp baseline, then the strict allowlist in `allowlist.rs`
//!   unless it must run the 1Password CLI) before touching any keystore.
//! - Sends secret values only to the consumer, in zeroizing buffers, and
//!   tells the front end only how it went. Delivers all or nothing, once,
//!   then exits.

mod allowlist;
mod backends;
mod confine;
mod serve;

use std::process::ExitCode;

use ipc::{CHANNEL_FD, CREDENTIALS_FD};
use sandbox::hygiene;

fn main() -> ExitCode {
    if let Err(e) = hygiene::no_dumps() {
        return fatal(&e.to_string());
    }
    hygiene::close_from(CREDENTIALS_FD + 1);
    let (Some(front), Some(consumer)) = (
        hygiene::take_inherited(CHANNEL_FD),
        hygiene::take_inherited(CREDENTIALS_FD),
    ) else {
        return fatal("no channels at fds 3 and 4; only nono starts the keyholder");
    };
    let unconfined = match serve::Unconfined::handshake(front, consumer) {
        Ok(u) => u,
        Err(e) => return fatal(&e),
    };
    let confined = match unconfined.confine() {
        Ok(c) => c,
        Err(e) => return fatal(&e),
    };
    match confined.serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(&e),
    }
}

fn fatal(e: &str) -> ExitCode {
    // Never a panic on a closed stderr.
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!("nono-keyholder: {e}\n"),
    );
    ExitCode::FAILURE
}
