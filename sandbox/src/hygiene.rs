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
    helper: &'static str,
    empty_env: bool,
    channel: RawFd,
    last: RawFd,
) -> Result<OwnedFd> {
    no_dumps()?;
    if empty_env && std::env::vars_os().next().is_some() {
        return Err(SandboxError::HelperEnvironment { helper });
    }
    close_from(last + 1);
    take_inherited(channel).ok_or(SandboxError::HelperChannel {
        helper,
        fd: channel,
    })
}

/// A helper's error enum, as [`fatal`] reports it.
pub trait HelperError: std::fmt::Display {
    /// Whether the front end was told already (the helper stays quiet).
    fn reported(&self) -> bool {
        false
    }
}

impl HelperError for SandboxError {}

/// A helper's last words on failure: `<binary>: error` on stderr (never a
/// panic on a closed stderr; nothing when the front end was told already),
/// and the failure status.
pub fn fatal(binary: &str, error: &dyn HelperError) -> std::process::ExitCode {
    if !error.reported() {
        let _ = io::Write::write_fmt(&mut io::stderr(), format_args!("{binary}: {error}\n"));
    }
    std::process::ExitCode::FAILURE
}
