//! `nono-keyholder`: the only process that reads keystores.
//!
//! # Security
//! - Trusts: the front end, over the channel at fd 3 (`ipc::keyholder`, or
//!   `ipc::signing` when started with `--signing`).
//! - Holds: that channel and, for credentials, the channel to the consumer
//!   at fd 4 (`ipc::credentials`; the broker in `nono run`, nono in `wrap`).
//! - Environment: cleared by nono except what a backend needs (the D-Bus
//!   session address, `XDG_RUNTIME_DIR`, the variables named by `env://`
//!   references, and `HOME`/`OP_*` for the 1Password CLI).
//! - Confines itself before touching any keystore (Landlock: read-only
//!   system libraries, the `file://` paths and the `op` binary; no writes;
//!   no TCP; signals scoped; seccomp baseline, then the strict allowlist in
//!   `syscalls.rs` unless it must run the 1Password CLI).
//! - Credentials: sends secret values only to the consumer, in zeroizing
//!   buffers, and tells the front end only how it went. Delivers all or
//!   nothing, once, then exits.
//! - Signing keys: generates them and stores the private key in the
//!   keystore; loads one per request to sign a digest, then drops it
//!   (zeroized). An audit signing key may instead be named by a secret
//!   reference given at start (`--reference`), read the same way as a
//!   credential (confinement widened only by that reference's file or the
//!   `op` binary). The front end gets public keys and signatures only.

#![forbid(unsafe_code)]

mod backends;
mod confine;
mod error;
mod serve;
mod signing;
mod syscalls;
mod trustkeys;

use std::process::ExitCode;

use error::{KeyholderError, Result};
use ipc::{CHANNEL_FD, CREDENTIALS_FD};
use sandbox::hygiene;

fn main() -> ExitCode {
    let result = match std::env::args_os().nth(1) {
        None => credentials(),
        Some(a) if a == "--signing" => signing(),
        Some(_) => Err(KeyholderError::Usage),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(&e),
    }
}

fn credentials() -> Result<()> {
    // Not an empty environment: the keystores' own variables (the D-Bus
    // session address) come from nono.
    let front = hygiene::start_helper("keyholder", false, CHANNEL_FD, CREDENTIALS_FD)?;
    let Some(consumer) = hygiene::take_inherited(CREDENTIALS_FD) else {
        return Err(KeyholderError::NoConsumer);
    };
    serve::Unconfined::handshake(front, consumer)?
        .confine()?
        .serve()
}

fn signing() -> Result<()> {
    let front = hygiene::start_helper("keyholder", false, CHANNEL_FD, CHANNEL_FD)?;
    let reference = signing::Reference::from_args(std::env::args().skip(2))?;
    signing::Unconfined::new(front, reference)
        .confine()?
        .serve()
}

fn fatal(e: &KeyholderError) -> ExitCode {
    hygiene::fatal("nono-keyholder", e)
}
