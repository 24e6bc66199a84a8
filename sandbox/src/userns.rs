//! New namespaces for a process that may lack the capability for them:
//! a plain `unshare` where permitted (root, or already inside a user
//! namespace of its own), otherwise together with a user namespace that
//! maps only the caller's own uid and gid (files of other users then show
//! as `nobody`; `setgroups` is denied in it).

use std::io::Write;

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getegid, geteuid};

use crate::{Result, SandboxError};

/// Unshare `flags`, with a user namespace mapping only our own ids when
/// the plain call is not permitted (EPERM).
pub fn unshare_as_self(flags: CloneFlags) -> Result<()> {
    match unshare(flags) {
        Ok(()) => return Ok(()),
        Err(Errno::EPERM) => {}
        Err(e) => {
            return Err(SandboxError::Unshare {
                flags: format!("{flags:?}"),
                source: e.into(),
            })
        }
    }
    let (uid, gid) = (geteuid().as_raw(), getegid().as_raw());
    unshare(CloneFlags::CLONE_NEWUSER | flags).map_err(|e| SandboxError::UnshareWithUser {
        flags: format!("{flags:?}"),
        source: e.into(),
    })?;
    map_own_ids(uid, gid)
}

/// Map only our own uid and gid into the new user namespace.
fn map_own_ids(uid: u32, gid: u32) -> Result<()> {
    let write = |file: &'static str, content: String| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/{file}"))
            .and_then(|mut f| f.write_all(content.as_bytes()))
            .map_err(|source| SandboxError::IdMap { file, source })
    };
    // A non-dumpable process's /proc/self files belong to root: be
    // dumpable just for these writes (callers hold no secret yet).
    let was = nix::sys::prctl::get_dumpable().unwrap_or(false);
    let _ = nix::sys::prctl::set_dumpable(true);
    let written = write("setgroups", "deny".into())
        .and_then(|()| write("uid_map", format!("{uid} {uid} 1\n")))
        .and_then(|()| write("gid_map", format!("{gid} {gid} 1\n")));
    let _ = nix::sys::prctl::set_dumpable(was);
    written
}
