//! Process hygiene for helpers, first thing in `main`: not dumpable (no
//! ptrace or /proc reads by same-user processes, no core files), no stray
//! descriptors, and taking the inherited channel descriptors.

use std::io;
use std::os::fd::{OwnedFd, RawFd};

use crate::{sys, Result, SandboxError};

/// Non-dumpable and `RLIMIT_CORE` 0.
pub fn no_dumps() -> Result<()> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| SandboxError::Syscall {
        call: "prctl(PR_SET_DUMPABLE)",
        source: io::Error::from(e),
    })?;
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0).map_err(|e| {
        SandboxError::Syscall {
            call: "setrlimit(RLIMIT_CORE)",
            source: io::Error::from(e),
        }
    })
}

/// Close every descriptor from `first` up. Call before anything opens files.
pub fn close_from(first: RawFd) {
    sys::close_range(first);
}

/// Own the inherited descriptor `fd`, if it is open.
pub fn take_inherited(fd: RawFd) -> Option<OwnedFd> {
    sys::take_inherited(fd)
}

/// The start of every helper's `main`, in one place: not dumpable, no core
/// files, an empty environment where `empty_env` (only nono starts a
/// helper, with nothing of the user's), no descriptor above `last`, and
/// the channel taken from `channel` (the wire protocol's `CHANNEL_FD`).
/// `Err` names the helper's misuse.
pub fn start_helper(
    name: &str,
    empty_env: bool,
    channel: RawFd,
    last: RawFd,
) -> std::result::Result<OwnedFd, String> {
    no_dumps().map_err(|e| e.to_string())?;
    if empty_env && std::env::vars_os().next().is_some() {
        return Err(format!(
            "started with a non-empty environment; only nono starts the {name}"
        ));
    }
    close_from(last + 1);
    take_inherited(channel)
        .ok_or_else(|| format!("no channel at fd {channel}; only nono starts the {name}"))
}

/// A helper's last words on failure: `<binary>: message` on stderr (never
/// a panic on a closed stderr; nothing for an empty message, which means
/// the front end was told already), and the failure status.
pub fn fatal(binary: &str, message: &str) -> std::process::ExitCode {
    if !message.is_empty() {
        let _ = io::Write::write_fmt(&mut io::stderr(), format_args!("{binary}: {message}\n"));
    }
    std::process::ExitCode::FAILURE
}
