//! `nono-proxy`: is the agent's only egress: host allowlist and credential injection.
//!
//! # Security
//! Not implemented yet. Until it is, this binary refuses to serve and exits
//! with status 1, and `nono` does not start it; nothing depends on it.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("nono-proxy: not implemented yet; nono does not use it in this release");
    ExitCode::FAILURE
}
