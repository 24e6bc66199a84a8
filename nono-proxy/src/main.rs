//! `nono-proxy`: the agent's only way out in proxy mode.
//!
//! # Security
//! - Trusts: the front end, over the channel at fd 3 (`ipc::proxy`); the
//!   keyholder, for credential values on fd 4 (`ipc::credentials`).
//! - Holds: the listening socket the agent reaches (created inside the
//!   agent's network namespace and passed in), the real credentials in
//!   zeroizing memory, the session CA key (memory only, when interception
//!   is needed), the session and phantom tokens.
//! - Confines itself before any thread exists (`confine.rs`): no writes,
//!   reads only resolver configuration and libraries, TCP connect only to
//!   the ports it serves, no unix sockets, then a syscall allowlist.
//! - Every request: session token (forward proxy) or the route's phantom
//!   token (credential routes), compared in constant time; allowlist; its
//!   own DNS resolution with metadata/link-local always denied and
//!   loopback/private only when literally allowed; connects to the
//!   address it checked. Every decision is reported to the front end.
//! - Never: logs or reports a credential, writes a file, or outlives the
//!   front end (a closed channel ends the process).

#![forbid(unsafe_code)]

mod syscalls;
use ipc::hostrules::{addr, allowlist as hosts, glob};
mod body;
mod confine;
mod connect;
mod ctx;
mod dial;
mod error;
mod events;
mod forward;
mod intercept;
mod mitm;
mod pool;
mod portfwd;
mod relay;
mod reverse;
mod routes;
mod scrub;
mod serve;
mod splice;
mod state;
mod tls;
mod token;
mod upstream;

use std::process::ExitCode;

use ipc::{CHANNEL_FD, CREDENTIALS_FD};
use sandbox::hygiene;

fn main() -> ExitCode {
    let chan = match hygiene::start_helper("proxy", true, CHANNEL_FD, CREDENTIALS_FD) {
        Ok(chan) => chan,
        Err(e) => return fatal(&e.into()),
    };
    let unconfined = state::Unconfined::new(chan, hygiene::take_inherited(CREDENTIALS_FD));
    match unconfined
        .configure_and_confine()
        .and_then(state::Confined::serve)
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(&e),
    }
}

/// Last words, unless the front end was told already.
fn fatal(e: &error::ProxyError) -> ExitCode {
    hygiene::fatal("nono-proxy", e)
}
